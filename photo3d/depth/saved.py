"""Saving the depth a run used, and reading it back: ``<stem>.npy`` (exact) and a 16-bit
``<stem>.png`` whose text chunks record the value mapping and what the values are.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import DEPTH_KINDS
from ..errors import Photo3DError

# PNG text keys written by save_depth: value = stored / scale + offset.
PNG_KEY_SCALE = "photo3d:scale"
PNG_KEY_OFFSET = "photo3d:offset"
PNG_KEY_KIND = "photo3d:kind"
PNG_MAX = 65535


def save_depth(path_stem: str | Path, values: np.ndarray, kind: str) -> tuple[Path, Path]:
    """Write ``<stem>.npy`` (float32, exact) and ``<stem>.png`` (16-bit, quantised).

    The PNG stores ``round((values - offset) * scale)`` with ``offset = min(0, min(values))``
    and ``scale = 65535 / (max - offset)``, so for non-negative maps the stored integers are
    proportional to the values (a reader that ignores the metadata still gets the right
    ratios). ``scale``, ``offset`` and ``kind`` are recorded in PNG text chunks
    (``photo3d:scale``, ``photo3d:offset``, ``photo3d:kind``); :func:`read_saved_depth_png`
    undoes the mapping. Passing the ``.npy`` back as a depth file reproduces the values
    exactly; the PNG reproduces them to within ``0.5 / scale``.

    Args:
        path_stem: output path without suffix.
        values: (H, W) finite float depth or disparity.
        kind: "disparity" or "depth".
    Returns:
        (png path, npy path).
    """
    from PIL import Image, PngImagePlugin

    from ..io import atomic_write

    if kind not in DEPTH_KINDS:
        raise Photo3DError(f"depth kind must be one of {DEPTH_KINDS}, got {kind!r}")
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.size == 0:
        raise Photo3DError(f"{path_stem}: depth to save must be a non-empty 2-D map, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise Photo3DError(f"{path_stem}: depth to save has NaN or infinite values")
    stem = Path(path_stem)
    npy_path, png_path = stem.with_name(stem.name + ".npy"), stem.with_name(stem.name + ".png")

    offset = min(0.0, float(values.min()))
    span = float(values.max()) - offset
    scale = PNG_MAX / span if span > 0 else 1.0
    stored = np.clip(np.rint((values.astype(np.float64) - offset) * scale), 0, PNG_MAX).astype(np.uint16)
    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_KEY_SCALE, repr(scale))
    info.add_text(PNG_KEY_OFFSET, repr(offset))
    info.add_text(PNG_KEY_KIND, kind)
    with atomic_write(png_path) as tmp:
        Image.fromarray(stored).save(tmp, format="PNG", pnginfo=info)
    with atomic_write(npy_path) as tmp, open(tmp, "wb") as f:
        np.save(f, values)
    return png_path, npy_path


def read_saved_depth_png(path: str | Path) -> tuple[np.ndarray, str | None]:
    """Read a PNG written by :func:`save_depth`: ((H, W) float32 values, kind or None).

    A PNG without the photo3d text chunks is returned as stored (as float32).
    """
    from PIL import Image

    path = Path(path)
    try:
        with Image.open(path) as im:
            text = dict(getattr(im, "text", {}) or {})
            stored = np.asarray(im)
    except Exception as exc:
        raise Photo3DError(f"{path}: cannot read depth PNG ({exc.__class__.__name__}: {exc})") from None
    try:
        scale = float(text.get(PNG_KEY_SCALE, 1.0))
        offset = float(text.get(PNG_KEY_OFFSET, 0.0))
    except ValueError:
        raise Photo3DError(f"{path}: malformed photo3d scale/offset text chunks") from None
    if scale <= 0 or not np.isfinite(scale) or not np.isfinite(offset):
        raise Photo3DError(f"{path}: bad photo3d scale {scale} / offset {offset}")
    values = stored.astype(np.float64) / scale + offset
    return values.astype(np.float32), text.get(PNG_KEY_KIND)


def read_depth_file(path: str | Path) -> tuple[np.ndarray, str | None]:
    """Any depth file (:func:`photo3d.io.read_depth`) as ((H, W) float32 values, kind or None).

    A PNG written by :func:`save_depth` is mapped back to its values and says its kind, so
    ``--save-depth`` output passed back as the depth file reproduces the depth that was used.
    """
    from ..io import read_depth

    path = Path(path)
    values = read_depth(path)
    if path.suffix.lower() == ".png" and _has_photo3d_chunks(path):
        return read_saved_depth_png(path)
    return values, None


def _has_photo3d_chunks(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return PNG_KEY_SCALE in (getattr(im, "text", {}) or {})
    except Exception:  # read_depth already accepted the file; a PIL failure means no chunks
        return False
