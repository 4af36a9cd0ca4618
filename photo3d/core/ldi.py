"""The layered depth image (LDI): pixels with explicit 4-neighbour links.

Pixels are flat arrays of length N. Link slots are ordered LEFT, RIGHT, UP, DOWN and hold
the index of the linked pixel or -1. Links are symmetric: if ``links[p, RIGHT] == q`` then
``links[q, LEFT] == p``. Layer-0 pixel indices are canvas positions ``y * W + x``; pixels of
later layers follow. A depth discontinuity is a cut link.
"""
from __future__ import annotations

import numpy as np

from .data import (
    DOWN,
    LDI,
    LEFT,
    OPPOSITE,
    RIGHT,
    STEP_X,
    STEP_Y,
    UP,
    Canvas,
    Discontinuities,
    LayerFill,
)


def front_layer(canvas: Canvas, disc: Discontinuities) -> LDI:
    """Layer 0: one pixel per canvas position, linked to its neighbours except across cuts."""
    h, w = canvas.shape
    n = h * w
    idx = np.arange(n, dtype=np.int32).reshape(h, w)
    links = np.full((h, w, 4), -1, dtype=np.int32)
    links[:, 1:, LEFT] = np.where(disc.link_right, idx[:, :-1], -1)
    links[:, :-1, RIGHT] = np.where(disc.link_right, idx[:, 1:], -1)
    links[1:, :, UP] = np.where(disc.link_down, idx[:-1], -1)
    links[:-1, :, DOWN] = np.where(disc.link_down, idx[1:], -1)
    ys, xs = np.divmod(np.arange(n, dtype=np.int32), w)
    return LDI(
        x=xs.astype(np.int32),
        y=ys.astype(np.int32),
        depth=canvas.depth.reshape(-1).astype(np.float32),
        disparity=canvas.detect_disparity.reshape(-1).astype(np.float32),
        color=canvas.color.reshape(-1, 3).copy(),
        links=links.reshape(n, 4),
        layer=np.zeros(n, dtype=np.int16),
        shape=(h, w),
        intrinsics=canvas.intrinsics,
        pad=canvas.pad,
    )


def add_layer(ldi: LDI, fill: LayerFill, threshold: float) -> LDI:
    """Add one inpainted layer behind the front layer and link it.

    ``threshold`` is the largest disparity difference of a link.

    New pixels link to each other across neighbouring positions, and to a front-layer pixel
    whose link slot towards them is free (a cut: the revealed background continues the
    background it was grown from) when their disparities agree within ``threshold``.
    Front pixels where ``fill.repaint`` is set take the fill's colour.
    """
    mask, depth, disparity, color = fill.mask, fill.depth, fill.disparity, fill.color
    h, w = ldi.shape
    front_color = ldi.color
    if fill.repaint is not None and fill.repaint.any():  # the re-painted context margin
        front_color = ldi.color.copy()
        front_color[: h * w][fill.repaint.reshape(-1)] = color[fill.repaint]
    n0 = ldi.num_pixels
    ys, xs = np.nonzero(mask)
    m = ys.size
    new_index = np.full((h, w), -1, dtype=np.int64)
    new_index[ys, xs] = n0 + np.arange(m)
    new_disp = disparity[ys, xs].astype(np.float32)
    new_links = np.full((m, 4), -1, dtype=np.int32)
    links = np.concatenate([ldi.links, new_links], axis=0)
    all_disp = np.concatenate([ldi.disparity, new_disp])
    for d in range(4):
        nx_, ny_ = xs + STEP_X[d], ys + STEP_Y[d]
        inside = (nx_ >= 0) & (nx_ < w) & (ny_ >= 0) & (ny_ < h)
        src = np.nonzero(inside)[0]
        tx, ty = nx_[src], ny_[src]
        # 1) another new pixel at the neighbouring position
        other = new_index[ty, tx]
        ok_new = (other >= 0) & (np.abs(all_disp[np.maximum(other, 0)] - new_disp[src]) <= threshold)
        links[n0 + src[ok_new], d] = other[ok_new]
        # 2) else the front-layer pixel there, if its slot towards us is free
        rest = ~ok_new
        front = (ty * w + tx)[rest]
        s = src[rest]
        free = links[front, OPPOSITE[d]] < 0
        close = np.abs(ldi.disparity[front] - new_disp[s]) <= threshold
        ok_front = free & close
        links[n0 + s[ok_front], d] = front[ok_front]
        links[front[ok_front], OPPOSITE[d]] = n0 + s[ok_front]
    return LDI(
        x=np.concatenate([ldi.x, xs.astype(np.int32)]),
        y=np.concatenate([ldi.y, ys.astype(np.int32)]),
        depth=np.concatenate([ldi.depth, depth[ys, xs].astype(np.float32)]),
        disparity=all_disp,
        color=np.concatenate([front_color, color[ys, xs]], axis=0),
        links=links,
        layer=np.concatenate([ldi.layer, np.full(m, int(ldi.layer.max()) + 1, dtype=np.int16)]),
        shape=ldi.shape,
        intrinsics=ldi.intrinsics,
        pad=ldi.pad,
    )
