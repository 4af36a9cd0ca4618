"""photo3d.core.canvas: the padded canvas and the border extension (the band's colour comes
from the image pixels on the same surface)."""
from __future__ import annotations

import numpy as np

from photo3d.core.canvas import fill_border, make_canvas
from photo3d.core.data import Intrinsics, PreparedRGBD


def prepared_step(h: int = 20, w: int = 30) -> PreparedRGBD:
    """Left half near (red, disparity 2), right half far (blue, disparity 0.5)."""
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (200, 20, 20)
    image[:, w // 2 :] = (20, 20, 200)
    disparity = np.full((h, w), 0.5, np.float32)
    disparity[:, : w // 2] = 2.0
    return PreparedRGBD(image, 1 / disparity, disparity, Intrinsics.default(w, h), center_depth=2.0)


def test_canvas_pads_every_array_and_shifts_the_principal_point():
    prepared = prepared_step()
    canvas = make_canvas(prepared, 5)
    assert canvas.shape == (30, 40) and canvas.pad == 5
    assert canvas.color.shape == (30, 40, 3) and canvas.detect_disparity.shape == (30, 40)
    assert canvas.image_mask.sum() == 20 * 30 and canvas.image_mask[5:25, 5:35].all()
    np.testing.assert_array_equal(canvas.color[5:25, 5:35], prepared.image)
    k = prepared.intrinsics
    assert (canvas.intrinsics.cx, canvas.intrinsics.cy) == (k.cx + 5, k.cy + 5)
    assert (canvas.intrinsics.width, canvas.intrinsics.height) == (40, 30)
    assert np.isfinite(canvas.depth).all()


def test_border_fill_keeps_the_image_and_extends_each_surface_with_its_own_colour():
    canvas = make_canvas(prepared_step(), 6)
    filled = fill_border(canvas, depth_threshold=0.04)
    np.testing.assert_array_equal(filled.color[canvas.image_mask], canvas.color[canvas.image_mask])
    np.testing.assert_array_equal(filled.detect_disparity, canvas.detect_disparity)
    band = ~canvas.image_mask
    near = band & (canvas.detect_disparity > 1.0)
    far = band & (canvas.detect_disparity < 1.0)
    assert near.any() and far.any()
    # the band above the near (red) half stays red, above the far (blue) half blue
    assert (filled.color[near][:, 0] > 150).all() and (filled.color[far][:, 2] > 150).all()


def test_no_band_no_change():
    canvas = make_canvas(prepared_step(), 0)
    assert fill_border(canvas, 0.04) is canvas
