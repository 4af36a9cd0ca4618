"""photo3d.core.ldi: the layered depth image's links (symmetric, between neighbours) and
its layers, on the square scene."""
from __future__ import annotations

import numpy as np


def test_ldi_links_are_symmetric_and_join_neighbours(square_build):
    sc, _ = square_build
    sc.ldi.check_links()
    assert sc.ldi.layer.max() == 1  # one inpainted layer
    order, offsets = sc.ldi.position_index()
    stacked = np.diff(offsets)
    assert stacked.min() >= 1 and stacked.max() == 2
    # front to back at each position
    multi = np.nonzero(stacked == 2)[0]
    first, second = order[offsets[multi]], order[offsets[multi] + 1]
    assert (sc.ldi.depth[first] < sc.ldi.depth[second]).all()


def test_ldi_to_networkx_matches_links(square_build):
    sc, _ = square_build
    g = sc.ldi.to_networkx(20, 20, 40, 40)
    for p, q in list(g.edges)[:200]:
        assert q in sc.ldi.links[p]
