"""The package layout: imports only point down the layers of ``photo3d.LAYERS``.

Every module of photo3d is parsed with ``ast``; every ``import`` / ``from ... import``
statement counts, lazy ones inside functions included, relative ones resolved. From the
module import graph:

(a) photo3d's top-level units (core, depth, inpaint, render, cli, ...) form no cycle: a unit
    imports itself and lower layers only; units in one layer do not import each other;
(b) argparse and photo3d.cli are imported only inside photo3d/cli;
(c) photo3d.api does not import photo3d.cli;
(d) depth does not import inpaint.

Each failure names the file, the line, the import statement and the rule it breaks. The
package facade ``photo3d/__init__.py`` (re-exports, and a lazy ``Photo3D``) is above every
layer and exempt from (a). Finally benchmarks/ and tests/ never edit ``sys.path``.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import photo3d

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "photo3d"
ROOT = "photo3d"


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "photo3d.depth.resolve"
    target: str  # imported module (resolved), e.g. "photo3d.inpaint.batching" or "argparse"
    path: Path
    line: int
    text: str  # the statement as written

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}: `{self.text}`"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve_relative(source: str, is_package: bool, level: int, module: str | None) -> str:
    base = source.split(".") if is_package else source.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import in ``path``, lazy ones included, with relative imports resolved. For
    ``from X import y`` the target is ``X.y`` when that is a module of the package, else ``X``."""
    source = path.read_text()
    tree = ast.parse(source, str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        text = ast.get_source_segment(source, node) if isinstance(node, (ast.Import, ast.ImportFrom)) else None
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(name, alias.name, path, node.lineno, text))
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve_relative(name, is_package, node.level, node.module) if node.level
                    else node.module or "")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(name, sub if sub in modules else base, path, node.lineno, " ".join(text.split())))
    return found


def unit_of(module: str) -> str | None:
    """The top-level unit of a photo3d module ("photo3d.depth.resolve" -> "depth"); None for
    the facade ``photo3d`` itself and for modules outside the package."""
    parts = module.split(".")
    if parts[0] != ROOT or len(parts) < 2:
        return None
    return parts[1]


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    modules = package_modules()
    return [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]


def layer_index() -> dict[str, int]:
    index = {}
    for i, layer in enumerate(photo3d.LAYERS):
        for unit in layer:
            assert unit not in index, f"photo3d.LAYERS names {unit!r} twice"
            index[unit] = i
    return index


def fail_with(problems: list[str], title: str) -> None:
    if problems:
        message = f"{title} ({len(problems)}):\n  " + "\n  ".join(problems)
        print(message)
        pytest.fail(message, pytrace=False)


# ---------------------------------------------------------------- the walker itself
def test_the_walker_resolves_relative_and_lazy_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "photo3d" / "depth"
    pkg.mkdir(parents=True)
    (tmp_path / "photo3d" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .resolve import x\nfrom . import saved\n")
    (pkg / "resolve.py").write_text("import argparse\n\ndef f():\n    from ..inpaint.batching import run\n"
                                    "    from .. import weights\n")
    (pkg / "saved.py").write_text("")
    (tmp_path / "photo3d" / "weights.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    modules = {module_name(p): p for p in sorted((tmp_path / "photo3d").rglob("*.py"))}
    targets = {(imp.source, imp.target) for n, p in modules.items() for imp in imports_of(n, p, modules)}
    assert ("photo3d.depth", "photo3d.depth.resolve") in targets
    assert ("photo3d.depth", "photo3d.depth.saved") in targets  # `from . import saved`: the module
    assert ("photo3d.depth.resolve", "argparse") in targets
    assert ("photo3d.depth.resolve", "photo3d.inpaint.batching") in targets  # lazy, relative
    assert ("photo3d.depth.resolve", "photo3d.weights") in targets  # `from .. import weights`: the module


def test_every_unit_of_the_package_is_in_a_layer():
    index = layer_index()
    units = {unit_of(name) for name in package_modules()} - {None}
    missing = sorted(units - set(index))
    assert not missing, f"top-level units missing from photo3d.LAYERS: {', '.join(missing)}"
    doc = photo3d.__doc__ or ""
    undocumented = [u for u in index if u not in doc]
    assert not undocumented, f"photo3d.LAYERS units not described in the package docstring: {undocumented}"


# ---------------------------------------------------------------- the rules
def test_a_units_import_only_themselves_and_lower_layers(graph):
    index = layer_index()
    problems = []
    for imp in graph:
        src, dst = unit_of(imp.source), unit_of(imp.target)
        if src is None or dst is None or src == dst:
            continue
        if src not in index or dst not in index:
            problems.append(f"{imp.where()}: {src} -> {dst}: unit not in photo3d.LAYERS")
        elif index[dst] == index[src]:
            problems.append(f"{imp.where()}: {src} imports {dst}, which is in the same layer "
                            f"{photo3d.LAYERS[index[src]]}: units of one layer must not import each other")
        elif index[dst] > index[src]:
            problems.append(f"{imp.where()}: {src} (layer {index[src]}) imports {dst} (layer {index[dst]}): "
                            "an upward import")
    fail_with(problems, "rule (a): imports that do not point down the layers")


def find_cycles(pairs: list[tuple[str, str, Import]]) -> list[str]:
    """Cycles of the directed graph given as (from, to, the import that makes the edge)."""
    edges: dict[str, set[str]] = {}
    first: dict[tuple[str, str], Import] = {}
    for src, dst, imp in pairs:
        edges.setdefault(src, set()).add(dst)
        first.setdefault((src, dst), imp)
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []
    cycles = []

    def visit(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                cycle = stack[stack.index(v):] + [v]
                cycles.append(" -> ".join(cycle) + "  via  " + "; ".join(
                    first[(a, b)].where() for a, b in zip(cycle, cycle[1:])))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def test_a_no_cycle_between_units(graph):
    pairs = [(unit_of(imp.source), unit_of(imp.target), imp) for imp in graph]
    cycles = find_cycles([(a, b, imp) for a, b, imp in pairs if a and b and a != b])
    fail_with(cycles, "rule (a): import cycles between photo3d's units")


def test_no_cycle_between_modules(graph):
    """Inside a unit too: no module imports one that (directly or not) imports it back."""
    modules = package_modules()
    cycles = find_cycles([(imp.source, imp.target, imp) for imp in graph
                          if imp.target in modules and imp.target != imp.source])
    fail_with(cycles, "import cycles between photo3d's modules (lazy imports included)")


def test_b_argparse_and_cli_only_inside_cli(graph):
    problems = [f"{imp.where()}: imports {imp.target} outside photo3d/cli"
                for imp in graph
                if unit_of(imp.source) != "cli" and imp.source != ROOT
                and (imp.target.split(".")[0] == "argparse" or unit_of(imp.target) == "cli")]
    # the facade may not import the CLI either (``import photo3d`` must stay light)
    problems += [f"{imp.where()}: the package facade imports {imp.target}"
                 for imp in graph if imp.source == ROOT
                 and (imp.target.split(".")[0] == "argparse" or unit_of(imp.target) == "cli")]
    fail_with(problems, "rule (b): argparse / photo3d.cli imported outside photo3d/cli")


def test_c_api_does_not_import_the_cli(graph):
    problems = [f"{imp.where()}: photo3d.api imports {imp.target}"
                for imp in graph if unit_of(imp.source) == "api" and unit_of(imp.target) == "cli"]
    fail_with(problems, "rule (c): the API imports the CLI")


def test_d_depth_does_not_import_inpaint(graph):
    problems = [f"{imp.where()}: {imp.source} imports {imp.target}"
                for imp in graph if unit_of(imp.source) == "depth" and unit_of(imp.target) == "inpaint"]
    fail_with(problems, "rule (d): depth imports inpaint")


def test_walker_sees_the_lazy_imports(graph):
    """A guard on the walker: the package has lazy imports inside functions, and they count."""
    lazy = {(imp.source, imp.target) for imp in graph}
    assert ("photo3d.inpaint", "photo3d.inpaint.learned") in lazy  # inside _make_learned
    assert ("photo3d.cli", "photo3d.cli.single") in lazy  # inside main


# ---------------------------------------------------------------- no sys.path edits
def sys_path_uses(path: Path) -> list[str]:
    """Lines of ``path`` that touch ``sys.path`` (``sys.path.insert``, ``sys.path = ...``,
    ``from sys import path``), found in the syntax tree, so strings and comments do not count."""
    tree = ast.parse(path.read_text(), str(path))
    hits = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                and node.value.id == "sys"):
            hits.append(f"{path.relative_to(REPO)}:{node.lineno}: sys.path")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "path" for a in node.names):
            hits.append(f"{path.relative_to(REPO)}:{node.lineno}: from sys import path")
    return hits


@pytest.mark.parametrize("folder", ["benchmarks", "tests"])
def test_no_sys_path_edits(folder):
    files = sorted((REPO / folder).rglob("*.py"))
    assert files
    problems = [hit for f in files for hit in sys_path_uses(f)]
    fail_with(problems, f"{folder}/ edits sys.path (import as packages instead: python -m benchmarks.X)")


def test_the_sys_path_check_finds_edits(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.path.insert(0, 'x')\ntext = 'sys.path is fine in a string'\n")
    assert sys_path_uses(bad) == ["bad.py:2: sys.path"]
