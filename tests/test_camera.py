"""Camera paths follow the reference's trajectories with our sign conventions."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d.camera import (
    PATH_NAMES,
    CameraFrame,
    camera_path,
    crop_border,
    crop_intrinsics,
    even_size,
    frame_intrinsics,
    reference_shifts,
)
from photo3d.errors import Photo3DError
from photo3d.core.data import Intrinsics


def centers(frames: list[CameraFrame]) -> np.ndarray:
    return np.array([f.pose[:3, 3] for f in frames])


@pytest.mark.parametrize("name", PATH_NAMES)
def test_frame_counts_and_pure_translations(name):
    for n in (1, 7, 240):
        frames = camera_path(name, n, center_depth=3.0)
        assert len(frames) == n
        for f in frames:
            assert f.pose.shape == (4, 4) and f.pose.dtype == np.float64
            np.testing.assert_array_equal(f.pose[:3, :3], np.eye(3))
            np.testing.assert_array_equal(f.pose[3], [0, 0, 0, 1])


def test_zoom_in_moves_forward_through_the_input_camera():
    c = centers(camera_path("zoom-in", 241))
    np.testing.assert_allclose(c[0], [0, 0, -0.05], atol=1e-12)
    np.testing.assert_allclose(c[120], [0, 0, 0], atol=1e-12)  # the input camera mid-way
    np.testing.assert_allclose(c[-1], [0, 0, 0.05], atol=1e-12)
    assert np.all(np.diff(c[:, 2]) > 0)  # +z = towards the scene, every frame
    assert all(f.focal_scale == 1.0 for f in camera_path("zoom-in", 10))


def test_dolly_zoom_keeps_the_centre_plane_size():
    depth = 2.5
    frames = camera_path("dolly-zoom-in", 240, center_depth=depth)
    c = centers(frames)
    np.testing.assert_allclose(c, centers(camera_path("zoom-in", 240)))
    scales = np.array([f.focal_scale for f in frames])
    np.testing.assert_allclose(scales * depth / (depth - c[:, 2]), 1.0, rtol=1e-12)
    assert scales[0] > 1.0 > scales[-1]  # focal length shrinks as the camera advances
    # A point on the centre plane projects to the same pixel in every frame.
    intr = Intrinsics.default(640, 480)
    point = np.array([0.3, -0.2, depth])
    for f in frames[::37]:
        k = frame_intrinsics(intr, f)
        p = point - f.pose[:3, 3]
        u = k.fx * p[0] / p[2] + k.cx
        assert u == pytest.approx(intr.fx * point[0] / depth + intr.cx)


def test_circle_and_swing_follow_the_reference_phase():
    n = 240
    circle = centers(camera_path("circle", n))
    swing = centers(camera_path("swing", n))
    phase = -2.0 + 4.0 * np.arange(n) / n
    # Camera centre = -reference shift; reference x, y, z ranges are -0.015, -0.015, -0.05.
    np.testing.assert_allclose(circle[:, 0], 0.015 * np.cos(np.pi * phase), atol=1e-15)
    np.testing.assert_allclose(circle[:, 1], 0.015 * np.sin(np.pi * phase), atol=1e-15)
    np.testing.assert_allclose(circle[:, 2], 0.05 * np.cos(np.pi * phase / 2), atol=1e-15)
    np.testing.assert_allclose(np.hypot(circle[:, 0], circle[:, 1]), 0.015)  # a circle of radius 0.015
    np.testing.assert_allclose(swing[:, [0, 2]], circle[:, [0, 2]])
    np.testing.assert_array_equal(swing[:, 1], 0.0)  # swing: sideways only
    # Mid-way the camera is at its most forward point, a quarter in it crosses z = 0.
    np.testing.assert_allclose(circle[n // 2], [0.015, 0, 0.05], atol=1e-15)
    np.testing.assert_allclose(circle[n // 4], [-0.015, 0, 0], atol=1e-15)


def test_double_straight_line_is_the_reference_quadratic_through_three_points():
    # The reference interpolates -r, 0, r at t = 0, 0.5, 1 quadratically: check against it.
    from scipy.interpolate import interp1d

    r = np.array([0.01, -0.02, -0.05])
    t = np.linspace(0, 1, 31)
    expected = interp1d([0, 0.5, 1], np.stack([-r, 0 * r, r]), axis=0, kind="quadratic")(t)
    np.testing.assert_allclose(reference_shifts("double-straight-line", 31, *r), expected, atol=1e-12)


def test_shift_scale_and_range_overrides():
    base = centers(camera_path("circle", 24))
    np.testing.assert_allclose(centers(camera_path("circle", 24, shift_scale=10.0)), 10.0 * base)
    wide = centers(camera_path("swing", 24, ranges={"x": -0.03}))
    np.testing.assert_allclose(wide[:, 0], 2 * base[:, 0])
    back = centers(camera_path("zoom-in", 5, ranges={"z": 0.05}))  # positive z: camera moves backwards
    assert back[0, 2] == pytest.approx(0.05) and back[-1, 2] == pytest.approx(-0.05)


def test_bad_arguments_raise_photo3d_error():
    with pytest.raises(Photo3DError, match="circle, swing, zoom-in, dolly-zoom-in"):
        camera_path("spiral")
    with pytest.raises(Photo3DError, match="center_depth"):
        camera_path("dolly-zoom-in", 10)
    with pytest.raises(Photo3DError, match="passes the centre depth"):
        camera_path("dolly-zoom-in", 10, center_depth=0.04)
    with pytest.raises(Photo3DError, match="num_frames"):
        camera_path("circle", 0)
    with pytest.raises(Photo3DError, match="range keys"):
        camera_path("circle", 10, ranges={"w": 1.0})
    with pytest.raises(Photo3DError, match="crop_border"):
        crop_border(np.zeros((10, 10, 3), np.uint8), (0.6, 0, 0.5, 0))


def test_crop_border_matches_reference_pixels_and_keeps_size():
    image = np.zeros((100, 200, 3), np.uint8)
    image[3:95, 6:194] = 255  # exactly what (0.03, 0.03, 0.05, 0.03) keeps: rows 3..94, cols 6..193
    out = crop_border(image, (0.03, 0.03, 0.05, 0.03))
    assert out.shape == image.shape
    assert out[2:-2, 2:-2].min() == 255  # the kept region fills the frame
    assert crop_border(image, (0, 0, 0, 0)) is image


def test_crop_intrinsics_maps_the_kept_window_onto_the_frame():
    intr = Intrinsics.default(200, 100)
    k = crop_intrinsics(intr, (0.03, 0.03, 0.05, 0.03))
    assert (k.width, k.height) == (200, 100)
    # Original pixel edges of the kept window (cols 6..193, rows 3..94) go to the frame's edges.
    for (u, v), (u2, v2) in [((5.5, 2.5), (-0.5, -0.5)), ((193.5, 94.5), (199.5, 99.5))]:
        x, y = (u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy
        assert k.fx * x + k.cx == pytest.approx(u2)
        assert k.fy * y + k.cy == pytest.approx(v2)
    odd = even_size(Intrinsics.default(81, 61))
    assert (odd.width, odd.height) == (80, 60) and odd.cx == 40


def test_custom_straight_line_and_dolly_specs():
    from photo3d.camera import PathSpec, camera_path

    frames = camera_path("push", 5, spec=PathSpec("straight-line", 0.0, 0.0, -0.05))
    z = [f.center[2] for f in frames]
    np.testing.assert_allclose(z, np.linspace(0, 0.05, 5))  # from no shift to the range, forward
    dolly = camera_path("my-dolly", 5, center_depth=1.0, spec=PathSpec("straight-line", 0.0, 0.0, -0.05, dolly=True))
    for f in dolly:
        assert f.focal_scale == pytest.approx((1.0 - f.center[2]) / 1.0)
