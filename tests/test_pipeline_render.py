"""The whole pipeline through real headless rendering (EGL): identity reproduction,
agreement with analytic reprojection, the Python API."""
from __future__ import annotations


import cv2
import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.config import Config
from photo3d.core.data import Intrinsics

from scenes import psnr, square_scene


pytestmark = pytest.mark.egl  # the Python API's renders


@pytest.fixture(scope="module")
def sample3d(sample_files):
    cfg = Config.from_keys(longer_side=320, paths=[], inpaint="fill")
    p3d = Photo3D.from_files(*sample_files, config=cfg)
    yield p3d
    p3d.close()


def test_identity_render_reproduces_the_input(sample3d):
    rgb, mask = sample3d.render(np.eye(4))
    image = sample3d.scene.prepared.image
    assert rgb.shape == image.shape and mask.shape == image.shape[:2]
    h, w = mask.shape
    crop = (slice(h // 8, h - h // 8), slice(w // 8, w - w // 8))
    assert mask[crop].all()
    value = psnr(rgb[crop], image[crop])
    assert value >= 30.0, value


def test_render_size_and_mask_outside_the_mesh(sample3d):
    rgb, mask = sample3d.render(np.eye(4), size=(160, 107))
    assert rgb.shape == (107, 160, 3) and mask.all()
    pose = np.eye(4)
    pose[2, 3] = -200.0  # far behind the camera's start: the photo covers a small part of the view
    rgb, mask = sample3d.render(pose)
    assert 0 < mask.mean() < 0.2
    # around the photo: the hole guard's border skirt (stretched border colours, reaching one
    # canvas size out, not counted in the mask), and black beyond it
    painted = rgb.max(axis=-1) > 0
    assert (painted & ~mask).sum() > mask.sum()
    assert not painted[0, 0] and not painted[-1, -1]
    ys, xs = np.nonzero(mask)
    cx = xs.mean()
    py, px = np.nonzero(painted)
    assert np.abs(px - cx).max() < 4 * (xs.max() - xs.min())  # the skirt is bounded


def _analytic_view(image, depth, fg, f, cx, tx, z_bg, z_fg):
    """What a camera moved by tx along +x sees of the two-plane scene (exact geometry)."""
    h, w = depth.shape
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    # a point at depth z and source column u appears at u - f*tx/z
    src_bg = gx + f * tx / z_bg
    src_fg = gx + f * tx / z_fg
    fg_src = cv2.remap(fg.astype(np.uint8), src_fg, gy, cv2.INTER_NEAREST, borderValue=0) > 0
    bg_img = cv2.remap(image, src_bg, gy, cv2.INTER_LINEAR)
    fg_img = cv2.remap(image, src_fg, gy, cv2.INTER_LINEAR)
    expected = np.where(fg_src[..., None], fg_img, bg_img)
    bg_hidden = cv2.remap(fg.astype(np.uint8), src_bg, gy, cv2.INTER_NEAREST, borderValue=0) > 0
    disoccluded = bg_hidden & ~fg_src
    inside = (src_bg >= 0) & (src_bg <= w - 1)
    return expected, fg_src, disoccluded, inside


def test_translated_render_matches_analytic_reprojection():
    image, depth, fg = square_scene(h=120, w=160)
    f, cx, cy = 160.0, 80.0, 60.0
    tx = 0.25  # towards +x, in the depth's units (metres)
    cfg = Config.from_keys(longer_side=160, paths=[], inpaint="fill", sparse_iter=1, background_thickness=30,
                 context_thickness=40, extrapolation_thickness=16)
    with Photo3D.from_rgbd(image, depth, intrinsics=(f, f, cx, cy), config=cfg, normalize=False) as p3d:
        pose = np.eye(4)
        pose[0, 3] = tx
        rgb, mask = p3d.render(pose)
    expected, fg_src, disoccluded, inside = _analytic_view(image, depth, fg, f, cx, tx, 4.0, 2.0)
    # compare away from depth edges (a 2-px margin) where the analytic view is defined
    edges = cv2.dilate((cv2.Canny(fg_src.astype(np.uint8) * 255, 1, 1) > 0).astype(np.uint8), np.ones((5, 5))) > 0
    visible = inside & ~disoccluded & ~edges
    assert psnr(rgb[visible], expected[visible]) >= 28.0
    # the disoccluded strip (10 px wide here) is covered by the inpainted background layer,
    # with background colour (blue-green), not the red foreground
    assert disoccluded.sum() > 500
    assert mask[disoccluded].mean() > 0.98
    assert np.median(rgb[disoccluded][:, 0]) < 110


def test_api_outputs(tmp_path):
    image, depth, _ = square_scene(h=64, w=96)
    cfg = Config.from_keys(longer_side=96, paths=[], num_frames=4, background_thickness=10, context_thickness=16,
                 extrapolation_thickness=8)
    with Photo3D.from_rgbd(image, depth, config=cfg) as p3d:
        ply = p3d.save_ply(tmp_path / "scene.ply")
        assert ply.exists() and p3d.mesh.num_faces > 0
        poses = [np.eye(4) for _ in range(3)]
        poses[1][0, 3] = 0.01
        res = p3d.write_video(tmp_path / "poses.mp4", poses, fps=10)
        assert res.num_frames == 3 and res.path.exists()
        res = p3d.write_video(tmp_path / "swing.mp4", "swing", num_frames=5)
        assert res.num_frames == 5
        assert isinstance(p3d.intrinsics, Intrinsics)
    import trimesh

    mesh = trimesh.load(ply, process=False)
    assert len(mesh.vertices) == p3d.mesh.num_vertices and len(mesh.faces) == p3d.mesh.num_faces


def test_hole_guard_fills_disocclusions_wider_than_the_inpainted_band():
    image, depth, fg = square_scene(h=120, w=160)
    f, tx = 160.0, 0.5  # a 20 px disocclusion; the inpainted band is only 3 px deep
    base = dict(longer_side=160, paths=[], inpaint="fill", sparse_iter=1, background_thickness=3,
                context_thickness=10, extrapolation_thickness=16)
    pose = np.eye(4)
    pose[0, 3] = tx
    expected, fg_src, disoccluded, inside = _analytic_view(image, depth, fg, f, 80.0, tx, 4.0, 2.0)
    renders = {}
    for guard in (False, True):
        cfg = Config.from_keys(hole_guard=guard, **base)
        with Photo3D.from_rgbd(image, depth, intrinsics=(f, f, 80.0, 60.0), config=cfg, normalize=False) as p3d:
            renders[guard] = p3d.render(pose)
    (rgb0, mask0), (rgb1, mask1) = renders[False], renders[True]
    hole = disoccluded & ~mask0
    assert hole.sum() > 300  # the thin band leaves most of the strip empty...
    assert rgb0[hole].max() == 0
    assert np.array_equal(mask0, mask1)  # ...the guard is not counted as coverage...
    filled = rgb1[hole]
    assert (filled.sum(1) > 0).mean() > 0.98  # ...but paints those pixels
    assert np.median(filled[:, 0]) < 110  # with background colour, not the red foreground


def test_border_skirt_paints_beyond_the_extrapolated_border():
    image, depth, _ = square_scene(h=60, w=80)
    base = dict(longer_side=80, paths=[], inpaint="fill", extrapolation_thickness=4, background_thickness=8,
                context_thickness=12)
    pose = np.eye(4)
    pose[2, 3] = -2.0  # step back: the view is ~1.5x wider than the photo and its 4-px border
    frames = {}
    for guard in (False, True):
        with Photo3D.from_rgbd(image, depth, config=Config.from_keys(hole_guard=guard, **base), normalize=False) as p3d:
            frames[guard] = p3d.render(pose)
    (rgb0, mask0), (rgb1, mask1) = frames[False], frames[True]
    assert np.array_equal(mask0, mask1) and not mask0[0, 0]
    assert rgb0[0, 0].max() == 0  # without the guard: black outside the photo
    assert (rgb1.max(axis=-1) > 0).all()  # with it: every pixel painted, with the border's colours
    np.testing.assert_allclose(rgb1[0, 0].astype(float), image[0, 0].astype(float), atol=40)
