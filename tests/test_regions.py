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


def test_synthesis_does_not_grow_from_the_photo_into_the_border_band():
    """A near surface that reaches the right border, its cut 6 px inside the photo: the
    background continued behind it from that cut stops at the photo's edge. Grown on into
    the band it went on behind the band's front to the canvas's outer edge and, on big moves,
    peeked out past it as a bar of the context's colour (Reindeer's dark bar, painted from a
    cushion far inside the photo); behind the band only the band's own cuts start a layer."""
    from scenes import small_config

    from photo3d.pipeline import build_regions

    h, w = 96, 64
    image = np.zeros((h, w, 3), np.uint8)
    image[:] = (30, 30, 30)
    image[:, w - 6:] = (200, 180, 120)
    depth = np.full((h, w), 4.0, np.float32)
    depth[:, w - 6:] = 2.0
    config = small_config(background_thickness=20, extrapolation_thickness=8)
    sc = build_regions(image, depth, config, kind="depth")
    pad = sc.canvas.pad
    synthesis = sc.regions.synthesis_label
    middle = slice(pad + h // 2 - 8, pad + h // 2 + 8)  # rows far from the top and bottom bands
    assert (synthesis[middle, pad + w - 6: pad + w] > 0).all()  # behind the surface in the photo
    assert not synthesis[middle, pad + w:].any()  # not behind the band beside it
