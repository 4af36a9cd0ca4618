"""photo3d.inpaint.fill (the non-learned inpainter): the revealed background lies behind
the foreground, continues the background plane and takes no foreground colour."""
from __future__ import annotations

import numpy as np


def test_synthesized_pixels_lie_only_behind_the_foreground(square_build):
    sc, fg = square_build
    pad = sc.canvas.pad
    syn = sc.fill.mask
    assert syn.sum() > 50
    ys, xs = np.nonzero(syn)
    # behind the front surface at the same position
    assert (sc.fill.disparity[ys, xs] < sc.canvas.detect_disparity[ys, xs]).all()
    # inside the image they are under the foreground square (or its 1-px rim)
    inside = sc.canvas.image_mask[ys, xs]
    fg_canvas = np.zeros(sc.canvas.shape, bool)
    fg_canvas[pad : pad + fg.shape[0], pad : pad + fg.shape[1]] = fg
    assert fg_canvas[ys[inside], xs[inside]].all()
    # and their depth continues the background plane (z = 4), not the foreground (z = 2)
    np.testing.assert_allclose(sc.fill.depth[syn], 4.0, rtol=0.02)


def test_foreground_colour_never_bleeds_into_the_revealed_background(square_build):
    sc, _ = square_build
    colors = sc.fill.color[sc.fill.mask].astype(int)
    # the background is blue-green (R ~ 40), the foreground red (R ~ 220)
    assert colors[:, 0].max() < 110, colors[:, 0].max()
