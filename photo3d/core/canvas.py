"""The canvas: the working image padded by a band on every side, and the border extension
that fills the band (the border's synthesis region) so that moving cameras do not show
the edge of the photo: mirrored texture on the same surface, peeled colour elsewhere.
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


def reflected_index(index: np.ndarray, start: int, length: int) -> np.ndarray:
    """Canvas coordinates mirrored into the image span ``start .. start + length - 1`` about
    its first and last pixels (reflect-101, folded again for bands wider than the image).
    (N,) int -> (N,) int."""
    if length == 1:
        return np.full_like(index, start)
    period = 2 * (length - 1)
    offset = np.mod(index - start, period)
    return start + np.where(offset < length, offset, period - offset)


def fill_border(canvas: Canvas, depth_threshold: float) -> Canvas:
    """Extend the photo into the canvas band (the border's synthesis region).

    Depth continues each border pixel straight outwards (the band already holds the
    edge-replicated depth), so discontinuities that reach the border continue as clean cuts.
    Colour continues the texture: each band pixel takes the colour of its mirror image in
    the photo (reflected about the image's outer row/column), when that pixel lies on the
    same surface (detection disparity within ``depth_threshold``); the rest, where the
    mirror lands on another surface, is peeled in from the image pixels and the mirrored
    band pixels of its own surface, never from the other side of a discontinuity. (The
    peel alone repeats the outer ring's colours along straight lines: rings become bars,
    a rope becomes streaks.)
    """
    if canvas.pad == 0:
        return canvas
    pad = canvas.pad
    hc, wc = canvas.shape
    h, w = hc - 2 * pad, wc - 2 * pad
    ys, xs = np.nonzero(~canvas.image_mask)
    my = reflected_index(ys, pad, h)
    mx = reflected_index(xs, pad, w)
    disp = canvas.detect_disparity
    same = np.abs(disp[my, mx] - disp[ys, xs]) <= float(depth_threshold)
    out = canvas.color.copy()
    out[ys[same], xs[same]] = canvas.color[my[same], mx[same]]
    rest = np.zeros(canvas.shape, dtype=bool)
    rest[ys[~same], xs[~same]] = True
    if rest.any():
        known = ~rest
        filled, _, color = peel_fill(
            rest.astype(np.int32),
            known.astype(np.int32),
            disp,
            out,
            float(depth_threshold),
            target_disparity=disp,
        )
        out[filled] = color[filled]
    return Canvas(out, canvas.depth, canvas.detect_disparity, canvas.image_mask, canvas.pad, canvas.intrinsics, canvas.depth_scale)
