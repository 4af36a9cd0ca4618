"""Where the depth of a photo comes from.

Order for ``source="auto"``: a depth file given by the user; the depth the photo carries
(:mod:`photo3d.depth.embedded`); an ONNX model given by the user; Depth Anything V2 Small
when its weights are installed; finally the weak :mod:`photo3d.depth.prior`, with a
one-line warning on how to get the model.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import cv2
import numpy as np

from ..checks import check_choice, check_rgb_image
from ..config import DEPTH_KINDS, DEPTH_SOURCES
from ..errors import Photo3DError

log = logging.getLogger("photo3d")

DEPTH_ANYTHING_WEIGHTS = "depth_anything_v2_vits"
DEPTH_ANYTHING_LABEL = "Depth Anything V2 Small"
DOWNLOAD_HINT = f"photo3d weights download {DEPTH_ANYTHING_WEIGHTS}"
PRIOR_WARNING = ("no depth file, embedded depth or depth model: using a weak heuristic depth "
                 f"(flat-looking results); for real depth run `{DOWNLOAD_HINT}`")
ASPECT_TOLERANCE = 0.02  # relative aspect-ratio difference above which a stretch is reported



@dataclass
class DepthResult:
    """Depth for one photo.

    values: (H, W) float32 at the image's size (a depth file keeps its own size: the
        pipeline resizes it to the working size).
    kind: "disparity" (larger = nearer) or "depth" (larger = farther).
    source: "file", "embedded (<container>)", "Depth Anything V2 Small", "onnx:<file>"
        or "prior".
    warning: one line for the user (weak prior, stretched map, ...), or None.
    """

    values: np.ndarray
    kind: str
    source: str
    warning: str | None = None


def aspect_warning(depth_shape: tuple[int, int], image_shape: tuple[int, int], what: str) -> str | None:
    """One line when a depth map of ``depth_shape`` (H, W) would be stretched to fit an image
    of ``image_shape`` (H, W) (their aspect ratios differ by more than ASPECT_TOLERANCE)."""
    (dh, dw), (ih, iw) = depth_shape[:2], image_shape[:2]
    if abs((dw / dh) / (iw / ih) - 1.0) <= ASPECT_TOLERANCE:
        return None
    hint = " (transposed? check the photo's EXIF orientation)" if (dh, dw) == (iw, ih) else ""
    return (f"{what}: depth map {dw}x{dh} has another aspect ratio than the image {iw}x{ih}; "
            f"it is stretched to fit{hint}")


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
    warning = aspect_warning(values.shape, (height, width), what)
    resized = cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)
    return resized.astype(np.float32), warning


def _from_file(depth_path: str | Path, depth_kind: str, height: int, width: int) -> DepthResult:
    from .saved import read_depth_file

    # Kept at the file's own size: the pipeline resizes it once, to the working size.
    values, recorded_kind = read_depth_file(depth_path)
    warning = aspect_warning(values.shape, (height, width), str(depth_path))
    return DepthResult(values, recorded_kind or depth_kind, "file", warning)


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


MODEL_VARIANTS = ("vits", "vitb", "vitl")  # Depth Anything V2 Small, Base, Large
_LICENCES_SHOWN: set[str] = set()


def _find_depth_anything(checkpoints_dir: str | Path | None, variant: str = "vits", allow_download: bool = False,
                         fallback: str = "", progress: bool = False) -> Path | None:
    """The variant's weight file: installed, or downloaded now on first use (see
    :func:`photo3d.weights.ensure_weights`); None when neither."""
    from ..weights import ensure_weights

    return ensure_weights(f"depth_anything_v2_{variant}", checkpoints_dir, allow_download=allow_download,
                          fallback=fallback, progress=progress)


def _note_licence(variant: str) -> None:
    """Say once per process that a non-commercial variant is used."""
    from .depth_anything import get_variant

    v = get_variant(variant)
    if not v.commercial_use and v.name not in _LICENCES_SHOWN:
        _LICENCES_SHOWN.add(v.name)
        log.warning(f"{v.label} weights are licensed {v.licence}: non-commercial use only "
                    "(Depth Anything V2 Small is Apache-2.0)")


def _from_depth_anything(weights: Path, image: np.ndarray, checkpoints_dir: str | Path | None,
                         device: str, input_size: int | None, variant: str | None = None) -> DepthResult:
    from .depth_anything import estimate, get_variant, load_depth_anything

    options = {} if input_size is None else {"input_size": int(input_size)}
    model = load_depth_anything(weights, device, variant)
    _note_licence(model.variant.name)
    label = get_variant(model.variant.name).label
    disparity = estimate(image, model, **options)
    values, warning = fit_to_image(disparity, image.shape[0], image.shape[1], label)
    return DepthResult(values, "disparity", label, warning)


def _from_prior(image: np.ndarray) -> DepthResult:
    from .prior import prior_disparity

    return DepthResult(prior_disparity(image), "disparity", "prior", PRIOR_WARNING)


def resolve_depth(image_path: str | Path | None, image: np.ndarray, *, source: str = "auto",
                  depth_path: str | Path | None = None, depth_kind: str = "disparity",
                  onnx_model: Any = None, onnx_options: Mapping[str, Any] | None = None,
                  checkpoints_dir: str | Path | None = None, device: str = "cpu",
                  model_input_size: int | None = None, model_variant: str = "vits",
                  model_file: str | Path | None = None, allow_download: bool = False,
                  progress: bool = False) -> DepthResult:
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
            smaller is faster and coarser, larger suits large photos). ONNX models take
            theirs from ``onnx_options``.
        model_variant: which Depth Anything V2 ("vits" Small, "vitb" Base, "vitl" Large).
        model_file: a Depth Anything V2 weight file to use instead of the installed one.
        allow_download: download the variant's weights on first use when missing (a
            one-line note and a progress bar; offline: one warning and the prior).

    Returns:
        A :class:`DepthResult` with values at the image's size.

    Raises:
        Photo3DError: an explicitly requested source is missing or broken, bad arguments.
    """
    height, width = check_rgb_image(image, "depth", uint8=False)
    check_choice(source, "depth source", "depth", DEPTH_SOURCES)
    check_choice(depth_kind, "depth kind", "depth", DEPTH_KINDS)

    if source == "file" or (source == "auto" and depth_path is not None):
        if depth_path is None:
            raise Photo3DError("depth source 'file' needs a depth file")
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
    check_choice(model_variant, "depth model", "depth", MODEL_VARIANTS)
    if model_file is not None:
        if not Path(model_file).is_file():
            raise Photo3DError(f"{model_file}: depth model file not found")
        return _from_depth_anything(Path(model_file), image, checkpoints_dir, device, model_input_size)
    fallback = "" if source == "model" else "the weak heuristic depth prior"
    weights = _find_depth_anything(checkpoints_dir, model_variant, allow_download, fallback, progress)
    if weights is not None:
        return _from_depth_anything(weights, image, checkpoints_dir, device, model_input_size, model_variant)
    if source == "model":
        raise Photo3DError(f"depth source 'model': no ONNX model given and no Depth Anything "
                           f"weights found; run `{DOWNLOAD_HINT}`")
    prior = _from_prior(image)
    from ..weights import will_download

    if will_download(allow_download):  # the failed download already said so, in one line
        prior.warning = None
    return prior


