"""The onion-peel fill shared by the border extension and the non-learned inpainter.

Target positions are filled ring by ring from their sources inwards; each new value is a
Gaussian-weighted mean of the already known values *of the same region* in a small window
(source pixels of that label, or targets already filled for it). Pixels of other labels
(e.g. the foreground) are never sources, so their colour cannot bleed into the fill.
Colour sources must also lie at or behind the filled disparity, or on the same surface
when the target disparity is known.
"""
from __future__ import annotations

import numpy as np

_NEIGHBOURS = ((0, -1), (0, 1), (-1, 0), (1, 0))  # (dy, dx)


def _window(radius: int, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    keep = (dy != 0) | (dx != 0)
    dy, dx = dy[keep], dx[keep]
    return dy, dx, np.exp(-(dy**2 + dx**2) / (2 * sigma**2)).astype(np.float32)


def peel_fill(
    target_label: np.ndarray,
    source_label: np.ndarray,
    source_disparity: np.ndarray,
    source_color: np.ndarray,
    threshold: float,
    *,
    target_disparity: np.ndarray | None = None,
    radius: int = 2,
    sigma: float = 1.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill labelled target positions from same-label sources, ring by ring.

    Args:
        target_label: (H, W) int32, region id to fill (0 = not a target).
        source_label: (H, W) int32, region id of known pixels (0 = not a source).
        source_disparity: (H, W) float32; source_color: (H, W, 3) uint8.
        threshold: disparity tolerance for colour sources.
        target_disparity: (H, W) known disparity of the targets; when given, only colour is
            filled and colour sources must match it within ``threshold`` (same surface);
            otherwise disparity is filled too and colour sources must not be nearer than it.
    Returns:
        filled (H, W) bool, disparity (H, W) float32, color (H, W, 3) uint8. Targets not
        reachable from a source stay unfilled.
    """
    h, w = target_label.shape
    # The arrays get a border of `radius` pixels of label 0 (neither target nor source), so
    # every window position is a valid index and no bounds test is needed: a border pixel
    # can never match a label (> 0), exactly as an outside position was never taken.
    r = int(radius)
    pw = w + 2 * r

    def padded(a: np.ndarray, dtype) -> np.ndarray:
        return np.pad(a.astype(dtype, copy=False), [(r, r), (r, r)] + [(0, 0)] * (a.ndim - 2)).reshape(
            ((h + 2 * r) * pw,) + a.shape[2:])

    tlab = padded(target_label, np.int32)
    slab = padded(source_label, np.int32)
    sdisp = padded(source_disparity, np.float32)
    scol = padded(source_color, np.float32)
    filled = np.zeros(tlab.size, dtype=bool)
    tdisp = np.zeros(tlab.size, dtype=np.float32) if target_disparity is None else padded(target_disparity, np.float32)
    tcol = np.zeros((tlab.size, 3), dtype=np.float32)
    wdy, wdx, wgt = _window(radius, sigma)
    window = (wdy * pw + wdx)[:, None]  # (k, 1) flat offsets of the window
    weight = wgt[:, None]
    steps = np.array([dy * pw + dx for dy, dx in _NEIGHBOURS])[:, None]  # (4, 1)
    stamp = np.zeros(tlab.size, dtype=np.int64)  # scratch for removing duplicates

    def unique(cells: np.ndarray) -> np.ndarray:
        """The distinct values of ``cells`` (order does not matter: a ring's cells are
        computed independently of each other)."""
        order = np.arange(cells.size)
        stamp[cells] = order
        return cells[stamp[cells] == order]

    def neighbours_of(cells: np.ndarray, want_label: np.ndarray, of_source: bool) -> np.ndarray:
        q = cells[None] + steps  # (4, n)
        if of_source:  # targets next to a source of their label
            ok = slab[q] == want_label[None]
            return unique(np.broadcast_to(cells, q.shape)[ok])
        ok = (tlab[q] == want_label[None]) & ~filled[q]  # unfilled targets of the same label next to new cells
        return unique(q[ok])

    targets = np.nonzero(tlab > 0)[0]
    frontier = neighbours_of(targets, tlab[targets], of_source=True)
    while frontier.size:
        lab = tlab[frontier]
        q = frontier[None] + window  # (k, F)
        t_ok = filled[q] & (tlab[q] == lab)
        s_ok = (slab[q] == lab) & ~t_ok
        vals_d = np.where(t_ok, tdisp[q], sdisp[q])
        wts = np.where(t_ok | s_ok, weight, np.float32(0.0))
        total = wts.sum(0)
        ok = total > 0
        if target_disparity is None:
            new_d = (wts * vals_d).sum(0) / np.maximum(total, 1e-12)
            color_ok = vals_d <= new_d[None] + threshold
        else:
            new_d = tdisp[frontier]
            color_ok = np.abs(vals_d - new_d[None]) <= threshold
        cw = wts * color_ok
        no_match = cw.sum(0) <= 0
        cw[:, no_match] = wts[:, no_match]  # no source on the right surface: take what there is
        vals_c = np.where(t_ok[..., None], tcol[q], scol[q])  # (k, F, 3)
        new_c = (cw[..., None] * vals_c).sum(0) / np.maximum(cw.sum(0), 1e-12)[:, None]
        frontier, lab = frontier[ok], lab[ok]
        tdisp[frontier] = new_d[ok]
        tcol[frontier] = new_c[ok]
        filled[frontier] = True
        frontier = neighbours_of(frontier, lab, of_source=False) if frontier.size else frontier

    def unpadded(a: np.ndarray) -> np.ndarray:
        return a.reshape((h + 2 * r, pw) + a.shape[1:])[r:r + h, r:r + w]

    color = np.clip(unpadded(tcol) + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(unpadded(filled)), np.ascontiguousarray(unpadded(tdisp)), np.ascontiguousarray(color)
