"""Fuzzing the command line with the classes of bad input of issue 11: files, image and
depth content, option values, config values, signals at each stage, concurrent runs.

Every case runs ``photo3d`` (in-process, or as processes for the concurrent runs) in a
fresh folder and is checked for the promises of the CLI:

* no traceback (no exception escapes ``photo3d.cli.main``, no "Traceback" on stderr);
* exit code 0 or 2 (128 + the signal for the signal cases); an error is one line;
* nothing written outside ``--out``;
* no temporary file left (``.partial``, ``.part``, ``.lock``, private folders);
* no partial output set: a failed run leaves ``--out`` as it was; a successful one holds
  config.yml, the mesh and every video asked for, all from one run;
* no non-finite vertex in any mesh written (PLY, GLB).

    python -m benchmarks.fuzz_inputs            # every case (a few minutes on 2 cores)
    python -m benchmarks.fuzz_inputs --fast     # the subset the test suite runs

``tests/test_fuzz.py`` runs :func:`fast_cases` and requires 0 defects.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BASE = ["--inpaint", "fill", "--quiet", "--longer-side", "48", "--frames", "2", "--no-download"]
TEMP_MARKERS = (".partial", ".part", ".lock")


@dataclass
class Case:
    """One fuzz case.

    name: unique, for reports; klass: the class of bad input; make: writes the input
    files into a folder and returns the CLI arguments (``{out}`` is replaced by the output
    folder); signal_at: (stage function owner, attribute, signal) to interrupt a stage;
    concurrent: run twice at once, as processes.
    """

    name: str
    klass: str
    make: Callable[[Path], list[str]]
    signal_at: tuple[str, str, int] | None = None
    concurrent: bool = False


@dataclass
class Outcome:
    case: Case
    code: int | None
    stderr: str
    seconds: float
    defects: list[str] = field(default_factory=list)


# -- inputs ------------------------------------------------------------------------------

def _image(h: int = 36, w: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 255 // max(w, 1), yy * 255 // max(h, 1), np.full_like(xx, 90)], 2)
    return np.clip(img + rng.integers(-15, 16, img.shape), 0, 255).astype(np.uint8)


def _disparity(h: int = 36, w: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    d = (1.0 + 0.5 * xx / max(w, 1)).astype(np.float32)
    d[h // 4: 3 * h // 4 + 1, w // 3: 2 * w // 3 + 1] = 3.0
    return d


def _write_png(path: Path, image: np.ndarray) -> Path:
    import cv2

    cv2.imwrite(str(path), np.ascontiguousarray(image[..., ::-1]) if image.ndim == 3 else image)
    return path


def _pair(folder: Path, h: int = 36, w: int = 48, depth: np.ndarray | None = None, suffix: str = ".npy") -> list[str]:
    """A photo and its depth in ``folder``; the base arguments."""
    image = _write_png(folder / "p.png", _image(h, w))
    d = _disparity(h, w) if depth is None else depth
    dpath = folder / f"p_depth{suffix}"
    if suffix == ".npy":
        np.save(dpath, d)
    else:
        dpath.write_bytes(d if isinstance(d, bytes) else bytes(d))
    return ["--image", str(image), "--depth", str(dpath)]


def _with(depth=None, h=36, w=48, extra=(), suffix=".npy") -> Callable[[Path], list[str]]:
    return lambda folder: [*_pair(folder, h, w, depth, suffix), *BASE, "--paths", "none", *extra]


def _image_file(content: bytes | None, name: str = "bad.png", extra=()) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        path = folder / name
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
        np.save(folder / "d.npy", _disparity())
        return ["--image", str(path), "--depth", str(folder / "d.npy"), *BASE, "--paths", "none", *extra]

    return make


def _config(text: str | bytes, extra=()) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        cfg = folder / "c.yml"
        cfg.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [*_pair(folder), *BASE, "--paths", "none", "--config", str(cfg), *extra]

    return make


def _symlink_loop(folder: Path) -> list[str]:
    (folder / "a.png").symlink_to(folder / "b.png")
    (folder / "b.png").symlink_to(folder / "a.png")
    return ["--image", str(folder / "a.png"), *BASE]


def _pfm(scale: bytes, values: np.ndarray) -> bytes:
    h, w = values.shape
    return b"Pf\n%d %d\n" % (w, h) + scale + b"\n" + values.astype("<f4").tobytes()


def _bomb() -> str:
    lines, prev = ["_run:", "  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"], "a"
    for name in "bcdefghi":
        lines.append(f"  {name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        prev = name
    return "\n".join(lines + ["longer_side: *i"]) + "\n"


# -- the cases ---------------------------------------------------------------------------

def file_cases() -> list[Case]:
    png = (REPO / "inputs" / "sample.png").read_bytes()
    return [Case(n, "files", m) for n, m in [
        ("missing image", lambda f: ["--image", str(f / "none.png"), *BASE]),
        ("empty image", _image_file(b"")),
        ("truncated png", _image_file(png[:200])),
        ("random bytes png", _image_file(np.random.default_rng(1).bytes(4000))),
        ("folder as image", _image_file(None)),
        ("text as jpg", _image_file(b"hello", "x.jpg")),
        ("symlink loop", _symlink_loop),
        ("missing depth", lambda f: [*_pair(f)[:2], "--depth", str(f / "none.npy"), *BASE]),
        ("depth text file", _with(b"not a depth map", suffix=".png")),
        ("depth 1-D", _with(np.ones(10, np.float32))),
        ("depth empty", _with(np.zeros((0, 0), np.float32))),
        ("depth object npy", lambda f: [*_pair(f)[:2], "--depth", str(_pickled(f)), *BASE]),
        ("pfm overflowing scale", _with(_pfm(b"-1e38", np.full((36, 48), 3e38, np.float32)), suffix=".pfm")),
        ("pfm bad header", _with(b"P5\n1 1\n255\n\0", suffix=".pfm")),
        ("pfm truncated", _with(_pfm(b"-1.0", _disparity())[:100], suffix=".pfm")),
    ]]


def _pickled(folder: Path) -> Path:
    path = folder / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def content_cases() -> list[Case]:
    big = np.full((36, 48), 3.0e38, np.float32)
    big[:, 24:] = -3.0e38
    tiny = np.full((36, 48), 1e-38, np.float32)
    tiny[:, 24:] = 1e-45
    nan = np.full((36, 48), np.nan, np.float32)
    holes = _disparity()
    holes[::3, ::5] = np.nan
    cases = [
        ("depth near float32 max", _with(big)),
        ("depth near float32 min as depth", _with(tiny, extra=["--depth-kind", "depth"])),
        ("all-NaN depth", _with(nan)),
        ("inf depth", _with(np.full((36, 48), np.inf, np.float32))),
        ("constant depth", _with(np.ones((36, 48), np.float32))),
        ("NaN holes", _with(holes)),
        ("negative depth as depth", _with(-_disparity(), extra=["--depth-kind", "depth"])),
        ("int depth", _with(_disparity().astype(np.int64) * 1000)),
        ("bool depth", _with(_disparity() > 2)),
        ("huge dynamic range", _with(np.where(_disparity() > 2, 1e30, 1e-30).astype(np.float32))),
        ("stretched depth", _with(_disparity(10, 90))),
        ("1x1 photo", _with(np.ones((2, 2), np.float32), h=1, w=1)),
        ("2x2 photo", _with(np.arange(4, dtype=np.float32).reshape(2, 2), h=2, w=2)),
        ("3x200 photo with videos", lambda f: [*_pair(f, 200, 3, _disparity(200, 3)), *BASE, "--paths", "circle"]),
        ("200x3 photo with videos", lambda f: [*_pair(f, 3, 200, _disparity(3, 200)), *BASE, "--paths", "circle"]),
        ("odd photo with videos and glb", lambda f: [*_pair(f, 37, 51), *BASE, "--paths", "swing", "--glb"]),
    ]
    return [Case(n, "content", m) for n, m in cases]


def option_cases() -> list[Case]:
    bad = [
        ["--longer-side", "0"], ["--longer-side", "-5"], ["--longer-side", "100000"], ["--longer-side", "x"],
        ["--frames", "-1"], ["--frames", "1000000000"], ["--fps", "0"], ["--fps", "nan"], ["--fps", "inf"],
        ["--fps", "1e-9"], ["--fps", "1e9"], ["--supersample", "0"], ["--supersample", "nan"],
        ["--supersample", "9"], ["--name", ".."], ["--name", "../../evil"], ["--name", "/tmp/abs"],
        ["--name", ""], ["--name", "x" * 300], ["--name", "a\nb"], ["--name", ".hidden"], ["--paths", ",,"],
        ["--paths", "circle,../x"], ["--paths", "bogus"], ["--device", "bogus"], ["--depth-kind", "bogus"],
        ["--depth-model-size", "0"], ["--depth-model-size", "1000000"], ["--checkpoints", "/nonexistent"],
        ["--depth-model", "vitx"], ["--depth-model", "missing.pth"], ["--unknown-flag"],
    ]
    return [Case(f"option {' '.join(a)[:40]}", "options", _with(extra=a)) for a in bad]


def config_cases() -> list[Case]:
    texts = [
        ("binary", bytes(range(256)) * 8), ("alias bomb", _bomb()), ("top-level list", "- 1\n- 2\n"),
        ("unknown keys", "longer_sid: 3\nframes: 2\n"), ("wrong types", "prepare:\n  longer_side: [1, 2]\n"),
        ("huge thickness", "regions:\n  extrapolation_thickness: 100000\n"),
        ("huge context", "regions:\n  context_thickness: 10000000000\n"),
        ("huge filter", "prepare:\n  filter_size: [100001, 7, 5, 5, 5]\n"),
        ("negative threshold", "edges:\n  depth_threshold: -1\n"), ("nan threshold", "depth_threshold: .nan\n"),
        ("long string value", "longer_side: " + "x" * 5000 + "\n"),
        ("deep nesting", "a: " + "[" * 5000 + "]" * 5000 + "\n"),
        ("postfix with path", "traj_types: [circle]\nx_shift_range: [0.01]\ny_shift_range: [0.0]\n"
                              "z_shift_range: [0.0]\nvideo_postfix: ['../../escape']\n"),
        ("bad crop", "video:\n  crop_border: [0.6, 0, 0, 0]\n"),
        ("huge model size", "depth:\n  model_size: 100000000\n"),
        ("section not a mapping", "prepare: 3\n"), ("python tag", "!!python/object:os.system ['true']\n"),
        ("not yaml", "a: b: c: [\n"),
    ]
    return [Case(f"config {n}", "config", _config(t)) for n, t in texts]


FIELD_VALUES = (-1, 0, 10**12, float("nan"), float("inf"), "x", [1, 2], None, True, {"a": 1})
_NOT_FUZZED = {"output.out_dir", "output.name"}  # the harness sets these itself


def config_field_cases() -> list[Case]:
    """Every field of every config section set to each of :data:`FIELD_VALUES`."""
    import dataclasses

    import yaml

    from photo3d.config import SECTIONS, Config

    cases = []
    for section in SECTIONS:
        for f in dataclasses.fields(type(getattr(Config(), section))):
            if f"{section}.{f.name}" in _NOT_FUZZED:
                continue
            for value in FIELD_VALUES:
                text = yaml.safe_dump({section: {f.name: value}})
                cases.append(Case(f"field {section}.{f.name}={value!r}"[:60], "config fields", _config(text)))
    return cases


STAGE_TARGETS = {  # stage -> (module, attribute) that is interrupted
    "read": ("photo3d.io", "read_image"),
    "prepare": ("photo3d.pipeline", "prepare"),
    "inpaint": ("photo3d.pipeline", "add_layer"),
    "mesh": ("photo3d.pipeline", "build_mesh"),
    "config": ("photo3d.config.Config", "save"),
    "ply": ("photo3d.io", "write_ply"),
    "video": ("photo3d.video.VideoWriter", "write"),
}


def signal_cases(signals=(signal.SIGTERM, signal.SIGHUP, signal.SIGINT)) -> list[Case]:
    make = lambda f: [*_pair(f), *BASE, "--paths", "circle", "--glb"]  # noqa: E731
    return [Case(f"{signal.Signals(s).name} at {stage}", "signals", make, signal_at=(*STAGE_TARGETS[stage], s))
            for stage in STAGE_TARGETS for s in signals]


def concurrent_cases() -> list[Case]:
    return [Case("two runs into one name", "concurrent", lambda f: [*_pair(f, 72, 96), *BASE, "--paths", "circle"],
                 concurrent=True)]


def all_cases() -> list[Case]:
    return (file_cases() + content_cases() + option_cases() + config_cases() + config_field_cases()
            + signal_cases() + concurrent_cases())


def fast_cases() -> list[Case]:
    """The subset run by the test suite (< 60 s): every class, every file/content/config
    case, a third of the option cases, 16 config-field cases (a fixed sample), SIGTERM at
    each stage, one concurrent pair."""
    fields = config_field_cases()
    sample = [fields[i] for i in np.random.default_rng(11).choice(len(fields), 16, replace=False)]
    return (file_cases() + content_cases() + option_cases()[::3] + config_cases() + sample
            + signal_cases((signal.SIGTERM,)) + concurrent_cases())


# -- running and checking ----------------------------------------------------------------

def _snapshot(folder: Path, skip: Path) -> dict[str, float]:
    """Every path under ``folder`` except under ``skip`` -> mtime."""
    found = {}
    for root, dirs, names in os.walk(folder):
        if Path(root) == skip or skip in Path(root).parents:
            continue
        for n in dirs + names:
            p = Path(root, n)
            if p != skip:
                with contextlib.suppress(OSError):
                    found[str(p)] = p.lstat().st_mtime
    return found


def _interrupting(owner_path: str, attr: str, signum: int):
    """Patch ``owner.attr`` so that calling it delivers ``signum`` to this process."""
    import importlib

    try:
        owner = importlib.import_module(owner_path)
    except ImportError:  # a class inside a module
        module_name, _, cls = owner_path.rpartition(".")
        owner = getattr(importlib.import_module(module_name), cls)
    original = getattr(owner, attr)

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(2)  # the handler raises during the sleep
        return original(*args, **kwargs)

    return owner, attr, original, interrupted


def _run_inprocess(argv: list[str], signal_at) -> tuple[int | None, str, str | None]:
    """(exit code, stderr, traceback text or None) of ``photo3d.cli.main(argv)``."""
    import traceback

    from photo3d.cli import main

    patch = _interrupting(*signal_at) if signal_at else None
    if patch:
        setattr(patch[0], patch[1], patch[3])
    err = io.StringIO()
    tb = None
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 (anything escaping main is the defect being looked for)
        code, tb = None, traceback.format_exc()
    finally:
        if patch:
            setattr(patch[0], patch[1], patch[2])
    return code, err.getvalue(), tb


def _run_concurrent(argv: list[str]) -> list[tuple[int, str]]:
    env = dict(os.environ, PYTHONPATH=str(REPO), EGL_PLATFORM="surfaceless")
    procs = [subprocess.Popen([sys.executable, str(REPO / "run.py"), *argv, "--frames", str(frames)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for frames in (3, 5)]
    return [(p.wait(timeout=300), p.stderr.read()) for p in procs]


def _check_outputs(out: Path, name: str, argv: list[str], code: int | None, defects: list[str]) -> None:
    """The output-set promises (see the module docs)."""
    from photo3d.io import read_glb, read_ply

    if not out.exists():
        return
    entries = [Path(root, n) for root, dirs, names in os.walk(out) for n in dirs + names]
    temps = [str(p.relative_to(out)) for p in entries if any(m in p.name for m in TEMP_MARKERS)
             or (p.name.startswith(".") and p.parent == out)]
    if temps:
        defects.append(f"temporary files left: {temps[:3]}")
    if code != 0:
        if entries:
            defects.append(f"failed run left outputs: {[str(p.relative_to(out)) for p in entries][:3]}")
        return
    folder = out / name
    files = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    expected = {"config.yml"} | ({f"{name}.ply"} if "--no-ply" not in argv else set())
    if "--glb" in argv:
        expected.add(f"{name}.glb")
    paths = argv[argv.index("--paths") + 1] if "--paths" in argv else "circle,swing,zoom-in,dolly-zoom-in"
    if paths != "none":
        expected |= {f"{name}_{p.strip()}.mp4" for p in paths.split(",") if p.strip()}
    if not expected <= files:
        defects.append(f"incomplete output set: missing {sorted(expected - files)}")
    for f in files:
        try:
            if f.endswith(".ply") and not np.isfinite(read_ply(folder / f).vertices).all():
                defects.append(f"non-finite vertex in {f}")
            if f.endswith(".glb") and not np.isfinite(read_glb(folder / f)[0]).all():
                defects.append(f"non-finite vertex in {f}")
        except Exception as exc:  # noqa: BLE001
            defects.append(f"unreadable {f}: {exc}")


def _one_run(ply: Path, config_yml: Path, videos: list[Path]) -> bool:
    """Whether a mesh, a config and videos come from one run (frames in config = in videos)."""
    import yaml

    frames = yaml.safe_load(config_yml.read_text())["video"]["num_frames"]
    import imageio_ffmpeg

    for v in videos:
        n = sum(1 for _ in list(imageio_ffmpeg.read_frames(str(v)))[1:])
        if n != frames:
            return False
    return ply.is_file()


def run_case(case: Case, folder: Path) -> Outcome:
    """Run ``case`` in the empty ``folder`` and check it (:class:`Outcome`.defects)."""
    inputs, out = folder / "in", folder / "out"
    inputs.mkdir()
    argv = [a.replace("{out}", str(out)) for a in case.make(inputs)] + ["--out", str(out)]
    before = _snapshot(folder, out)
    start = time.perf_counter()
    defects: list[str] = []
    if case.concurrent:
        results = _run_concurrent(argv)
        code = 0 if all(c == 0 for c, _ in results) else 2
        err = "".join(e for _, e in results)
        for c, e in results:
            if c not in (0, 2) or (c == 2 and "another photo3d run" not in e) or "Traceback" in e:
                defects.append(f"concurrent run: exit {c}: {e.strip()[-200:]}")
        folder_out = out / "p"
        if folder_out.is_dir() and not _one_run(folder_out / "p.ply", folder_out / "config.yml",
                                                sorted(folder_out.glob("*.mp4"))):
            defects.append("concurrent runs mixed their files")
        _check_outputs(out, "p", argv, 0 if folder_out.is_dir() else 2, defects)
    else:
        code, err, tb = _run_inprocess(argv, case.signal_at)
        if tb is not None or "Traceback" in err:
            defects.append(f"traceback: {(tb or err).strip().splitlines()[-1][:200]}")
        allowed = {0, 2} if case.signal_at is None else {128 + case.signal_at[2]}
        if code not in allowed:
            defects.append(f"exit code {code} (expected {sorted(allowed)}): {err.strip()[-200:]}")
        usage = err.startswith("usage:")  # argparse: the usage, then one error line
        if code not in (0, None) and len([ln for ln in err.splitlines() if "error" in ln]) > 1:
            defects.append(f"more than one error line: {err.strip()[:200]}")
        if code not in (0, None) and len(err.splitlines()[-1] if err.strip() else "") > 400 and not usage:
            defects.append(f"error line of {len(err)} characters")
        name = argv[argv.index("--name") + 1] if "--name" in argv else "p"
        _check_outputs(out, name, argv, code, defects)
    after = _snapshot(folder, out)
    outside = sorted(set(after) - set(before))
    if outside:
        defects.append(f"written outside --out: {outside[:3]}")
    return Outcome(case, code, err, time.perf_counter() - start, defects)


def run_cases(cases: list[Case]) -> list[Outcome]:
    """Each case in its own temporary folder (under a parent that catches escapes)."""
    from photo3d.cli import setup_logging

    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    os.environ["PHOTO3D_OFFLINE"] = "1"
    setup_logging()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="photo3d-fuzz-") as top:
        for i, case in enumerate(cases):
            folder = Path(top) / f"case{i:03d}" / "work"
            folder.mkdir(parents=True)
            outcome = run_case(case, folder)
            escaped = [p for p in folder.parent.iterdir() if p != folder]
            escaped += [p for p in Path(top).iterdir() if not p.name.startswith("case")]
            if escaped:
                outcome.defects.append(f"written outside the case folder: {[str(p) for p in escaped[:3]]}")
                for p in escaped:
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
            outcomes.append(outcome)
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    """Counts per class, then each defect."""
    lines = []
    classes = sorted({o.case.klass for o in outcomes})
    for k in classes:
        mine = [o for o in outcomes if o.case.klass == k]
        lines.append(f"{k:12s} {len(mine):4d} cases  {sum(bool(o.defects) for o in mine):3d} with defects  "
                     f"{sum(o.seconds for o in mine):6.1f} s")
    bad = [o for o in outcomes if o.defects]
    lines.append(f"{'total':12s} {len(outcomes):4d} cases  {len(bad):3d} with defects")
    for o in bad:
        lines.append(f"DEFECT {o.case.name}: exit {o.code}: {'; '.join(o.defects)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the subset the test suite runs")
    args = parser.parse_args(argv)
    outcomes = run_cases(fast_cases() if args.fast else all_cases())
    print(report(outcomes))
    return 1 if any(o.defects for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
