"""Depth for photos that come without it.

* :func:`resolve_depth` (:mod:`.resolve`) picks the source (depth file, embedded depth, ONNX model,
  Depth Anything V2, or a weak prior) and returns a :class:`DepthResult`;
* :func:`save_depth` / :func:`read_depth_file` (:mod:`.saved`) write and read back the depth a run used.
* :func:`read_embedded_depth` reads depth stored by phones (GDepth, Dynamic Depth,
  Apple MPF/HEIC).
* :class:`OnnxDepthModel` runs any ONNX depth network; :func:`estimate` and
  :func:`load_depth_anything` run Depth Anything V2 Small (torch, imported on first use).
"""
from __future__ import annotations

from .embedded import EmbeddedDepth, read_embedded_depth
from .resolve import DepthResult, resolve_depth
from .saved import read_depth_file, read_saved_depth_png, save_depth


def load_depth_anything(path, device="cpu"):
    """Load Depth Anything V2 Small weights (see :mod:`photo3d.depth.depth_anything`)."""
    from .depth_anything import load_depth_anything as _load

    return _load(path, device)


def estimate(image, model=None, **kwargs):
    """Depth Anything V2 relative disparity, (H, W) float32 (see :mod:`photo3d.depth.depth_anything`)."""
    from .depth_anything import estimate as _estimate

    return _estimate(image, model, **kwargs)


def __getattr__(name):  # onnxruntime loads only when the ONNX model is used
    if name == "OnnxDepthModel":
        from .onnx_model import OnnxDepthModel

        return OnnxDepthModel
    if name == "prior_disparity":
        from .prior import prior_disparity

        return prior_disparity
    raise AttributeError(name)


__all__ = ["DepthResult", "EmbeddedDepth", "OnnxDepthModel", "estimate", "load_depth_anything",
           "prior_disparity", "read_depth_file", "read_embedded_depth", "read_saved_depth_png", "resolve_depth", "save_depth"]
