"""photo3d.core.discontinuities: links cut at depth steps, short fragments healed, small
islands re-attached."""
from __future__ import annotations

import numpy as np

from photo3d.config import EdgesConfig
from photo3d.core.discontinuities import detect_discontinuities


def test_links_are_cut_exactly_at_the_depth_step():
    disp = np.full((20, 30), 0.5, np.float32)
    disp[5:15, 10:20] = 2.0
    disc = detect_discontinuities(disp, EdgesConfig(min_edge_length=2, min_island_size=2))
    cut_r = ~disc.link_right
    expected = np.zeros_like(cut_r)
    expected[5:15, 9] = True
    expected[5:15, 19] = True
    assert np.array_equal(cut_r, expected)
    assert disc.near_edge[5:15, 10].all() and disc.far_edge[5:15, 9].all()
    assert disc.num_segments >= 1


def test_short_fragments_are_healed_and_small_islands_reattached():
    disp = np.full((40, 40), 0.5, np.float32)
    disp[5, 5] = 2.0  # a one-pixel spike: an isolated fragment
    disp[20:30, 20:30] = 2.0  # a real object (100 px)
    disc = detect_discontinuities(disp, EdgesConfig(min_edge_length=3, min_island_size=50))
    assert disc.link_right[5, 4] and disc.link_right[5, 5]
    assert not disc.link_right[25, 19]  # the object's edge stays cut
    disc2 = detect_discontinuities(disp, EdgesConfig(min_edge_length=3, min_island_size=150))
    assert disc2.link_right[25, 19]  # now the object is an island smaller than 150 px: re-attached
