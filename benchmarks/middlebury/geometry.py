"""Which target pixels are scored: view1's ground-truth surface warped into each target view
(see the package docs)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scenes import fill_unknown_disparity

__all__ = ['SurfaceWarp', 'ViewGeometry', 'reference_geometry', 'warp_surface']


@dataclass
class SurfaceWarp:
    """A disparity map's surface rasterised into a horizontally displaced camera.

    disparity: (H, W) float32 disparity of the front-most surface, 0 where uncovered.
    covered: (H, W) bool.
    known: (H, W) bool, the front-most surface comes from known-disparity source pixels.
    inside: (H, W) bool, source pixels of the same row land both left and right of the pixel.
    """

    disparity: np.ndarray
    covered: np.ndarray
    known: np.ndarray
    inside: np.ndarray


def warp_surface(disparity: np.ndarray, known: np.ndarray, shift: float, link_threshold: float = 1.0) -> SurfaceWarp:
    """Rasterise the surface of ``disparity`` into the camera where column x lands at
    ``x - shift * disparity`` (rows are unchanged by a horizontal camera move).

    Each source pixel covers the target pixel its centre lands in; horizontal neighbours
    whose disparities differ by at most ``link_threshold`` px are joined by a segment with
    linearly interpolated disparity, which covers every target pixel centre between their
    landing points (so slanted surfaces stretch without cracks, while a depth edge opens a
    gap). The largest disparity wins (z-buffer).

    Args:
        disparity: (H, W) float disparity in px (no unknowns: fill them first).
        known: (H, W) bool, which source disparities are ground truth.
        shift: camera displacement in units of the disparity's baseline.
        link_threshold: disparity step (px) above which neighbours are not joined.
    """
    d = np.asarray(disparity, dtype=np.float64)
    h, w = d.shape
    ys, xs = np.mgrid[0:h, 0:w]
    pos = xs - shift * d

    # footprints: the target pixel containing each landing point
    cand_c = [np.floor(pos + 0.5).astype(np.int64).ravel()]
    cand_y = [ys.ravel()]
    cand_d = [d.ravel()]
    cand_k = [np.asarray(known, bool).ravel()]

    # segments between linked horizontal neighbours
    p0, p1, d0, d1 = pos[:, :-1], pos[:, 1:], d[:, :-1], d[:, 1:]
    linked = np.abs(d1 - d0) <= link_threshold
    seg_known = (known[:, :-1] & known[:, 1:])[linked]
    p0, p1, d0, d1 = p0[linked], p1[linked], d0[linked], d1[linked]
    seg_y = ys[:, :-1][linked]
    lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
    span = p1 - p0
    steps = int(math.ceil(1.0 + abs(shift) * link_threshold)) + 1
    first = np.ceil(lo)
    for k in range(steps):
        c = first + k
        ok = c <= hi
        if not ok.any():
            break
        frac = np.where(np.abs(span) > 1e-9, (c - p0) / np.where(np.abs(span) > 1e-9, span, 1.0), 0.0)
        seg_d = np.where(np.abs(span) > 1e-9, d0 + frac * (d1 - d0), np.maximum(d0, d1))
        cand_c.append(c[ok].astype(np.int64))
        cand_y.append(seg_y[ok])
        cand_d.append(seg_d[ok])
        cand_k.append(seg_known[ok])

    c = np.concatenate(cand_c)
    y = np.concatenate(cand_y)
    dd = np.concatenate(cand_d)
    kk = np.concatenate(cand_k)
    ok = (c >= 0) & (c < w)
    flat = y[ok] * w + c[ok]
    dd, kk = dd[ok], kk[ok]
    zbuf = np.full(h * w, -np.inf)
    np.maximum.at(zbuf, flat, dd)
    winner = dd >= zbuf[flat] - 1e-9
    win_known = np.zeros(h * w, dtype=bool)
    win_known[flat[winner & kk]] = True  # a tie between known and unknown counts as known
    covered = np.isfinite(zbuf)

    row_min = np.floor(pos.min(axis=1) + 0.5)[:, None]
    row_max = np.floor(pos.max(axis=1) + 0.5)[:, None]
    inside = (xs > row_min) & (xs < row_max)
    shape = (h, w)
    return SurfaceWarp(
        np.where(covered, zbuf, 0.0).reshape(shape).astype(np.float32),
        covered.reshape(shape),
        win_known.reshape(shape),
        inside,
    )


@dataclass
class ViewGeometry:
    """Ground-truth visibility of one target view (see the module docstring).

    t: camera shift in baselines. All masks (H, W) bool.
    disparity: (H, W) float32 disparity of view1's surface in the target (0 uncovered).
    seen: covered by view1's known surface. gap: revealed behind a depth edge.
    outside: beyond view1's field of view. disoccluded: gap pixels confirmed real.
    valid: seen | disoccluded (the pixels of the "all" score).
    """

    t: float
    disparity: np.ndarray
    seen: np.ndarray
    gap: np.ndarray
    outside: np.ndarray
    disoccluded: np.ndarray
    valid: np.ndarray


def reference_geometry(disp1: np.ndarray, disp5: np.ndarray, t: float, link_threshold: float = 1.0) -> ViewGeometry:
    """Which pixels of the camera at ``t`` baselines view1 sees, which it cannot (revealed
    behind depth edges, confirmed by view5 for t > 0), and which lie outside its frame.

    Args:
        disp1, disp5: (H, W) ground-truth disparities in px, 0 = unknown.
        t: target camera position in view1-view5 baselines.
        link_threshold: disparity step (px) that separates surfaces (see :func:`warp_surface`).
    """
    known1 = disp1 > 0
    warp1 = warp_surface(fill_unknown_disparity(disp1), known1, t, link_threshold)
    seen = warp1.covered & warp1.known
    uncovered = ~warp1.covered
    gap = uncovered & warp1.inside
    outside = uncovered & ~warp1.inside
    if t > 0:
        known5 = disp5 > 0
        warp5 = warp_surface(fill_unknown_disparity(disp5), known5, t - 1.0, link_threshold)
        disoccluded = gap & warp5.covered & warp5.known
    else:
        disoccluded = gap.copy()
    return ViewGeometry(float(t), warp1.disparity, seen, gap, outside, disoccluded, seen | disoccluded)


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------
