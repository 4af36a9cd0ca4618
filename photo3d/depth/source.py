"""Where the depth of a photo comes from: the resolver, and saving what it found.

Order for ``source="auto"``: a depth file given by the user; the depth the photo carries
(:mod:`photo3d.depth.embedded`); an ONNX model given by the user; Depth Anything V2 Small
when its weights are installed; finally the weak :mod:`photo3d.depth.prior`, with a
one-line warning on how to get the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from ..errors import Photo3DError

SOURCES = ("auto", "file", "embedded", "model")
KINDS = ("disparity", "depth")
DEPTH_ANYTHING_WEIGHTS = "depth_anything_v2_vits"
DEPTH_ANYTHING_LABEL = "Depth Anything V2 Small"
DOWNLOAD_HINT = f"photo3d weights download {DEPTH_ANYTHING_WEIGHTS}"
PRIOR_WARNING = ("no depth file, embedded depth or depth model: using a weak heuristic depth "
                 f"(flat-looking results); for real depth run `{DOWNLOAD_HINT}`")
ASPECT_TOLERANCE = 0.02  # relative aspect-ratio difference above which a stretch is reported

# PNG text keys written by save_depth: value = stored / scale + offset.
PNG_KEY_SCALE = "photo3d:scale"
PNG_KEY_OFFSET = "photo3d:offset"
PNG_KEY_KIND = "photo3d:kind"
PNG_MAX = 65535


@dataclass
class DepthResult:
    """Depth for one photo.

    values: (H, W) float32 at the image's size.
    kind: "disparity" (larger = nearer) or "depth" (larger = farther).
    source: "file", "embedded (<container>)", "Depth Anything V2 Small", "onnx:<file>"
        or "prior".
    warning: one line for the user (weak prior, stretched map, ...), or None.
    """

    values: np.ndarray
    kind: str
    source: str
    warning: str | None = None


def check_rgb_image(image: np.ndarray, what: str, *, uint8: bool = True) -> tuple[int, int]:
    """(H, W) of a non-empty (H, W, 3) RGB array (uint8 unless ``uint8=False``).

    Raises:
        Photo3DError: naming ``what`` (the step that needs the image) otherwise.
    """
    ok = (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
          and (image.dtype == np.uint8 or not uint8))
    if not ok:
        desc = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                else type(image).__name__)
        raise Photo3DError(f"{what}: expected an H x W x 3 {'uint8 ' if uint8 else ''}RGB image, got {desc}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise Photo3DError(f"{what}: image size {image.shape[1]}x{image.shape[0]} is empty")
    return int(image.shape[0]), int(image.shape[1])


def fit_to_image(values: np.ndarray, height: int, width: int, what: str) -> tuple[np.ndarray, str | None]:
    """Resize a depth map to (height, width) bilinearly; report a stretch that changes the aspect.

    Returns:
        ((height, width) float32, a warning line or None).
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or min(values.shape) < 1:
        raise Photo3DError(f"{what}: depth must be a 2-D map, got shape {values.shape}")
    if values.shape == (height, width):
        return np.ascontiguousarray(values), None
    warning = None
    aspect_in, aspect_out = values.shape[1] / values.shape[0], width / height
    if abs(aspect_in / aspect_out - 1.0) > ASPECT_TOLERANCE:
        warning = (f"{what}: depth map is {values.shape[1]}x{values.shape[0]} but the image is "
                   f"{width}x{height}; stretched to fit")
    resized = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32), warning


def _from_file(depth_path: str | Path, depth_kind: str, height: int, width: int) -> DepthResult:
    from ..io import read_depth

    values, warning = fit_to_image(read_depth(depth_path), height, width, str(depth_path))
    return DepthResult(values, depth_kind, "file", warning)


def _from_embedded(image_path: str | Path, height: int, width: int, strict: bool) -> DepthResult | None:
    from .embedded import read_embedded_depth

    found = read_embedded_depth(image_path, strict=strict)
    if found is None:
        return None
    values, warning = fit_to_image(found.values, height, width, f"{image_path} (embedded {found.source})")
    return DepthResult(values, found.kind, f"embedded ({found.source})", warning)


def _from_onnx(onnx_model: Any, onnx_options: Mapping[str, Any] | None, image: np.ndarray) -> DepthResult:
    from .onnx_model import OnnxDepthModel

    model = onnx_model if isinstance(onnx_model, OnnxDepthModel) else OnnxDepthModel(onnx_model, **dict(onnx_options or {}))
    values, warning = fit_to_image(model.estimate(image), image.shape[0], image.shape[1], model.name)
    return DepthResult(values, model.kind, model.name, warning)


def _find_depth_anything(checkpoints_dir: str | Path | None) -> Path | None:
    from ..weights import find_weights

    return find_weights(DEPTH_ANYTHING_WEIGHTS, checkpoints_dir)


def _from_depth_anything(weights: Path, image: np.ndarray, checkpoints_dir: str | Path | None,
                         device: str, input_size: int | None) -> DepthResult:
    from .depth_anything import estimate

    options = {} if input_size is None else {"input_size": int(input_size)}
    disparity = estimate(image, weights=weights, checkpoints_dir=checkpoints_dir, device=device, **options)
    values, warning = fit_to_image(disparity, image.shape[0], image.shape[1], DEPTH_ANYTHING_LABEL)
    return DepthResult(values, "disparity", DEPTH_ANYTHING_LABEL, warning)


def _from_prior(image: np.ndarray) -> DepthResult:
    from .prior import prior_disparity

    return DepthResult(prior_disparity(image), "disparity", "prior", PRIOR_WARNING)


def resolve_depth(image_path: str | Path | None, image: np.ndarray, *, source: str = "auto",
                  depth_path: str | Path | None = None, depth_kind: str = "disparity",
                  onnx_model: Any = None, onnx_options: Mapping[str, Any] | None = None,
                  checkpoints_dir: str | Path | None = None, device: str = "cpu",
                  model_input_size: int | None = None) -> DepthResult:
    """Find the depth of a photo.

    Args:
        image_path: the photo's file (searched for embedded depth); None skips that step.
        image: (H, W, 3) uint8 RGB, upright (as :func:`photo3d.io.read_image` returns it).
        source: "auto" (file, then embedded, then ONNX, then Depth Anything, then the
            prior), "file" (needs ``depth_path``), "embedded" (error when the photo has
            none) or "model" (``onnx_model``, else Depth Anything; error when neither).
        depth_path: a depth file (.npy, .png, .pfm) read with :func:`photo3d.io.read_depth`.
        depth_kind: what the depth file holds, "disparity" or "depth".
        onnx_model: path of an ONNX depth model (or an ``OnnxDepthModel``).
        onnx_options: keyword arguments of :class:`~photo3d.depth.onnx_model.OnnxDepthModel`.
        checkpoints_dir: searched first for the Depth Anything weights.
        device: where Depth Anything runs ("auto", "cpu", "cuda[:N]").
        model_input_size: shorter side of Depth Anything's input (None: its default, 518;
            smaller is faster and coarser). ONNX models take theirs from ``onnx_options``.

    Returns:
        A :class:`DepthResult` with values at the image's size.

    Raises:
        Photo3DError: an explicitly requested source is missing or broken, bad arguments.
    """
    height, width = check_rgb_image(image, "depth", uint8=False)
    if source not in SOURCES:
        raise Photo3DError(f"depth source must be one of {SOURCES}, got {source!r}")
    if depth_kind not in KINDS:
        raise Photo3DError(f"depth kind must be one of {KINDS}, got {depth_kind!r}")

    if source == "file" or (source == "auto" and depth_path is not None):
        if depth_path is None:
            raise Photo3DError("depth source 'file' needs a depth file (--depth)")
        return _from_file(depth_path, depth_kind, height, width)

    if source == "embedded":
        if image_path is None:
            raise Photo3DError("depth source 'embedded' needs the photo's file")
        found = _from_embedded(image_path, height, width, strict=True)
        if found is None:
            raise Photo3DError(f"{image_path}: no embedded depth found (GDepth XMP, Dynamic Depth, "
                               "Apple MPF or HEIC depth expected)")
        return found

    if source == "auto" and image_path is not None:
        found = _from_embedded(image_path, height, width, strict=False)
        if found is not None:
            return found

    if onnx_model is not None:
        return _from_onnx(onnx_model, onnx_options, image)
    weights = _find_depth_anything(checkpoints_dir)
    if weights is not None:
        return _from_depth_anything(weights, image, checkpoints_dir, device, model_input_size)
    if source == "model":
        raise Photo3DError(f"depth source 'model': no ONNX model given (--onnx-model) and no Depth Anything "
                           f"weights found; run `{DOWNLOAD_HINT}`")
    return _from_prior(image)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------

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

    if kind not in KINDS:
        raise Photo3DError(f"depth kind must be one of {KINDS}, got {kind!r}")
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
