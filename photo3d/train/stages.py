"""Every import of photo3d's package internals that the training code needs, in one place.

The package layout is being restructured (``photo3d/core/...``); when it moves, only this
module changes. Everything else in :mod:`photo3d.train` imports from here.
"""
from __future__ import annotations

from ..config import Config
from ..errors import Photo3DError
from ..inpaint.fill import fill_regions, peel_fill
from ..inpaint.learned import (
    LOG_EPS,
    PAD_MULTIPLE,
    LearnedInpainter,
    SegmentCrop,
    color_input,
    context_edge_map,
    depth_input,
    edge_input,
    finish_edges,
    open_small_mask,
    segment_crops,
)
from ..inpaint.networks import NETWORK_KINDS, build_network, parameter_count
from ..ldi import front_layer
from ..preprocess import Canvas, Discontinuities, detect_discontinuities, make_canvas, prepare
from ..regions import Regions, find_regions
from ..types import Intrinsics
from .. import weights as weights_module

__all__ = [
    "Config", "Photo3DError", "fill_regions", "peel_fill", "LOG_EPS", "PAD_MULTIPLE",
    "LearnedInpainter", "SegmentCrop", "color_input", "context_edge_map", "depth_input",
    "edge_input", "finish_edges", "open_small_mask", "segment_crops", "NETWORK_KINDS", "build_network",
    "parameter_count", "front_layer", "Canvas", "Discontinuities", "detect_discontinuities",
    "make_canvas", "prepare", "Regions", "find_regions", "Intrinsics", "weights_module",
]
