"""photo3d.core.canvas: the padded canvas and the border extension (the band's colour comes
from the image pixels on the same surface)."""
from __future__ import annotations

import numpy as np

from photo3d.core.canvas import band_sources, fill_border, make_canvas
from photo3d.core.data import Canvas, Intrinsics, PreparedRGBD


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
    inside = canvas.image_mask
    np.testing.assert_array_equal(filled.detect_disparity[inside], canvas.detect_disparity[inside])
    np.testing.assert_array_equal(filled.depth * filled.detect_disparity, np.ones(filled.shape, np.float32))
    band = ~canvas.image_mask
    near = band & (filled.detect_disparity > 1.0)
    far = band & (filled.detect_disparity < 1.0)
    assert near.any() and far.any()
    # the band beside the near (red) half stays red, beside the far (blue) half blue
    assert (filled.color[near][:, 0] > 150).all() and (filled.color[far][:, 2] > 150).all()


def test_a_near_object_crossing_the_border_ends_in_the_band_and_the_background_continues():
    """A near bar (a rope, a ring's arm) that reaches the top border: carried straight out it
    became a bar across the whole band, hiding the wall that continues behind it. It ends
    with a taper (TAPER_SLOPE px in from each end per px out); beside and beyond it the band continues the wall (disparity and
    colour); a surface that fills the whole border (the far wall here) continues straight."""
    h, w, pad = 20, 30, 8
    image = np.zeros((h, w, 3), np.uint8)
    image[:] = (20, 20, 200)
    disparity = np.full((h, w), 0.5, np.float32)
    image[:, 12:18] = (200, 20, 20)  # a 6 px bar crossing the top and bottom borders
    disparity[:, 12:18] = 2.0
    canvas = make_canvas(PreparedRGBD(image, 1 / disparity, disparity, Intrinsics.default(w, h), center_depth=2.0), pad)
    filled = fill_border(canvas, depth_threshold=0.04)
    top = filled.detect_disparity[:pad][::-1, pad:pad + w]  # row 0: 1 px above the photo
    width = (top > 1.0).sum(axis=1)
    np.testing.assert_array_equal(width, [6, 6, 6, 4, 4, 4, 4, 2])  # 6 px at the ring, 0.5 fewer per px
    steep = band_sources(canvas.detect_disparity[pad, pad:pad + w], pad, 0.04, slope=1.0)
    np.testing.assert_array_equal((canvas.detect_disparity[pad, pad:pad + w][steep] > 1.0).sum(axis=1),
                                  [4, 2, 0, 0, 0, 0, 0, 0])
    assert (filled.color[:pad][::-1, pad:pad + w][top < 1.0][:, 2] > 150).all()  # the wall's colour
    assert (filled.color[:pad][::-1, pad:pad + w][top > 1.0][:, 0] > 150).all()
    # the left and right bands: the far wall fills the border there, and continues straight
    np.testing.assert_array_equal(filled.detect_disparity[pad:pad + h, :pad], 0.5)


def test_no_band_no_change():
    canvas = make_canvas(prepared_step(), 0)
    assert fill_border(canvas, 0.04) is canvas


def textured_wall(h: int, w: int, contrast: float = 10.0) -> np.ndarray:
    """A grey wall with a 2 px checker texture of +-``contrast`` grey levels (under the
    texture's clip, so all of it is texture). (H, W, 3) uint8."""
    yy, xx = np.mgrid[0:h, 0:w]
    checker = np.where((yy // 2 + xx // 2) % 2 == 0, contrast, -contrast)
    return np.repeat((120 + checker)[..., None], 3, axis=2).astype(np.uint8)


def right_band(image: np.ndarray, disparity: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Grey levels and disparity of the band right of the photo on the photo's rows:
    (H, pad) float each, column 0 next to the photo."""
    h, w = disparity.shape
    prepared = PreparedRGBD(image, 1 / disparity, disparity, Intrinsics.default(w, h), center_depth=2.0)
    filled = fill_border(make_canvas(prepared, pad), depth_threshold=0.04)
    rows = slice(pad, pad + h)
    return filled.color[rows, pad + w:].astype(float).mean(axis=2), filled.detect_disparity[rows, pad + w:]


def test_border_continues_a_texture_as_texture_not_as_lines():
    """A textured surface reaching the border goes on as texture next to the photo: the band
    varies along the outward direction about as much as the photo does (a copy of the edge
    column drawn outwards is constant along it: lines), and it is not more structured along
    the border than across it (lines run outwards)."""
    h, w, pad = 48, 64, 40
    image = textured_wall(h, w)
    disparity = np.full((h, w), 0.5, np.float32)
    band, _ = right_band(image, disparity, pad)
    near = band[4:-4, :8]  # the 8 columns next to the photo, off the corners
    photo = image[4:-4, -8:, 0].astype(float)
    outward = near.std(axis=1).mean()  # along the outward direction, per row
    assert outward > 0.6 * photo.std(axis=1).mean()
    along = np.abs(np.diff(near, axis=0)).mean()  # changes along the border
    across = np.abs(np.diff(near, axis=1)).mean()  # changes outwards
    assert across > 0.6 * along


def test_a_thin_bar_crossing_the_border_ends_and_the_wall_behind_goes_on_textured():
    """A thin near bar crossing the border ends after a few px (it does not become a long
    bar across the band), and where it has ended the band shows the wall behind it with the
    wall's texture (reflected from the wall beside the bar), not a flat patch."""
    h, w, pad = 48, 64, 40
    image = textured_wall(h, w)
    disparity = np.full((h, w), 0.5, np.float32)
    image[20:24] = (200, 30, 30)  # a 4 px red bar crossing the right border
    disparity[20:24] = 2.0
    band, band_disp = right_band(image, disparity, pad)
    bar_rows = band_disp[20:24] > 1.0
    assert bar_rows[:, 0].all() and not bar_rows[:, 10:].any()  # ends within 10 px
    behind = band[20:24, 12:20]  # the bar's rows once it has ended: the wall
    assert (np.abs(behind - 120) < 20).all()  # the wall's grey, no red
    wall = band[30:40, 12:20]
    # textured like the wall (weaker: the wall's detail beside the bar shares the bar's blur);
    # a flat patch, the colour of the wall's mean, has a std of a fraction of a grey level
    assert behind.std() > max(0.3 * wall.std(), 1.0)


def diagonal_bar(h: int = 48, w: int = 64, width: int = 5) -> PreparedRGBD:
    """A near red bar running down-right at 45 degrees (columns x0 + y .. x0 + y + width - 1)
    over a far blue wall; it crosses the bottom border."""
    image = np.zeros((h, w, 3), np.uint8)
    image[:] = (20, 20, 200)
    disparity = np.full((h, w), 0.5, np.float32)
    y, x = np.mgrid[:h, :w]
    bar = (x - y >= 6) & (x - y < 6 + width)
    image[bar] = (200, 20, 20)
    disparity[bar] = 2.0
    return PreparedRGBD(image, 1 / disparity, disparity, Intrinsics.default(w, h), center_depth=2.0)


def test_a_slanted_object_crossing_the_border_goes_on_along_its_own_direction():
    """A rope crossing the bottom border at 45 degrees: carried straight down it became a
    vertical bar in the band. It goes on along its own line (its centre 1 px further right
    per px down, as inside the photo), narrowing by the taper; the straight-down remnant is
    gone (the wall continues below the bar's last ring pixels)."""
    h, w, pad, width = 48, 64, 10, 5
    prepared = diagonal_bar(h, w, width)
    filled = fill_border(make_canvas(prepared, pad), depth_threshold=0.04)
    band = filled.detect_disparity[pad + h:, pad:pad + w]  # row r: r + 1 px below the photo
    x = np.arange(w)
    centre_in_photo = 6 + (h - 1) + (width - 1) / 2  # the bar's centre on the photo's last row
    rows_with_bar = 0
    for r in range(pad):  # rows of the band (a few), not pixels
        near = band[r] > 1.0
        if not near.any():
            continue
        rows_with_bar += 1
        assert abs(x[near].mean() - (centre_in_photo + r + 1)) <= 1.0, (r, x[near])
    assert rows_with_bar >= 3
    # below the bar's ring pixels, further out than the slanted bar has moved, the wall goes on
    assert (band[pad // 2:, 6 + h - 1:6 + h - 1 + width - 2] < 1.0).all()
    # off: the old straight continuation (the bar stays on the ring's columns)
    straight = fill_border(make_canvas(prepared, pad), depth_threshold=0.04, follow_direction=False)
    first = straight.detect_disparity[pad + h, pad:pad + w] > 1.0
    second = straight.detect_disparity[pad + h + 2, pad:pad + w] > 1.0
    assert abs(x[first].mean() - x[second].mean()) < 0.6


def _bar_canvas(slope: float, size: int = 80, pad: int = 24, width: float = 6.0):
    """A near bar (disparity 1) on a far wall (0.1) whose centreline meets the right border
    at row 40 and moves ``slope`` rows per column inwards. Returns (canvas, pad, size)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    centre = 40 + slope * ((size - 1) - xx)
    bar = np.abs(yy - centre) <= width / 2 / np.cos(np.arctan(slope))
    return _near_on_wall(bar, 200, pad), pad, size


def _near_on_wall(near: np.ndarray, colour, pad: int) -> Canvas:
    """A blank canvas (``pad`` px of border to fill) of a near object (``near``: (S, S) bool,
    disparity 1, ``colour``) on a far grey wall (disparity 0.1, grey 60)."""
    size = near.shape[0]
    disp = np.where(near, 1.0, 0.1).astype(np.float32)
    c = np.zeros((size, size, 3), np.uint8) + 60
    c[near] = colour
    hc = size + 2 * pad
    mask = np.zeros((hc, hc), bool)
    mask[pad:-pad, pad:-pad] = True
    return Canvas(np.pad(c, ((pad, pad), (pad, pad), (0, 0)), mode="edge"),
                  np.pad(1 / disp, pad, mode="edge"), np.pad(disp, pad, mode="edge"), mask, pad, None, 1.0)


def test_diagonal_bar_continues_along_its_diagonal():
    for slope in (0.5, -0.7):
        canvas, pad, size = _bar_canvas(slope)
        out = fill_border(canvas, 0.3)
        band = out.detect_disparity[:, pad + size : pad + size + pad // 2]
        for k in range(band.shape[1]):
            rows = np.nonzero(band[:, k] > 0.5)[0]
            assert rows.size, k
            expect = pad + 40 - slope * (k + 1)
            assert abs(rows.mean() - expect) <= 1.5, (slope, k, rows.mean(), expect)


def test_perpendicular_bar_stays_perpendicular():
    canvas, pad, size = _bar_canvas(0.0)
    out = fill_border(canvas, 0.3)
    band = out.detect_disparity[:, pad + size : pad + size + 8]
    for k in range(band.shape[1]):
        rows = np.nonzero(band[:, k] > 0.5)[0]
        assert rows.size and abs(rows.mean() - (pad + 40)) <= 0.5


def _ring_canvas(size: int = 80, pad: int = 32, inside: int = 6, outer: float = 20, inner: float = 9):
    """A near orange ring (disparity 1) on a far grey wall (0.1) centred ``inside`` px inside
    the right border at row 40: its two arms and the hole between them cross the border,
    as Art's ring does. Returns (canvas, pad, size)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    dist = np.hypot(yy - 40, xx - (size - 1 - inside))
    ring = (dist <= outer) & (dist >= inner)
    return _near_on_wall(ring, (200, 80, 20), pad), pad, size


def test_a_curved_object_crossing_the_border_closes_instead_of_running_out_as_bars():
    """A ring crossing the right border (Art's): straight out, each arm became a bar narrowing
    to a point across the band with the hole's wall between them (lines, not the object).
    Carried along its own outline, the arms bend towards each other and close over the hole
    a few px out, and the ring ends a few px beyond its own reach into the photo (its
    chamfer); the wall goes on beside it and beyond its end, in the wall's colour."""
    canvas, pad, size = _ring_canvas()
    rows = slice(pad, pad + size)
    out = fill_border(canvas, 0.3)
    near = out.detect_disparity[rows, pad + size:] > 0.5  # column k: k + 1 px right of the photo
    grey = out.color[rows, pad + size:].astype(float)
    assert near[:, 0].sum() >= 20 and not near[40, 0]  # the two arms and the hole at the border
    assert near[40, 3:10].any()  # the arms have closed over the hole
    assert not near[:, 19:].any()  # the ring has ended (the disc reaches 14 px out)
    assert not near[:16].any() and not near[64:].any()  # beside it: the wall
    assert (grey[near][:, 0] > 150).all()  # the ring in its colour
    # the wall beside and beyond it in the wall's colour (give or take the texture reflected
    # from beside the ring's edge, clipped at 10 grey levels RMS)
    assert (np.abs(grey[~near] - 60) < 20).all()
    # the old straight continuation: two bars, the hole's wall between them throughout,
    # narrowing to a point past where the ring has ended
    straight = fill_border(canvas, 0.3, follow_direction=False).detect_disparity[rows, pad + size:] > 0.5
    assert not straight[40].any() and straight[:, 21:].any()
