"""A photo's ``manifest.json``: written last, after all its outputs, it says they are complete.

It records a hash of the settings that shape the outputs (not where they go, nor how the
batch runs), the input files (path, size, modification time) and every output with its
size. ``photo3d batch --skip-existing`` skips a photo whose manifest matches all of these,
so an interrupted batch resumes where it stopped and a changed config redoes everything.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .. import __version__
from ..config import Config
from ..io import atomic_write

MANIFEST = "manifest.json"
# Settings that do not change what a photo's outputs are.
_NOT_HASHED = {"output": ("out_dir", "name", "quiet"), "batch": None}


def config_hash(config: Config) -> str:
    """sha256 of the output-shaping settings, as canonical JSON."""
    data = config.to_dict()
    for section, keys in _NOT_HASHED.items():
        if keys is None:
            data.pop(section, None)
        else:
            for key in keys:
                data[section].pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _file_id(path: Path | None) -> dict | None:
    if path is None:
        return None
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _output_id(path: Path) -> dict:
    """A file's size, or an image-sequence folder's frame count."""
    if path.is_dir():
        return {"name": path.name, "frames": sum(1 for p in path.iterdir() if not p.name.startswith("."))}
    return {"name": path.name, "size": path.stat().st_size}


def write_manifest(out_dir: Path, config: Config, image: Path, depth: Path | None, files: list[str]) -> Path:
    """Record the photo's finished outputs (call after everything else is written)."""
    outputs = [_output_id(Path(f)) for f in files]
    data = {"photo3d": __version__, "config_hash": config_hash(config),
            "inputs": {"image": _file_id(image), "depth": _file_id(depth)}, "outputs": outputs}
    target = Path(out_dir) / MANIFEST
    with atomic_write(target) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=1))
    return target


def is_complete(out_dir: Path, config: Config, image: Path, depth: Path | None) -> bool:
    """Whether ``out_dir`` holds this photo's complete outputs for ``config`` and these inputs."""
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text())
        if data["config_hash"] != config_hash(config):
            return False
        if data["inputs"] != {"image": _file_id(image), "depth": _file_id(depth)}:
            return False
        return all(_output_id(Path(out_dir) / o["name"]) == o for o in data["outputs"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def remove_partials(out_dir: Path) -> int:
    """Delete the temporary files and folders an interrupted run left (``.*.partial*``, ``.*.old``)."""
    removed = 0
    if not Path(out_dir).is_dir():
        return 0
    for p in Path(out_dir).iterdir():
        if p.name.startswith(".") and (".partial" in p.name or p.name.endswith(".old")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_stale_run(out_root: Path, name: str) -> None:
    """What a run of ``name`` killed for good left in the output folder: its temporary files in
    ``<out_root>/<name>/``, its private folder ``.<name>.*.partial`` and its lock ``.<name>.lock``
    (call only when no run of that name can be in progress)."""
    import glob as _glob

    remove_partials(Path(out_root) / name)
    for stale in Path(out_root).glob(f".{_glob.escape(name)}.*.partial"):
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    (Path(out_root) / f".{name}.lock").unlink(missing_ok=True)


def invalidate(out_dir: Path) -> None:
    """Drop a manifest before its photo is redone (its outputs are about to change)."""
    try:
        os.unlink(Path(out_dir) / MANIFEST)
    except FileNotFoundError:
        pass
