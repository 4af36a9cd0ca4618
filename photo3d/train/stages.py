"""Every import of photo3d's package internals that the training code needs, in one place.

When the package layout moves, only this module changes: everything else in
:mod:`photo3d.train` imports from here, and the pipeline stages are reached through the
small wrappers below (their signatures stay put while the stages' own ones change).
"""
from __future__ import annotations

import numpy as np

from .. import weights as weights_module
from ..config import Config, EdgesConfig, InpaintConfig, PrepareConfig, RegionsConfig
from ..core.canvas import make_canvas
from ..core.data import Canvas, Discontinuities, Intrinsics, Regions
from ..core.discontinuities import detect_discontinuities
from ..core.ldi import front_layer
from ..core.peel import peel_fill
from ..core.prepare import prepare
from ..core.regions import find_regions
from ..errors import Photo3DError
from ..inpaint.fill import fill_regions
from ..inpaint.learned import (
    PAD_MULTIPLE,
    LearnedInpainter,
    LearnedSettings,
    SegmentCrop,
    color_input,
    context_edge_map,
    depth_input,
    edge_input,
    finish_edges,
    open_small_mask,
    segment_crops,
)
from ..inpaint.learned.tensors import LOG_EPS, fill_prior_color, fill_prior_depth, fill_priors, residual_output
from ..inpaint.networks import NETWORK_KINDS, build_network, parameter_count
from ..inpaint.shipped import NAME as SHIPPED_NAME
from ..inpaint.shipped import (
    available,
    card_file,
    find_shipped,
    inference_options,
    load_shipped,
    read_card,
    sha256_of,
    shipped_dir,
    weight_file,
)

DEPTH_THRESHOLD = EdgesConfig().depth_threshold
"""The pipeline's default discontinuity threshold (normalised disparity)."""


# ---------------------------------------------------------------------------------------
# Stable wrappers over the pipeline stages
# ---------------------------------------------------------------------------------------

def region_config(longer_side: int, background: int) -> Config:
    """Pipeline settings at exactly this working size (smaller photos enlarged): synthesis
    band ``background`` px, context band twice as deep (as the defaults 70/140), no border
    extension."""
    # context_margin 0: the networks learn on the regions as the reference trained them (its
    # erode_context acts at inference only; photo3d's inpainters re-paint the margin there);
    # no scan-border crop: training frames keep their size, so masks and pixels stay aligned
    return Config(prepare=PrepareConfig(longer_side=int(longer_side), enlarge=True, crop_scan_border=False),
                  regions=RegionsConfig(background_thickness=int(background), context_thickness=2 * int(background),
                                        extrapolate_border=False, context_margin=0))


def prepared_canvas(image: np.ndarray, values: np.ndarray, kind: str, config: Config, source: str) -> Canvas:
    """prepare (resize, normalise, clean) then a canvas without border band."""
    prepared = prepare(image, values, config.prepare, depth_threshold=float(config.edges.depth_threshold),
                       kind=kind, source=source)
    return make_canvas(prepared, 0)


def array_canvas(rgb: np.ndarray, depth: np.ndarray) -> Canvas:
    """A canvas without border band from an already normalised (S, S) depth and its image."""
    h, w = depth.shape
    return Canvas(rgb, depth, (1.0 / depth).astype(np.float32), np.ones((h, w), bool), 0,
                  Intrinsics.default(w, h), 1.0)


def discontinuities_of(disparity: np.ndarray, config: Config) -> Discontinuities:
    """The discontinuities stage on a (H, W) detection disparity."""
    return detect_discontinuities(disparity, config.edges)


def regions_of(canvas: Canvas, config: Config) -> tuple[Discontinuities, Regions]:
    """discontinuities → front layer → regions on a canvas."""
    disc = detect_discontinuities(canvas.detect_disparity, config.edges, canvas.color)
    return disc, find_regions(front_layer(canvas, disc), disc, config.regions, float(config.edges.depth_threshold))


def fill_synthesis(canvas: Canvas, regions: Regions):
    """The non-learned fill of every synthesis region (the pipeline's fallback) -> LayerFill."""
    return fill_regions(canvas, regions, DEPTH_THRESHOLD)


def learned_inpainter(edge_net, depth_net, color_net, device: str = "cpu", ext_edge_threshold: float | None = None,
                      **kwargs) -> LearnedInpainter:
    """The pipeline's learned inpainter around three networks (any widths); ``kwargs``: the
    inpainter's ``inputs``, ``edge_net_edges``, batching."""
    settings = LearnedSettings(depth_threshold=DEPTH_THRESHOLD)
    if ext_edge_threshold is not None:
        settings = LearnedSettings(DEPTH_THRESHOLD, float(ext_edge_threshold))
    return LearnedInpainter(edge_net, depth_net, color_net, device, settings=settings, **kwargs)


def scene_regions(image: np.ndarray, disparity: np.ndarray, longer_side: int = 960):
    """The pipeline's stages before inpainting (default settings at ``longer_side``):
    (canvas, discontinuities, regions)."""
    from ..pipeline import build_regions

    config = Config(prepare=PrepareConfig(longer_side=int(longer_side)))
    before = build_regions(image, disparity, config)
    return before.canvas, before.discontinuities, before.regions


def scene_with(image: np.ndarray, disparity: np.ndarray, inpainter, longer_side: int = 960):
    """The pipeline up to the mesh (no rendering) on an RGB image and its disparity with the
    given inpainter; returns the pipeline's Scene (``inpaint_method``, ``fill``, ``mesh``)."""
    from ..pipeline import build_scene

    config = Config(prepare=PrepareConfig(longer_side=int(longer_side)), inpaint=InpaintConfig(method="learned"))
    return build_scene(image, disparity, config, inpainter=inpainter)


__all__ = [
    "DEPTH_THRESHOLD",
    "LOG_EPS",
    "NETWORK_KINDS",
    "PAD_MULTIPLE",
    "SHIPPED_NAME",
    "Canvas",
    "Config",
    "Discontinuities",
    "Intrinsics",
    "LearnedInpainter",
    "Photo3DError",
    "Regions",
    "SegmentCrop",
    "array_canvas",
    "available",
    "build_network",
    "card_file",
    "color_input",
    "context_edge_map",
    "depth_input",
    "discontinuities_of",
    "edge_input",
    "fill_prior_color",
    "fill_prior_depth",
    "fill_priors",
    "fill_regions",
    "fill_synthesis",
    "find_shipped",
    "inference_options",
    "finish_edges",
    "front_layer",
    "learned_inpainter",
    "load_shipped",
    "open_small_mask",
    "parameter_count",
    "peel_fill",
    "prepared_canvas",
    "read_card",
    "region_config",
    "regions_of",
    "residual_output",
    "scene_regions",
    "scene_with",
    "segment_crops",
    "sha256_of",
    "shipped_dir",
    "weight_file",
    "weights_module",
]
