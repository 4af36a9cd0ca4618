"""The non-learned, context-aware inpainter (the fallback when no network weights are
present): every synthesis region is onion-peel filled (:mod:`photo3d.core.peel`) from its
own context only, so foreground colour cannot bleed into the revealed background.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..core.data import Canvas, LayerFill, Regions
from ..core.peel import peel_fill


def drop_specks(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """``mask`` without its 4-connected pieces of fewer than ``min_pixels`` pixels: specks
    of revealed background that would float as dust in the mesh (the hole guard shows the
    background there instead). (H, W) bool -> (H, W) bool."""
    if min_pixels <= 1 or not mask.any():
        return mask
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] < min_pixels
    small[0] = False
    return mask & ~small[labels]


def fill_regions(canvas: Canvas, regions: Regions, depth_threshold: float, *, repaint_margin: bool = True,
                 min_piece: int = 10) -> LayerFill:
    """Fill every synthesis region from its own context (colour and disparity).

    The segment's margin (``Regions.margin_label``: the mixed pixels next to the cut) is
    re-painted from the context first and then serves as the synthesis fill's starting
    ring, so the fill reaches the synthesis region without copying any of the edge's
    colour. Two passes, because a margin pixel of one segment can be a synthesis position
    of another (a middle surface between two depth edges): one label map cannot hold both.

    Filled pixels that would not lie behind the front surface by at least the depth
    threshold are dropped (nothing to reveal there), and so are kept pieces of fewer than
    ``min_piece`` pixels (:func:`drop_specks`). With ``repaint_margin`` the margin's front
    pixels take their re-painted colour (``LayerFill.repaint``).
    """
    thr = float(depth_threshold)
    margin = regions.margin()
    source_color = canvas.color
    repainted = np.zeros(margin.shape, dtype=bool)
    if margin.any():
        repainted, _, margin_color = peel_fill(margin, regions.context_label, canvas.detect_disparity, canvas.color,
                                               thr, target_disparity=canvas.detect_disparity)
        source_color = canvas.color.copy()
        source_color[repainted] = margin_color[repainted]
    sources = np.where(repainted, margin, regions.context_label).astype(np.int32)
    filled, disparity, color = peel_fill(regions.synthesis_label, sources, canvas.detect_disparity, source_color, thr)
    keep = filled & (disparity < canvas.detect_disparity - thr) & (disparity > 0)
    keep = drop_specks(keep, int(min_piece))
    depth = np.where(keep, canvas.depth_scale / np.maximum(disparity, 1e-6), 0).astype(np.float32)
    repaint = None
    if repaint_margin and repainted.any():
        repaint = repainted & ~keep  # where a pixel is kept, ``color`` holds the new layer's colour
        color[repaint] = source_color[repaint]
    return LayerFill(keep, depth, disparity.astype(np.float32), color, repaint)
