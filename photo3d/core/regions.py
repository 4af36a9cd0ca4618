"""Context and synthesis regions per discontinuity segment (the paper's core idea).

For every segment (a connected run of far-side edge pixels):
* the *context region* is a band of known background pixels reached from the segment's
  far side through front-layer links (so it never crosses a discontinuity into the
  foreground), ``context_thickness`` steps deep;
* the *synthesis region* is a band of canvas positions reached from the near side of the
  segment's cut links, stepping across the foreground surface (or onto even nearer
  surfaces, never onto farther ones), ``background_thickness`` steps deep: the places where
  the background must continue behind the foreground.
Regions of different segments do not overlap: a position belongs to the nearest segment.
A synthesis region does not grow from the photo into the canvas band (the border
extension); only cuts in the band start one there.
The first ``context_margin`` rings of each context (the far-side pixels next to the cut,
which mix foreground and background colour) are taken out of it as the segment's *margin*
(the reference's ``erode_context``): inpainters re-paint them instead of copying them.
All flood fills are frontier expansions over link arrays (vectorised, no per-pixel loop).
"""
from __future__ import annotations

import numpy as np

from ..config import RegionsConfig
from .data import LDI, STEP_X, STEP_Y, Discontinuities, Regions


def grow_labels(
    neighbors: np.ndarray,
    seeds: np.ndarray,
    seed_labels: np.ndarray,
    steps: int,
    labels: np.ndarray | None = None,
    blocked: np.ndarray | None = None,
) -> np.ndarray:
    """Multi-source breadth-first growth of labels over a graph given as a neighbour array.

    Args:
        neighbors: (N, K) int, neighbour indices or -1.
        seeds: (S,) node indices; seed_labels: (S,) positive labels.
        steps: number of expansion rounds.
        labels: (N,) int32 to grow into (0 = free); created when None.
        blocked: (N,) int32; a node is not entered by label l where ``blocked == l``.
    Returns:
        (N,) int32 labels; a node takes the label that reaches it first.
    """
    n = neighbors.shape[0]
    labels = np.zeros(n, dtype=np.int32) if labels is None else labels
    free = labels[seeds] == 0
    seeds, seed_labels = seeds[free], seed_labels[free]
    uniq, first = np.unique(seeds, return_index=True)
    labels[uniq] = seed_labels[first]
    frontier = uniq
    for _ in range(int(steps)):
        if frontier.size == 0:
            break
        cand = neighbors[frontier].reshape(-1)
        lab = np.repeat(labels[frontier], neighbors.shape[1])
        ok = cand >= 0
        cand, lab = cand[ok], lab[ok]
        ok = labels[cand] == 0
        if blocked is not None:
            ok &= blocked[cand] != lab
        cand, lab = cand[ok], lab[ok]
        frontier, first = np.unique(cand, return_index=True)
        labels[frontier] = lab[first]
    return labels


def synthesis_neighbors(ldi: LDI, threshold: float) -> np.ndarray:
    """(H*W, 4) neighbour array over canvas positions for growing synthesis regions.

    From position p one may step to a 4-neighbour q when the front-layer pixels are linked
    (same surface) or q is nearer than p by more than ``threshold`` (another occluder in
    front): never onto a farther surface, which is background that is already visible.
    """
    h, w = ldi.shape
    n = h * w
    front_links = ldi.links[:n]
    disp = ldi.disparity[:n]
    pos = np.arange(n)
    px, py = pos % w, pos // w
    out = np.full((n, 4), -1, dtype=np.int64)
    for d in range(4):
        qx, qy = px + STEP_X[d], py + STEP_Y[d]
        inside = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h)
        q = np.where(inside, qy * w + qx, 0)
        ok = inside & ((front_links[:, d] >= 0) | (disp[q] > disp + threshold))
        out[:, d] = np.where(ok, q, -1)
    return out


def find_regions(ldi: LDI, disc: Discontinuities, config: RegionsConfig, depth_threshold: float) -> Regions:
    """Context and synthesis regions of every discontinuity segment (see module docs)."""
    h, w = ldi.shape
    n = h * w
    seg = disc.segment.reshape(-1)

    # Context: from the far-side edge pixels through front-layer links.
    far = np.nonzero(seg > 0)[0]
    context = grow_labels(ldi.links[:n], far, seg[far], int(config.context_thickness))
    # The margin: the first context_margin rings of the context (the far-edge pixels first)
    margin_steps = min(int(config.context_margin), int(config.context_thickness))
    if margin_steps > 0:
        margin = grow_labels(ldi.links[:n], far, seg[far], margin_steps - 1)
    else:
        margin = np.zeros(n, dtype=np.int32)

    # Synthesis seeds: the near pixel of every cut link whose far pixel has a segment.
    seeds, seed_labels = [], []
    for d in range(4):
        pos = np.arange(n)
        qx, qy = pos % w + STEP_X[d], pos // w + STEP_Y[d]
        inside = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h)
        q = np.where(inside, qy * w + qx, 0)
        cut = inside & (ldi.links[:n, d] < 0) & (seg[q] > 0) & (ldi.disparity[:n] > ldi.disparity[q])
        seeds.append(pos[cut])
        seed_labels.append(seg[q[cut]])
    seeds = np.concatenate(seeds)
    seed_labels = np.concatenate(seed_labels)
    nbrs = synthesis_neighbors(ldi, float(depth_threshold))
    # Behind the canvas band only what a cut in the band starts (a near object ending
    # there): grown in from the photo, a layer went on behind the band's front to its outer
    # edge and, on big moves, peeked out past it (Reindeer's dark bar, painted from a
    # cushion far inside the photo)
    if ldi.pad > 0:
        pos = np.arange(n)
        px, py = pos % w, pos // w
        band = (px < ldi.pad) | (px >= w - ldi.pad) | (py < ldi.pad) | (py >= h - ldi.pad)
        nbrs = np.where(~band[:, None] & band[np.maximum(nbrs, 0)] & (nbrs >= 0), -1, nbrs)
    synthesis = grow_labels(
        nbrs, seeds, seed_labels, max(int(config.background_thickness) - 1, 0), blocked=context
    )
    synthesis[synthesis == context] = 0  # a seed that is its own context (edge ends)

    context_source = np.where(margin > 0, 0, context).astype(np.int32)
    return Regions(context_source.reshape(h, w), synthesis.reshape(h, w), int(disc.num_segments),
                   margin.reshape(h, w).astype(np.int32))
