"""The canvas: the working image padded by a band on every side, and the border extension
that fills the band (the border's synthesis region) so that moving cameras do not show
the edge of the photo.
"""
from __future__ import annotations

import numpy as np

from .data import Canvas, PreparedRGBD
from .peel import peel_fill


def make_canvas(prepared: PreparedRGBD, pad: int) -> Canvas:
    """Pad the prepared image by ``pad`` pixels; the band is filled later by the border fill
    (until then it holds edge-replicated values so that every array is finite)."""
    h, w = prepared.depth.shape
    mode = "edge"
    color = np.pad(prepared.image, ((pad, pad), (pad, pad), (0, 0)), mode=mode)
    depth = np.pad(prepared.depth, pad, mode=mode)
    detect = np.pad(prepared.detect_disparity, pad, mode=mode)
    mask = np.zeros(depth.shape, dtype=bool)
    mask[pad : pad + h, pad : pad + w] = True
    k = prepared.intrinsics.shifted(pad, pad, w + 2 * pad, h + 2 * pad)
    return Canvas(color, depth, detect, mask, pad, k, prepared.depth_scale)


def fill_border(canvas: Canvas, depth_threshold: float) -> Canvas:
    """Extend the photo into the canvas band (the border's synthesis region).

    Depth continues each border pixel straight outwards (the band already holds the
    edge-replicated depth), so discontinuities that reach the border continue as clean cuts;
    colour is peeled in from the image pixels on the same surface (the border's context:
    the image's outer ring), never from the other side of a discontinuity.
    """
    if canvas.pad == 0:
        return canvas
    band = (~canvas.image_mask).astype(np.int32)
    filled, _, color = peel_fill(
        band,
        canvas.image_mask.astype(np.int32),
        canvas.detect_disparity,
        canvas.color,
        float(depth_threshold),
        target_disparity=canvas.detect_disparity,
    )
    out = canvas.color.copy()
    out[filled] = color[filled]
    return Canvas(out, canvas.depth, canvas.detect_disparity, canvas.image_mask, canvas.pad, canvas.intrinsics, canvas.depth_scale)
