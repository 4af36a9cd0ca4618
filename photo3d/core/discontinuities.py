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
        # in rounds: two fragments that chose each other form a larger island, which then
        # joins its own closest neighbour (a stick in 20 pieces is whole after ~5 rounds)
        for _ in range(ISLAND_ROUNDS):
            before = int(link_right.sum() + link_down.sum())
            link_right, link_down = reattach_islands(d, link_right, link_down, int(config.min_island_size), thr, color)
            if int(link_right.sum() + link_down.sum()) == before:
                break

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
    has_interior = np.bincount(comp.ravel(), weights=~cut_at.ravel(), minlength=sizes.size) > 0
    island = (sizes < min_size) | ~has_interior
    if not island[comp].any():
        return link_right, link_down
    # every cut link as a pair (a, b) of pixels, flat indices, with its kind and position
    idx = np.arange(h * w).reshape(h, w)
    cut_r, cut_d = ~link_right, ~link_down
    a = np.concatenate([idx[:, :-1][cut_r], idx[:-1][cut_d]])
    b = np.concatenate([idx[:, 1:][cut_r], idx[1:][cut_d]])
    flat_c, flat_d = comp.ravel(), disparity.ravel()
    ca, cb = flat_c[a], flat_c[b]
    # each cut seen from its island side(s): (island, other component, island-side minus other disparity)
    own = np.concatenate([ca, cb])
    other = np.concatenate([cb, ca])
    step = np.concatenate([flat_d[a] - flat_d[b], flat_d[b] - flat_d[a]])
    link_id = np.concatenate([np.arange(a.size), np.arange(a.size)])
    keep = island[own] & (own != other)
    if not keep.any():
        return link_right, link_down
    own, other, step, link_id = own[keep], other[keep], step[keep], link_id[keep]
    pair, inverse = np.unique(own.astype(np.int64) * sizes.size + other, return_inverse=True)
    count = np.bincount(inverse)
    if color is not None:
        flat_rgb = color.reshape(-1, 3).astype(np.float32)
        rgb_dist = np.linalg.norm(flat_rgb[a] - flat_rgb[b], axis=1)
        mean_rgb = np.bincount(inverse, np.concatenate([rgb_dist, rgb_dist])[keep]) / count
    else:
        mean_rgb = np.zeros(pair.size)
    mean_jump = np.bincount(inverse, np.abs(step)) / count + threshold * mean_rgb / SLIVER_COLOR_STEP
    mean_step = np.bincount(inverse, step) / count
    pair_own = pair // sizes.size
    # the closest neighbour of each island: sort by island, then by mean jump; first per island
    order = np.lexsort((mean_jump, pair_own))
    first = order[np.r_[True, pair_own[order][1:] != pair_own[order][:-1]]]
    chosen = np.zeros(pair.size, dtype=bool)
    # a real structure keeps its cuts: its depth edge lies on a colour edge (or, without the
    # photo, it is farther than its closest neighbour: a background patch seen through a gap)
    big = sizes[pair_own[first]] >= MIN_KEPT_ISLAND
    if color is not None:
        kept = big & (mean_rgb[first] >= KEPT_ISLAND_COLOR)
    else:
        kept = big & (mean_step[first] < 0)
    chosen[first[~kept]] = True
    restore = np.unique(link_id[chosen[inverse]])
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
