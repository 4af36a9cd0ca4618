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
    tlab = target_label.reshape(-1)
    slab = source_label.reshape(-1)
    sdisp = source_disparity.reshape(-1).astype(np.float32)
    scol = source_color.reshape(-1, 3).astype(np.float32)
    filled = np.zeros(h * w, dtype=bool)
    tdisp = np.zeros(h * w, dtype=np.float32) if target_disparity is None else target_disparity.reshape(-1).astype(np.float32)
    tcol = np.zeros((h * w, 3), dtype=np.float32)
    wdy, wdx, wgt = _window(radius, sigma)

    def neighbours_of(cells: np.ndarray, want_label: np.ndarray, of_source: bool) -> np.ndarray:
        ys, xs = np.divmod(cells, w)
        found = []
        for dy, dx in _NEIGHBOURS:
            qy, qx = ys + dy, xs + dx
            inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            q = np.where(inside, qy * w + qx, 0)
            if of_source:  # targets next to a source of their label
                ok = inside & (slab[q] == want_label)
                found.append(cells[ok])
            else:  # unfilled targets of the same label next to new cells
                ok = inside & (tlab[q] == want_label) & ~filled[q]
                found.append(q[ok])
        return np.unique(np.concatenate(found)) if found else cells[:0]

    targets = np.nonzero(tlab > 0)[0]
    frontier = neighbours_of(targets, tlab[targets], of_source=True)
    while frontier.size:
        fy, fx = np.divmod(frontier, w)
        lab = tlab[frontier]
        k = wdy.size
        vals_d = np.zeros((k, frontier.size), dtype=np.float32)
        wts = np.zeros((k, frontier.size), dtype=np.float32)
        qs = np.zeros((k, frontier.size), dtype=np.int64)
        from_t = np.zeros((k, frontier.size), dtype=bool)
        for i in range(k):
            qy, qx = fy + wdy[i], fx + wdx[i]
            inside = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            q = np.where(inside, qy * w + qx, 0)
            t_ok = inside & filled[q] & (tlab[q] == lab)
            s_ok = inside & (slab[q] == lab) & ~t_ok
            qs[i], from_t[i] = q, t_ok
            vals_d[i] = np.where(t_ok, tdisp[q], sdisp[q])
            wts[i] = np.where(t_ok | s_ok, wgt[i], 0.0)
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
        vals_c = np.where(from_t[..., None], tcol[qs], scol[qs])  # (k, F, 3)
        new_c = (cw[..., None] * vals_c).sum(0) / np.maximum(cw.sum(0), 1e-12)[:, None]
        frontier, lab = frontier[ok], lab[ok]
        tdisp[frontier] = new_d[ok]
        tcol[frontier] = new_c[ok]
        filled[frontier] = True
        frontier = neighbours_of(frontier, lab, of_source=False) if frontier.size else frontier
    color = np.clip(tcol + 0.5, 0, 255).astype(np.uint8).reshape(h, w, 3)
    return filled.reshape(h, w), tdisp.reshape(h, w), color
