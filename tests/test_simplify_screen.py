"""Rendering simplified to what the cameras can show (issue 14): patches merge where the depth
is smooth enough that no vertex moves by more than ``render.simplify_error`` pixels at the
videos' most extreme cameras; colour comes from textures interpolated in the input image, so
the frames keep the full mesh's picture (>= 40 dB) from far fewer triangles."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.camera import frame_intrinsics, motion_extent
from photo3d.core.data import Intrinsics, Mesh
from photo3d.render import Renderer
from photo3d.render.simplify import SCREEN_BLOCKS, disparity_tolerance, render_mesh
from scenes import default_paths, psnr, small_config, textured


def slanted_ground(h: int = 96, w: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """A textured floor receding to the top (depth 1 at the bottom row to 4 at the top) with a
    bump: smooth, far from planar in places, no discontinuity."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    disparity = 0.25 + 0.75 * ys / (h - 1) + 0.05 * np.exp(-((xs - w / 2) ** 2 + (ys - h / 2) ** 2) / 200.0)
    return textured(h, w, 5, (120, 110, 90)), (1.0 / disparity).astype(np.float32)


@pytest.fixture(scope="module")
def ground() -> Photo3D:
    image, depth = slanted_ground()
    p3d = Photo3D.from_rgbd(image, depth, config=small_config())
    yield p3d
    p3d.close()


def test_motion_extent_is_the_largest_shift_of_the_paths(ground):
    paths = default_paths(ground, 24)
    shift_xy, shift_z, focal = motion_extent(paths)
    centres = np.array([f.center for frames in paths.values() for f in frames])
    assert shift_xy == pytest.approx(np.hypot(centres[:, 0], centres[:, 1]).max())
    assert shift_z == pytest.approx(np.abs(centres[:, 2]).max()) and focal >= 1.0
    assert motion_extent({}) == (0.0, 0.0, 1.0)


def test_screen_error_bound_simplifies_smooth_depth_much_further(ground):
    motion = motion_extent(default_paths(ground, 24))
    planar = render_mesh(ground.mesh, True)
    screen = render_mesh(ground.mesh, True, motion, 0.3)
    assert screen.tex_projective and screen.num_triangles * 2 < planar.num_triangles
    assert screen.num_triangles * 5 < ground.mesh.num_faces
    # no simplification bound, no motion: the planar-patch form as before
    assert render_mesh(ground.mesh, True, None, 0.3).num_triangles == planar.num_triangles
    assert render_mesh(ground.mesh, True, motion, 0.0).num_triangles == planar.num_triangles


def test_every_frame_keeps_the_full_mesh_picture(ground):
    k = ground.intrinsics
    paths = default_paths(ground, 24)
    with Renderer(k.width, k.height, simplify=False) as full, \
            Renderer(k.width, k.height, simplify=True, simplify_error=0.3) as simple:
        full.set_mesh(ground.mesh)
        simple.set_mesh(ground.mesh, motion=motion_extent(paths))
        assert simple.num_triangles * 5 < full.num_triangles
        for frames in paths.values():
            for frame in frames[::6]:
                cam = frame_intrinsics(k, frame)
                assert psnr(full.render(frame.pose, cam)[0], simple.render(frame.pose, cam)[0]) >= 40


def test_projective_texturing_keeps_a_slanted_fan_exact_at_the_input_camera():
    # one 64 x 64 patch of a steeply slanted plane: depth 1 at the bottom to 5 at the top
    k = Intrinsics(64.0, 64.0, 32.0, 32.0, 65, 65)
    ys, xs = np.mgrid[0:65, 0:65].astype(np.float64)
    disparity = 1.0 - 0.8 * (64 - ys) / 64
    z = 1.0 / disparity
    vertices = k.unproject(xs, ys, z).reshape(-1, 3).astype(np.float32)
    colors = textured(65, 65, 9, (128, 128, 128)).reshape(-1, 3)
    idx = np.arange(65 * 65).reshape(65, 65)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    mesh = Mesh(vertices, colors, np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int32), k)
    allowed = disparity_tolerance(mesh, 0.3, 0.01, 0.0)
    assert allowed.min() > 0
    from photo3d.render.simplify import simplify_grid_mesh

    fan = simplify_grid_mesh(mesh, SCREEN_BLOCKS, allowed_error=np.full(mesh.num_vertices, 1e-3))
    assert fan.num_triangles <= 8 and fan.tex_projective
    with Renderer(65, 65, supersample=1, simplify=False) as r:
        r.set_mesh(mesh)
        full, _ = r.render(np.eye(4), k)
        r.set_mesh(fan)
        mine, _ = r.render(np.eye(4), k)
        fan.tex_projective = False  # what interpolation along the 3D triangles gives
        r.set_mesh(fan)
        affine, _ = r.render(np.eye(4), k)
    inner = (slice(2, -2), slice(2, -2))
    assert psnr(full[inner], mine[inner]) >= 40
    assert psnr(full[inner], mine[inner]) > psnr(full[inner], affine[inner]) + 5


def test_simplified_ply_is_the_rendered_form_with_its_texture(ground, tmp_path):
    from photo3d.io import ply_texture_path, read_ply

    full_path = ground.save_ply(tmp_path / "full.ply")
    path = ground.save_ply(tmp_path / "scene.ply", simplify=True)
    assert ply_texture_path(path).is_file() and not ply_texture_path(full_path).exists()
    assert "comment TextureFile scene_texture.png" in path.read_bytes()[:2000].decode("ascii", "replace")
    mesh = read_ply(path)
    assert mesh.texture is not None and mesh.num_faces * 5 < ground.mesh.num_faces
    assert mesh.texture.uv.min() >= 0 and mesh.texture.uv.max() <= 1
    assert mesh.intrinsics == ground.intrinsics
    k = ground.intrinsics
    with Renderer(k.width, k.height, simplify=False) as r:  # the input camera sees the photo again
        r.set_mesh(ground.mesh)
        full, _ = r.render(np.eye(4), k)
        r.set_mesh(mesh)
        mine, _ = r.render(np.eye(4), k)
    assert psnr(full, mine) >= 40
