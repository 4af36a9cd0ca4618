"""The non-learned, context-aware inpainter (the fallback when no network weights are
present): every synthesis region is onion-peel filled (:mod:`photo3d.core.peel`) from its
own context only, so foreground colour cannot bleed into the revealed background.
"""
from __future__ import annotations

import numpy as np

from ..core.data import Canvas, LayerFill, Regions
from ..core.peel import peel_fill


def fill_regions(canvas: Canvas, regions: Regions, depth_threshold: float) -> LayerFill:
    """Fill every synthesis region from its own context (colour and disparity).

    Filled pixels that would not lie behind the front surface by at least the depth
    threshold are dropped (nothing to reveal there).
    """
    thr = float(depth_threshold)
    filled, disparity, color = peel_fill(
        regions.synthesis_label, regions.context_label, canvas.detect_disparity, canvas.color, thr
    )
    keep = filled & (disparity < canvas.detect_disparity - thr) & (disparity > 0)
    depth = np.where(keep, canvas.depth_scale / np.maximum(disparity, 1e-6), 0).astype(np.float32)
    return LayerFill(keep, depth, disparity.astype(np.float32), color)
