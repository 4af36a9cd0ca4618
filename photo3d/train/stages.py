"""Every import of photo3d's package internals that the training code needs, in one place.

The package layout is being restructured (``photo3d/core/...``); when it moves, only this
module changes. Everything else in :mod:`photo3d.train` imports from here.
"""
from __future__ import annotations

from .. import weights as weights_module
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
from ..preprocess import (
    Canvas,
    Discontinuities,
    detect_discontinuities,
    make_canvas,
    prepare,
)
from ..regions import Regions, find_regions
from ..types import Intrinsics

# ---------------------------------------------------------------------------------------
# Stable wrappers over the pipeline stages (their signatures change with the layout)
# ---------------------------------------------------------------------------------------

def region_config(longer_side: int, background: int) -> Config:
    """Pipeline settings at a working size: synthesis band ``background`` px, context band
    twice as deep (as the defaults 70/140), no border extension."""
    return Config(longer_side=int(longer_side), background_thickness=int(background),
                  context_thickness=2 * int(background), extrapolate_border=False)


def prepared_canvas(image, values, kind: str, config: Config, source: str) -> Canvas:
    """prepare (resize, normalise, clean) then a canvas without border band."""
    return make_canvas(prepare(image, values, config, kind=kind, source=source), 0)


def array_canvas(rgb, depth) -> Canvas:
    """A canvas without border band from an already normalised (S, S) depth and its image."""
    import numpy as np

    h, w = depth.shape
    return Canvas(rgb, depth, (1.0 / depth).astype(np.float32), np.ones((h, w), bool), 0,
                  Intrinsics.default(w, h), 1.0)


def discontinuities_of(disparity, config: Config) -> Discontinuities:
    """The discontinuities stage on a (H, W) detection disparity."""
    return detect_discontinuities(disparity, config)


def regions_of(canvas: Canvas, config: Config) -> tuple[Discontinuities, Regions]:
    """discontinuities → front layer → regions on a canvas."""
    disc = detect_discontinuities(canvas.detect_disparity, config)
    return disc, find_regions(front_layer(canvas, disc), disc, config)


def scene_with(image, disparity, inpainter, longer_side: int = 960):
    """The pipeline up to the mesh (no rendering) on an RGB image and its disparity with the
    given learned inpainter; returns the pipeline's Scene (``inpaint_method``, ``fill``...)."""
    from ..pipeline import build_scene

    config = Config(longer_side=int(longer_side), inpaint="learned", paths=[])
    return build_scene(image, disparity, config, inpainter=("learned", inpainter))


__all__ = [
    "LOG_EPS",
    "NETWORK_KINDS",
    "PAD_MULTIPLE",
    "Canvas",
    "Config",
    "Discontinuities",
    "Intrinsics",
    "LearnedInpainter",
    "Photo3DError",
    "Regions",
    "SegmentCrop",
    "array_canvas",
    "build_network",
    "color_input",
    "context_edge_map",
    "depth_input",
    "detect_discontinuities",
    "discontinuities_of",
    "edge_input",
    "fill_regions",
    "find_regions",
    "finish_edges",
    "front_layer",
    "make_canvas",
    "open_small_mask",
    "parameter_count",
    "peel_fill",
    "prepare",
    "prepared_canvas",
    "region_config",
    "regions_of",
    "segment_crops",
    "weights_module",
]
