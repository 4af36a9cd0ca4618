"""Loading a photo and its depth from files: what the CLI, the batch runner and
``Photo3D.from_files`` share.

The depth comes from the given file, else from :func:`photo3d.depth.resolve_depth`
(embedded depth, a model, or the weak prior) as the depth section of the config says.
Warnings (a stretched depth map, the weak prior) go to the ``photo3d`` logger.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import DepthConfig
from .errors import Photo3DError

log = logging.getLogger("photo3d")


@dataclass
class RGBDInput:
    """A photo and its raw depth, as read.

    image: (H, W, 3) uint8 RGB, upright (EXIF orientation applied).
    depth: (Hd, Wd) float32 raw values (any size; the pipeline resizes them).
    kind: "disparity" or "depth", what ``depth`` holds.
    depth_source: where the depth came from ("file", "embedded (...)", a model, "prior").
    image_path, depth_path: the files (``depth_path`` None when the depth was not a file).
    """

    image: np.ndarray
    depth: np.ndarray
    kind: str
    depth_source: str
    image_path: Path
    depth_path: Path | None = None

    @property
    def source(self) -> str:
        """The file named in messages about the depth."""
        return str(self.depth_path or self.image_path)


def load_inputs(image_path: str | Path, depth_path: str | Path | None = None, depth: DepthConfig | None = None,
                checkpoints: str | None = None, progress: bool = False) -> RGBDInput:
    """Read the photo and find its depth (see the module docs).

    Args:
        image_path: the photo (jpg, png, webp, tiff, heic).
        depth_path: its depth or disparity map, or None to find one.
        depth: the depth section (kind of a depth file, source, model, device).
        checkpoints: folder searched first for the Depth Anything weights.
        progress: a progress bar when weights are downloaded on first use.
    """
    from .depth import resolve_depth
    from .depth.resolve import MODEL_VARIANTS
    from .io import read_image

    depth = depth or DepthConfig()
    image_path = Path(image_path)
    depth_path = Path(depth_path) if depth_path is not None else None
    image = read_image(image_path)
    if depth_path is None and depth.source == "file":
        raise Photo3DError(f"{image_path}: depth source 'file' needs a depth file")
    onnx_options = {"input_size": int(depth.model_size), "output": depth.model_output}
    variant, onnx_model, model_file = "vits", None, None
    if depth.model in MODEL_VARIANTS:
        variant = depth.model
    elif depth.model is not None and Path(depth.model).suffix.lower() == ".onnx":
        onnx_model = depth.model
    elif depth.model is not None:
        model_file = depth.model
    found = resolve_depth(
        image_path, image, source="file" if depth_path is not None else depth.source, depth_path=depth_path,
        depth_kind=depth.kind, onnx_model=onnx_model, onnx_options=onnx_options, checkpoints_dir=checkpoints,
        device=depth.device, model_input_size=int(depth.model_size), model_variant=variant, model_file=model_file,
        allow_download=bool(depth.download), progress=progress,
    )
    if found.warning:
        log.warning(found.warning)
    return RGBDInput(image, found.values, found.kind, found.source, image_path, depth_path)
