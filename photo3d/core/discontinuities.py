"""Depth discontinuities: links between neighbouring pixels are cut where the detection
disparity jumps; short edge fragments are healed, small islands re-attached, and the
far-side edge pixels grouped into segments (one context/synthesis region each).
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..config import EdgesConfig
from .data import Discontinuities


def _edge_sides(detect: np.ndarray, link_right: np.ndarray, link_down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    near = np.zeros(detect.shape, dtype=bool)
    far = np.zeros(detect.shape, dtype=bool)
    cut_r = ~link_right
    left_nearer = detect[:, :-1] > detect[:, 1:]
    near[:, :-1] |= cut_r & left_nearer
    far[:, 1:] |= cut_r & left_nearer
    near[:, 1:] |= cut_r & ~left_nearer
    far[:, :-1] |= cut_r & ~left_nearer
    cut_d = ~link_down
    up_nearer = detect[:-1] > detect[1:]
    near[:-1] |= cut_d & up_nearer
    far[1:] |= cut_d & up_nearer
    near[1:] |= cut_d & ~up_nearer
    far[:-1] |= cut_d & ~up_nearer
    return near, far


def pixel_components(link_right: np.ndarray, link_down: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the pixel grid through the kept links. Returns (count, (H, W) labels)."""
    h, w = link_down.shape[0] + 1, link_right.shape[1] + 1
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1][link_right], idx[:-1][link_down]])
    cols = np.concatenate([idx[:, 1:][link_right], idx[1:][link_down]])
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(h * w, h * w))
    count, labels = connected_components(graph, directed=False)
    return count, labels.reshape(h, w)


def detect_discontinuities(detect_disparity: np.ndarray, config: EdgesConfig,
                           color: np.ndarray | None = None) -> Discontinuities:
    """Cut links where disparity jumps by more than ``depth_threshold``; heal short edge
    fragments (fewer than ``min_edge_length`` cut links) and re-attach pixel islands smaller
    than ``min_island_size`` to their closest neighbour (:func:`reattach_islands`); group
    far-side edge pixels into segments. ``color`` ((H, W, 3) uint8, the photo on the same
    grid) settles which neighbour a 1-2 px sliver of mixed depth joins.
    """
    thr = float(config.depth_threshold)
    d = detect_disparity
    link_right = np.abs(d[:, 1:] - d[:, :-1]) <= thr
    link_down = np.abs(d[1:] - d[:-1]) <= thr

    # Short fragments: components (8-connected) of pixels touching a cut link.
    touched = np.zeros(d.shape, dtype=bool)
    touched[:, :-1] |= ~link_right
    touched[:, 1:] |= ~link_right
    touched[:-1] |= ~link_down
    touched[1:] |= ~link_down
    if touched.any():
        n, lab, stats, _ = cv2.connectedComponentsWithStats(touched.astype(np.uint8), connectivity=8)
        # a fragment of L cut links touches about 2L pixels
        small = stats[:, cv2.CC_STAT_AREA] < 2 * int(config.min_edge_length)
        small[0] = False
        heal = small[lab]
        link_right |= heal[:, :-1] & heal[:, 1:]
        link_down |= heal[:-1] & heal[1:]

    # Floating islands: pixel components too small to stand on their own are re-attached,
    # each to its one closest neighbour (see reattach_islands).
    if int(config.min_island_size) > 1 and not (link_right.all() and link_down.all()):
        link_right, link_down = reattach_islands(d, link_right, link_down, int(config.min_island_size), thr, color)

    near, far = _edge_sides(d, link_right, link_down)
    num, seg = edge_segments(far, d, thr)
    return Discontinuities(link_right, link_down, near, far, seg, num)


# Islands (and slivers) of at least this many pixels whose cuts lie on a colour edge are real
# structures and keep their cuts; smaller ones would be mesh dust (issue 9: no piece under 10
# vertices) and are always re-attached.
MIN_KEPT_ISLAND = 10
# Mean colour distance (RGB, grey levels) across an island's cuts to its closest neighbour
# from which the cuts count as lying on a colour edge.
KEPT_ISLAND_COLOR = 20.0
# Grey levels of colour distance across a cut that weigh like one cut threshold of disparity
# jump when choosing the neighbour a sliver or island joins.
SLIVER_COLOR_STEP = 10.0
# Rounds of re-attachment at most (each round at least halves the islands left).
ISLAND_ROUNDS = 8


def reattach_islands(disparity: np.ndarray, link_right: np.ndarray, link_down: np.ndarray,
                     min_size: int, threshold: float,
                     color: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Re-attach pixel islands (components through the kept links) under ``min_size`` pixels,
    and slivers (components without an interior pixel, i.e. 1-2 px wide: a column of mixed
    depth between a thin structure and the wall, or a thin structure split lengthwise).

    Each is linked back only to its *closest* neighbouring component: the one whose cut links
    to it have the smallest mean disparity jump, plus ``threshold`` for every
    ``SLIVER_COLOR_STEP`` grey levels of mean colour distance across them (so a bar-coloured
    sliver joins the bar, not the wall, when both jumps are alike); its cuts to every other
    component stay. Re-linking every cut of an island (as photo3d did before) stretched
    triangles from the island to all its surroundings: fragments of a brush stick got "ladder
    rungs" to the wall behind, and a patch of wall seen between two sticks was pulled onto
    both.

    An island of ``MIN_KEPT_ISLAND`` pixels or more whose cuts to that closest neighbour lie on
    a colour edge (mean colour distance across them ``KEPT_ISLAND_COLOR`` or more) is a real
    structure (a thin frame, a patch of wall seen through a gap) and is not re-attached at all;
    islands whose depth jumps have no colour edge (depth noise) are. Without ``color``, an
    island farther than its closest neighbour is the one kept.

    Args:
        disparity: (H, W) detection disparity; link_right (H, W-1), link_down (H-1, W) bool;
        min_size: islands are components under this many pixels; threshold: the cut threshold;
        color: (H, W, 3) uint8 or None (disparity alone decides).
    Returns:
        (link_right, link_down) with the restored links set.
    """
    _, comp = pixel_components(link_right, link_down)
    sizes = np.bincount(comp.ravel())
    h, w = disparity.shape
    # a pixel is interior when none of its in-image links is cut
    cut_at = np.zeros((h, w), dtype=bool)
    cut_at[:, :-1] |= ~link_right
    cut_at[:, 1:] |= ~link_right
    cut_at[:-1] |= ~link_down
    cut_at[1:] |= ~link_down
    interior = np.bincount(comp.ravel(), weights=~cut_at.ravel(), minlength=sizes.size)
    if not ((sizes < min_size) | (interior == 0)).any():
        return link_right, link_down
    # every cut link as a pair (a, b) of pixels (flat indices), right cuts first
    idx = np.arange(h * w).reshape(h, w)
    cut_r, cut_d = ~link_right, ~link_down
    a = np.concatenate([idx[:, :-1][cut_r], idx[:-1][cut_d]])
    b = np.concatenate([idx[:, 1:][cut_r], idx[1:][cut_d]])
    flat_c = comp.ravel()
    ca, cb = flat_c[a], flat_c[b]
    inner = ca != cb  # cuts inside one component stay
    a, b, ca, cb = a[inner], b[inner], ca[inner], cb[inner]
    flat_d = disparity.ravel()
    step = flat_d[a] - flat_d[b]  # a's side minus b's
    rgb = (np.linalg.norm(color.reshape(-1, 3)[a].astype(np.float32) - color.reshape(-1, 3)[b], axis=1)
           if color is not None else np.zeros(a.size))
    link_index = np.nonzero(inner)[0]
    # Per pair of neighbouring components: cut count and sums, each pair once (lo < hi).
    lo, hi = np.minimum(ca, cb), np.maximum(ca, cb)
    sign = np.where(ca == lo, 1.0, -1.0)  # step from lo's side
    pair, inverse = np.unique(lo.astype(np.int64) * sizes.size + hi, return_inverse=True)
    count = np.bincount(inverse).astype(np.float64)
    sum_jump = np.bincount(inverse, np.abs(step))
    sum_step = np.bincount(inverse, sign * step)
    sum_rgb = np.bincount(inverse, rgb)
    p_lo, p_hi = pair // sizes.size, pair % sizes.size
    # Rounds on the graph of components: a group (components joined so far) that is still an
    # island or sliver joins the neighbouring group it is closest to. Two fragments that chose
    # each other form a larger island, which joins its own closest neighbour next round (a
    # stick in 20 pieces is whole after ~5 rounds).
    group = np.arange(sizes.size)
    restored = np.zeros(pair.size, dtype=bool)
    for _ in range(ISLAND_ROUNDS):
        g_size = np.bincount(group, weights=sizes)
        g_interior = np.bincount(group, weights=interior)
        g_island = (g_size < min_size) | (g_interior == 0)
        g1, g2 = group[p_lo], group[p_hi]
        glo, ghi = np.minimum(g1, g2), np.maximum(g1, g2)
        flip = np.where(g1 == glo, 1.0, -1.0)  # sum_step is from p_lo's side
        between = glo != ghi
        if not (between & (g_island[glo] | g_island[ghi])).any():
            break
        # pair statistics between groups, seen from each side: (own, other, ...)
        gkey, ginv = np.unique(glo[between].astype(np.int64) * sizes.size + ghi[between], return_inverse=True)
        cnt = np.bincount(ginv, count[between])
        jump = np.bincount(ginv, sum_jump[between]) / cnt
        stp = np.bincount(ginv, (flip * sum_step)[between]) / cnt  # lower group's side minus the other's
        col = np.bincount(ginv, sum_rgb[between]) / cnt
        k_lo, k_hi = gkey // sizes.size, gkey % sizes.size
        own = np.concatenate([k_lo, k_hi])
        other = np.concatenate([k_hi, k_lo])
        own_step = np.concatenate([stp, -stp])
        score = np.concatenate([jump, jump]) + threshold * np.concatenate([col, col]) / SLIVER_COLOR_STEP
        colour = np.concatenate([col, col])
        which = np.concatenate([np.arange(gkey.size), np.arange(gkey.size)])
        sel = g_island[own]
        own, other, own_step, score, colour, which = (x[sel] for x in (own, other, own_step, score, colour, which))
        order = np.lexsort((score, own))
        first = order[np.r_[True, own[order][1:] != own[order][:-1]]]
        # a real structure keeps its cuts: its depth edge lies on a colour edge (or, without
        # the photo, it is farther than its closest neighbour: a patch seen through a gap)
        big = g_size[own[first]] >= MIN_KEPT_ISLAND
        kept = big & ((colour[first] >= KEPT_ISLAND_COLOR) if color is not None else (own_step[first] < 0))
        joins = first[~kept]
        if joins.size == 0:
            break
        chosen = np.zeros(gkey.size, dtype=bool)
        chosen[which[joins]] = True
        # restore every cut between the two groups of a chosen pair
        restored |= np.isin(glo.astype(np.int64) * sizes.size + ghi, gkey[chosen]) & between
        # merge the groups (components of the chosen group pairs)
        jl, jh = k_lo[chosen], k_hi[chosen]
        graph = coo_matrix((np.ones(jl.size, dtype=np.int8), (jl, jh)), shape=(sizes.size, sizes.size))
        _, merged = connected_components(graph, directed=False)
        group = merged[group]
    restore = link_index[restored[inverse]]
    n_right = int(cut_r.sum())
    right_ids, down_ids = restore[restore < n_right], restore[restore >= n_right] - n_right
    link_right, link_down = link_right.copy(), link_down.copy()
    ry, rx = np.nonzero(cut_r)
    link_right[ry[right_ids], rx[right_ids]] = True
    dy, dx = np.nonzero(cut_d)
    link_down[dy[down_ids], dx[down_ids]] = True
    return link_right, link_down


def edge_segments(far: np.ndarray, disparity: np.ndarray, threshold: float) -> tuple[int, np.ndarray]:
    """Group far-side edge pixels into segments: 8-connected runs on one surface.

    Two far pixels join when they are 8-neighbours and their disparities differ by at most
    ``threshold``; so the background of a thin middle layer and the background behind it
    stay separate segments (each gets its own context and synthesis region).
    Returns (S, (H, W) int32 labels 1..S, 0 elsewhere).
    """
    h, w = far.shape
    idx = np.full((h, w), -1, dtype=np.int64)
    ys, xs = np.nonzero(far)
    idx[ys, xs] = np.arange(ys.size)
    rows, cols = [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = idx[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        da = disparity[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        db = disparity[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
        b = idx[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
        ok = (a >= 0) & (b >= 0) & (np.abs(da - db) <= threshold)
        rows.append(a[ok])
        cols.append(b[ok])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(ys.size, ys.size))
    num, comp = connected_components(graph, directed=False)
    labels = np.zeros((h, w), dtype=np.int32)
    labels[ys, xs] = comp + 1
    return int(num), labels
