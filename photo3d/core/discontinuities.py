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


def detect_discontinuities(detect_disparity: np.ndarray, config: EdgesConfig) -> Discontinuities:
    """Cut links where disparity jumps by more than ``depth_threshold``; heal short edge
    fragments (fewer than ``min_edge_length`` cut links) and re-attach pixel islands smaller
    than ``min_island_size``; group far-side edge pixels into segments.
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

    # Floating islands: pixel components too small to stand on their own are re-attached.
    if int(config.min_island_size) > 1 and not (link_right.all() and link_down.all()):
        _, comp = pixel_components(link_right, link_down)
        sizes = np.bincount(comp.ravel())
        island = sizes[comp] < int(config.min_island_size)
        if island.any():
            link_right |= island[:, :-1] | island[:, 1:]
            link_down |= island[:-1] | island[1:]

    near, far = _edge_sides(d, link_right, link_down)
    num, seg = edge_segments(far, d, thr)
    return Discontinuities(link_right, link_down, near, far, seg, num)


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
