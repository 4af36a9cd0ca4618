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
With ``regions.thin_context`` (off by default), a segment whose far side is a thin middle
layer (a rope between the foreground and the wall) starts its synthesis late, so the surface
behind that layer, grown in across it, takes the positions it reaches.
A synthesis region does not grow from the photo into the canvas band (the border
extension); only cuts in the band start one there.
The first ``context_margin`` rings of each context (the far-side pixels next to the cut,
which mix foreground and background colour) are taken out of it as the segment's *margin*
(the reference's ``erode_context``): inpainters re-paint them instead of copying them.
All flood fills are frontier expansions over link arrays (vectorised, no per-pixel loop).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..config import RegionsConfig
from .data import LDI, STEP_X, STEP_Y, Discontinuities, Regions

# Seeds within this many pixels (a box) vote on whether a cut's far side is a thin layer.
THIN_VOTE_PX = 3


def grow_labels(
    neighbors: np.ndarray,
    seeds: np.ndarray,
    seed_labels: np.ndarray,
    steps: int,
    labels: np.ndarray | None = None,
    blocked: np.ndarray | None = None,
    delays: np.ndarray | None = None,
) -> np.ndarray:
    """Multi-source breadth-first growth of labels over a graph given as a neighbour array.

    Args:
        neighbors: (N, K) int, neighbour indices or -1.
        seeds: (S,) node indices; seed_labels: (S,) positive labels.
        steps: number of expansion rounds.
        labels: (N,) int32 to grow into (0 = free); created when None.
        blocked: (N,) int32; a node is not entered by label l where ``blocked == l``.
        delays: (S,) int, rounds each seed waits before it is placed (0 = at once); a seed
            whose node another label reached first is dropped. Every seed still grows
            ``steps`` rounds from its own start.
    Returns:
        (N,) int32 labels; a node takes the label that reaches it first.
    """
    n, k = neighbors.shape
    labels = np.zeros(n, dtype=np.int32) if labels is None else labels
    delays = np.zeros(len(seeds), np.int64) if delays is None else np.asarray(delays, dtype=np.int64)
    steps = int(steps)
    # each frontier node carries the rounds its label may still grow from it (a late seed
    # grows its ``steps`` rounds from its own start)
    frontier = np.zeros(0, dtype=np.int64)
    left = np.zeros(0, dtype=np.int64)
    last = (int(delays.max()) if delays.size else 0) + steps
    for r in range(last + 1):
        start = delays == r
        if start.any():
            new, new_lab = seeds[start], seed_labels[start]
            free = labels[new] == 0
            new, first = np.unique(new[free], return_index=True)
            labels[new] = new_lab[free][first]
            frontier = np.concatenate([frontier, new])
            left = np.concatenate([left, np.full(new.size, steps, dtype=np.int64)])
        if r == last:
            break
        go = left > 0
        frontier, left = frontier[go], left[go]
        if frontier.size == 0:
            if (delays > r).any():  # seeds still to come
                continue
            break
        cand = neighbors[frontier].reshape(-1)
        lab = np.repeat(labels[frontier], k)
        lft = np.repeat(left - 1, k)
        ok = cand >= 0
        cand, lab, lft = cand[ok], lab[ok], lft[ok]
        ok = labels[cand] == 0
        if blocked is not None:
            ok &= blocked[cand] != lab
        cand, lab, lft = cand[ok], lab[ok], lft[ok]
        frontier, first = np.unique(cand, return_index=True)
        labels[frontier] = lab[first]
        left = lft[first]
    return labels


def thin_far_sides(ldi: LDI, near: np.ndarray, direction: int, threshold: float, width: int) -> np.ndarray:
    """Which cuts have a *thin middle layer* on their far side: walking on from the far pixel
    in the cut's direction (near -> far) over front-layer links, another cut down to a farther
    surface comes within ``width`` pixels (a rope or a stick seen between the foreground and the
    wall behind it, crossed across its width).

    Args:
        near: (M,) canvas positions of the near pixels of cuts in ``direction`` (0..3, see
            ``STEP_X``), whose far neighbour is inside the canvas.
    Returns:
        (M,) bool.
    """
    h, w = ldi.shape
    n = h * w
    links = ldi.links[:n, direction]
    disp = ldi.disparity[:n]
    step = int(STEP_Y[direction]) * w + int(STEP_X[direction])
    at = near + step  # the far pixel
    thin = np.zeros(near.size, dtype=bool)
    alive = np.ones(near.size, dtype=bool)
    for _ in range(int(width)):
        nxt = links[at]
        linked = alive & (nxt >= 0)
        ax, ay = at % w + STEP_X[direction], at // w + STEP_Y[direction]
        inside = (ax >= 0) & (ax < w) & (ay >= 0) & (ay < h)
        beyond = np.where(inside, at + step, 0)
        thin |= alive & ~linked & inside & (disp[beyond] < disp[at] - threshold)
        alive = linked
        if not alive.any():
            break
        at = np.where(alive, nxt, at)
    return thin


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
    seeds, seed_labels, thin = [], [], []
    thin_px = int(config.thin_context)
    for d in range(4):
        pos = np.arange(n)
        qx, qy = pos % w + STEP_X[d], pos // w + STEP_Y[d]
        inside = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h)
        q = np.where(inside, qy * w + qx, 0)
        cut = inside & (ldi.links[:n, d] < 0) & (seg[q] > 0) & (ldi.disparity[:n] > ldi.disparity[q])
        seeds.append(pos[cut])
        seed_labels.append(seg[q[cut]])
        thin.append(thin_far_sides(ldi, pos[cut], d, float(depth_threshold), thin_px) if thin_px > 0
                    else np.zeros(int(cut.sum()), dtype=bool))
    seeds = np.concatenate(seeds)
    seed_labels = np.concatenate(seed_labels)
    # A thin middle layer (a rope between the foreground and the wall) is a poor guess for
    # what lies behind the foreground: its seeds start late, so the surface behind the thin
    # layer, growing in across it from the thin layer's own far cut, takes those positions
    # where it reaches them (Reindeer's rope was painted behind the leg and the head)
    thin = np.concatenate(thin)
    if thin.any():
        # the layer's width is measured along the cut's axis, and a staircase edge cuts along
        # both axes (a vertical rope beside a slanted edge is long along its vertical cuts): a
        # seed is delayed where most seeds within THIN_VOTE_PX of it are thin
        votes = np.zeros((2, h, w), dtype=np.float32)
        np.add.at(votes[0].reshape(-1), seeds, 1.0)
        np.add.at(votes[1].reshape(-1), seeds[thin], 1.0)
        size = 2 * THIN_VOTE_PX + 1
        box = [cv2.boxFilter(v, -1, (size, size), normalize=False) for v in votes]
        thin = (box[1].reshape(-1)[seeds] >= 0.5 * box[0].reshape(-1)[seeds])
    delays = np.where(thin, thin_px + 1, 0)
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
        nbrs, seeds, seed_labels, max(int(config.background_thickness) - 1, 0), blocked=context, delays=delays
    )
    synthesis[synthesis == context] = 0  # a seed that is its own context (edge ends)

    context_source = np.where(margin > 0, 0, context).astype(np.int32)
    return Regions(context_source.reshape(h, w), synthesis.reshape(h, w), int(disc.num_segments),
                   margin.reshape(h, w).astype(np.int32))
