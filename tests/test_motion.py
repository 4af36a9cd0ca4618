"""Camera motion (presets, motion scale, loops, sums of motions, per-frame focal), output
framing (crop and scale, never squash), side-by-side stereo and the one resolution rule."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from photo3d.camera import (
    ALL_PATH_NAMES,
    PERIODIC_PATHS,
    MotionComponent,
    camera_path,
    frame_intrinsics,
    frame_window,
    motion_frames,
    path_poses,
)
from photo3d.config import Config
from photo3d.core.data import Intrinsics
from photo3d.errors import Photo3DError
from scenes import small_config, square_scene

K = Intrinsics.default(160, 120)


def centers(frames) -> np.ndarray:
    return np.array([f.pose[:3, 3] for f in frames])


def project(frame, k: Intrinsics, point: np.ndarray) -> np.ndarray:
    """Pixel (u, v) of a world point seen from ``frame`` (focal scale applied)."""
    cam = frame_intrinsics(k, frame)
    p = np.linalg.inv(frame.pose) @ np.append(point, 1.0)
    return np.array([cam.fx * p[0] / p[2] + cam.cx, cam.fy * p[1] / p[2] + cam.cy])


@pytest.mark.parametrize("name", ALL_PATH_NAMES)
def test_every_path_gives_its_frames_and_moves(name):
    frames = camera_path(name, 24, center_depth=3.0, intrinsics=K)
    assert len(frames) == 24
    poses, scales = path_poses(name, 24, center_depth=3.0, intrinsics=K)
    assert poses.shape == (24, 4, 4) and scales.shape == (24,)
    np.testing.assert_array_equal(poses, np.stack([f.pose for f in frames]))
    assert np.ptp(centers(frames), axis=0).max() > 0.01  # the camera moves
    for pose in poses:  # rigid: orthonormal rotation
        np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("name", PERIODIC_PATHS)
def test_periodic_paths_loop_seamlessly(name):
    n = 40
    c = centers(camera_path(name, n, center_depth=3.0))
    # One frame more at the same spacing: that frame is the first one again.
    extended = camera_path(name, n + 1, center_depth=3.0, loops=(n + 1) / n)
    np.testing.assert_allclose(centers(extended)[:n], c, atol=1e-12)
    np.testing.assert_allclose(extended[n].pose, camera_path(name, n, center_depth=3.0)[0].pose, atol=1e-12)
    assert np.linalg.norm(c[-1] - c[0]) < 2 * np.linalg.norm(np.diff(c, axis=0), axis=1).max()
    # Two loops over twice the frames: the same positions, twice over.
    twice = centers(camera_path(name, 2 * n, center_depth=3.0, loops=2))
    np.testing.assert_allclose(twice[:n], c, atol=1e-12)
    np.testing.assert_allclose(twice[n:], c, atol=1e-12)


def test_straight_paths_go_there_and_back_with_two_loops():
    one = centers(camera_path("zoom-in", 21))
    two = centers(camera_path("zoom-in", 40, loops=2))
    np.testing.assert_allclose(two[0], one[0]) and np.testing.assert_allclose(two[20], one[-1])
    assert np.linalg.norm(two[-1] - two[0]) == pytest.approx(np.linalg.norm(two[1] - two[0]))  # closes the loop


def test_motion_scales_every_range():
    for name in ("circle", "horizontal", "dolly-out", "ken-burns"):
        base = centers(camera_path(name, 30, center_depth=3.0, intrinsics=K))
        np.testing.assert_allclose(centers(camera_path(name, 30, center_depth=3.0, intrinsics=K, motion=2.5)),
                                   2.5 * base, atol=1e-12)


def test_orbit_keeps_the_pivot_at_the_image_centre():
    depth = 3.0
    for f in camera_path("orbit", 16, center_depth=depth):
        np.testing.assert_allclose(project(f, K, np.array([0.0, 0.0, depth])), [K.cx, K.cy], atol=1e-9)
        assert not np.allclose(f.pose[:3, :3], np.eye(3))


def test_dolly_out_moves_back_and_keeps_the_centre_plane_size():
    depth = 2.0
    frames = camera_path("dolly-out", 12, center_depth=depth)
    assert np.all(np.diff(centers(frames)[:, 2]) < 0)  # backwards
    point = np.array([0.4, -0.3, depth])
    for f in frames:
        np.testing.assert_allclose(project(f, K, point), project(frames[0], K, point), atol=1e-9)


def test_ken_burns_moves_toward_its_target_which_keeps_its_pixel():
    depth = 4.0
    component = MotionComponent("ken-burns", target=(0.75, 0.25))
    frames = motion_frames([component], 10, center_depth=depth, intrinsics=K)
    target = K.unproject(np.float64(0.75 * 160 - 0.5), np.float64(0.25 * 120 - 0.5), np.float64(depth))
    pixel = project(frames[0], K, target)
    for f in frames:
        np.testing.assert_allclose(project(f, K, target), pixel, atol=1e-9)
    assert centers(frames)[-1][2] > 0 and centers(frames)[-1][0] > 0  # forward, toward the right


def test_a_motion_is_the_sum_of_its_components_with_phases():
    parts = [MotionComponent("horizontal"), MotionComponent("vertical", amplitude=0.5, phase=0.25)]
    summed = centers(motion_frames(parts, 32, center_depth=3.0))
    h = centers(camera_path("horizontal", 32))
    v = centers(camera_path("vertical", 32))
    np.testing.assert_allclose(summed, h + 0.5 * np.roll(v, -8, axis=0), atol=1e-12)  # phase 0.25 = 8 frames


def test_motions_come_from_the_config_and_duration_sets_the_frames():
    from photo3d.pipeline import path_frames

    cfg = Config.from_keys()
    cfg = cfg.with_changes({"video.motions": {"wobble": [{"path": "horizontal"},
                                                         {"path": "dolly-out", "amplitude": 0.5}]},
                            "video.paths": ["wobble"], "video.duration": 1.5, "video.fps": 20})
    frames = path_frames("wobble", cfg.video, center_depth=3.0)
    assert len(frames) == 30 and cfg.video.frame_count() == 30
    assert np.ptp(centers(frames)[:, 0]) > 0 and centers(frames)[:, 2].min() < 0
    with pytest.raises(Photo3DError, match="video.motions.bad: terms are"):
        cfg.with_changes({"video.motions": {"bad": [{"path": "nowhere"}]}})
    with pytest.raises(Photo3DError, match="unknown path"):
        cfg.with_changes({"video.paths": ["nowhere"]})


def test_frame_window_crops_to_the_aspect_and_never_squashes():
    k = Intrinsics.default(160, 106)
    tall = frame_window(k, (54, 96))  # 9:16 from a landscape image: the centre columns
    assert (tall.width, tall.height) == (54, 96)
    assert tall.fx == pytest.approx(tall.fy * k.fx / k.fy)  # one scale for both axes
    scale = 96 / 106
    assert tall.fy == pytest.approx(k.fy * scale)
    # The image centre stays at the output centre.
    assert (k.cx + 0.5 - 80) * scale == pytest.approx(tall.cx + 0.5 - 27)
    native = frame_window(k, aspect=1.0)
    assert (native.width, native.height) == (106, 106) and native.fx == k.fx
    assert frame_window(k) is k


@pytest.fixture(scope="module")
def p3d():
    from photo3d import Photo3D

    try:
        image, depth, _ = square_scene()
        photo = Photo3D.from_rgbd(image, depth, config=small_config(paths=[], crop_border=0.0), normalize=False)
        photo.render(np.eye(4))
    except Photo3DError as exc:
        pytest.skip(f"no offscreen OpenGL here: {exc}")
    yield photo
    photo.close()


def test_render_with_a_size_crops_instead_of_squashing(p3d):
    k = p3d.intrinsics
    full, _ = p3d.render(np.eye(4))
    half, _ = p3d.render(np.eye(4), size=(k.width // 2, k.height))  # narrower: the centre half
    x0 = (k.width - k.width // 2) // 2
    assert cv2.PSNR(half, np.ascontiguousarray(full[:, x0 : x0 + k.width // 2])) > 28


def test_sbs_halves_differ_by_the_eye_offset(p3d, tmp_path):
    import imageio_ffmpeg

    result = p3d.write_video(tmp_path / "sbs.png", [np.eye(4)] * 2, stereo=True)
    frame = cv2.imread(str(result.path / "frame_00000.png"))[..., ::-1]
    k = p3d.intrinsics
    assert frame.shape == (k.height, 2 * k.width, 3)
    left, right = frame[:, : k.width], frame[:, k.width :]
    assert cv2.PSNR(left, right) < 30  # the two eyes see different pictures
    # The background (z = 4) moves by fx * b / z between the eyes (b in depth units).
    b = p3d.config.video.eye_separation * p3d.scene.prepared.depth_scale
    expected = k.fx * b / 4.0
    strip = slice(2, k.height // 5)  # rows above the near square: background only
    (dx, _), _ = cv2.phaseCorrelate(np.float32(left[strip].mean(2)), np.float32(right[strip].mean(2)))
    assert abs(abs(dx) - expected) < 0.5 and expected > 2
    # A per-frame focal length in a pose list (a dolly zoom written by hand).
    out = p3d.write_video(tmp_path / "dolly.mp4", [np.eye(4)] * 3, focal_scales=[1.0, 1.2, 1.4])
    reader = imageio_ffmpeg.read_frames(str(out.path))
    w, h = next(reader)["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    assert len(frames) == 3 and cv2.PSNR(frames[0], frames[2]) < 25
    with pytest.raises(Photo3DError, match="2 focal_scales for 3 poses"):
        p3d.write_video(tmp_path / "x.mp4", [np.eye(4)] * 3, focal_scales=[1.0, 1.0])


def test_a_periodic_video_loops_without_a_jump(p3d, tmp_path):
    """Decoded: the step from the last frame back to the first is like any other step."""
    result = p3d.write_video(tmp_path / "loop.png", "orbit", num_frames=12, motion=3.0)
    frames = [cv2.imread(str(p)) for p in sorted(result.path.iterdir())]
    assert len(frames) == 12
    steps = [cv2.PSNR(a, b) for a, b in zip(frames, frames[1:])]
    closing = cv2.PSNR(frames[-1], frames[0])
    assert min(steps) - 1.0 <= closing <= max(steps) + 1.0, (closing, steps)
    assert cv2.PSNR(frames[0], frames[6]) < min(steps)  # half a turn away: it moved


def test_api_write_video_follows_the_suffix(p3d, tmp_path):
    from PIL import Image

    result = p3d.write_video(tmp_path / "m.gif", "orbit", num_frames=4, size=(64, 64))
    gif = Image.open(result.path)
    assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (64, 64)
    with pytest.raises(Photo3DError, match="unknown video format"):
        p3d.write_video(tmp_path / "m.mov", "swing", num_frames=2)
    poses, scales = p3d.path_poses("dolly-zoom-in", 5)
    assert poses.shape == (5, 4, 4) and scales[0] > 1 > scales[-1]


def test_one_resolution_rule_for_the_api_and_files(tmp_path):
    from photo3d import Photo3D

    image, depth, _ = square_scene(48, 64)
    cfg = small_config(paths=[])  # longer_side 128 > 64: the photo keeps its size
    assert Photo3D.from_rgbd(image, depth, config=cfg).intrinsics.width == 64
    assert Photo3D.from_rgbd(image, depth, config=small_config(paths=[], longer_side=32)).intrinsics.width == 32
    big = small_config(paths=[]).with_changes({"prepare.enlarge": True})
    assert Photo3D.from_rgbd(image, depth, config=big).intrinsics.width == 128
    cv2.imwrite(str(tmp_path / "p.png"), image[..., ::-1])
    np.save(tmp_path / "p.npy", 1.0 / depth)
    assert Photo3D.from_files(tmp_path / "p.png", tmp_path / "p.npy", config=cfg).intrinsics.width == 64
    assert Photo3D.from_files(tmp_path / "p.png", tmp_path / "p.npy", config=big).intrinsics.width == 128
