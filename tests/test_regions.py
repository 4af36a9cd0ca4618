"""photo3d.core.regions: context and synthesis regions per discontinuity segment."""
from __future__ import annotations

import numpy as np

from photo3d.core.regions import grow_labels


def test_context_regions_never_cross_a_discontinuity(square_build):
    sc, fg = square_build
    ctx = sc.regions.context_label > 0
    # no context pixel is on the foreground (as the prepared depth has it)
    fg_canvas = sc.canvas.detect_disparity > 1.5
    assert ctx.sum() > 100 and fg_canvas.sum() > 100
    assert not (ctx & fg_canvas).any()
    # regions of one segment are disjoint from synthesis positions of the same segment
    same = (sc.regions.context_label == sc.regions.synthesis_label) & (sc.regions.context_label > 0)
    assert not same.any()


def test_grow_labels_respects_steps_and_blocking():
    # a path graph 0-1-2-...-9
    n = 10
    nb = np.full((n, 2), -1)
    nb[1:, 0] = np.arange(n - 1)
    nb[:-1, 1] = np.arange(1, n)
    lab = grow_labels(nb, np.array([0, 9]), np.array([1, 2]), steps=3)
    assert lab.tolist() == [1, 1, 1, 1, 0, 0, 2, 2, 2, 2]
    blocked = np.zeros(n, np.int32)
    blocked[2] = 1
    lab = grow_labels(nb, np.array([0]), np.array([1]), steps=5, blocked=blocked)
    assert lab.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
