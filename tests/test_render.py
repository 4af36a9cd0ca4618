"""Offscreen rendering (real EGL/llvmpipe): identity reproduction, reprojection, occlusion, textures."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from photo3d.camera import crop_border, crop_intrinsics
from photo3d.errors import Photo3DError
from photo3d.render import Renderer, projection_matrix
from photo3d.core.data import GuardGeometry, Intrinsics, Mesh, MeshTexture
from scenes import psnr

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.egl  # every test here renders (skipped, with the reason, without EGL)


def smooth_texture(xs: np.ndarray, ys: np.ndarray, phase: float = 0.0) -> np.ndarray:
    """(..., 3) uint8 smooth colour pattern of pixel coordinates."""
    r = 128 + 100 * np.sin(2 * np.pi * xs / 23.0 + phase)
    g = 128 + 100 * np.cos(2 * np.pi * ys / 17.0 + phase)
    b = 128 + 90 * np.sin(2 * np.pi * (xs + ys) / 31.0 + phase)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def grid_faces(rows: int, cols: int, offset: int = 0) -> np.ndarray:
    """(2 (rows-1)(cols-1), 3) triangles of a row-major vertex grid."""
    idx = np.arange(rows * cols).reshape(rows, cols) + offset
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    return np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)])


def plane_patch(intr: Intrinsics, x0: int, x1: int, y0: int, y1: int, depth: float, phase: float):
    """Vertices at the pixel centres x0..x1-1, y0..y1-1 (of the identity camera) at ``depth``."""
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    verts = np.stack([(xs - intr.cx) / intr.fx * depth, (ys - intr.cy) / intr.fy * depth, np.full_like(xs, depth)], -1)
    return verts.reshape(-1, 3), smooth_texture(xs, ys, phase).reshape(-1, 3), grid_faces(y1 - y0, x1 - x0)


def make_mesh(intr: Intrinsics, patches) -> Mesh:
    verts, cols, faces, n = [], [], [], 0
    for v, c, f in patches:
        verts.append(v), cols.append(c), faces.append(f + n)
        n += len(v)
    return Mesh(np.concatenate(verts).astype(np.float32), np.concatenate(cols), np.concatenate(faces).astype(np.int32), intr)


INTR = Intrinsics(100.0, 100.0, 59.0, 44.0, 120, 90)


@pytest.mark.parametrize("simplify", [False, True])
@pytest.mark.parametrize("supersample,min_psnr", [(1.0, 45.0), (2.0, 30.0)])
def test_identity_render_reproduces_image(supersample, min_psnr, simplify):
    mesh = make_mesh(INTR, [plane_patch(INTR, 0, INTR.width, 0, INTR.height, 2.0, 0.0)])
    ys, xs = np.mgrid[0 : INTR.height, 0 : INTR.width]
    image = smooth_texture(xs, ys)
    with Renderer(INTR.width, INTR.height, supersample=supersample, simplify=simplify) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(np.eye(4), INTR)
    assert rgb.shape == (90, 120, 3) and rgb.dtype == np.uint8 and mask.shape == (90, 120)
    inner = (slice(2, -2), slice(2, -2))
    assert mask[inner].all()
    assert psnr(rgb[inner], image[inner]) >= min_psnr


@pytest.mark.parametrize("simplify", [False, True])
def test_translation_matches_analytic_reprojection_with_occlusion(simplify):
    # Back plane (depth 4) extending past the image, and a nearer square (depth 2) whose
    # faces come first in the index buffer, so only the depth test can hide the plane.
    front = plane_patch(INTR, 40, 80, 30, 60, 2.0, 1.0)
    back = plane_patch(INTR, -20, INTR.width + 20, -20, INTR.height + 20, 4.0, 0.0)
    mesh = make_mesh(INTR, [front, back])
    tx, ty = 0.08, -0.04  # camera moves right and up
    pose = np.eye(4)
    pose[:3, 3] = [tx, ty, 0.0]
    with Renderer(INTR.width, INTR.height, simplify=simplify) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(pose, INTR)

    # A point at depth z moves by (-fx tx / z, -fy ty / z) pixels: back (-2, +1), front (-4, +2).
    ys, xs = np.mgrid[0 : INTR.height, 0 : INTR.width]
    expected = smooth_texture(xs + 2, ys - 1, 0.0)
    in_front = (xs + 4 >= 40) & (xs + 4 < 80) & (ys - 2 >= 30) & (ys - 2 < 60)
    expected[in_front] = smooth_texture(xs + 4, ys - 2, 1.0)[in_front]
    # Compare away from the square's outline (supersampling blends across it).
    near_edge = np.zeros_like(in_front)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            near_edge |= np.roll(in_front, (dy, dx), axis=(0, 1)) != in_front
    assert mask.all()
    assert psnr(rgb[~near_edge], expected[~near_edge]) >= 30.0
    # And the square is where it should be: its interior is the front texture.
    assert psnr(rgb[in_front & ~near_edge], expected[in_front & ~near_edge]) >= 30.0


def test_forward_motion_magnifies_and_background_stays_black():
    mesh = make_mesh(INTR, [plane_patch(INTR, 30, 90, 20, 70, 2.0, 0.0)])
    pose = np.eye(4)
    pose[2, 3] = 1.0  # halfway to the plane: everything doubles in size about the centre
    with Renderer(INTR.width, INTR.height, supersample=1.0) as renderer:
        renderer.set_mesh(mesh)
        _, mask_id = renderer.render(np.eye(4), INTR)
        rgb, mask = renderer.render(pose, INTR)
    assert mask_id.sum() == pytest.approx(60 * 50, abs=60 + 50)
    assert mask.sum() == pytest.approx(120 * 90, abs=120 + 90)  # 120 x 100 px, clipped to the frame
    pose[2, 3] = -2.0  # twice as far: half the size
    with Renderer(INTR.width, INTR.height, supersample=1.0) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(pose, INTR)
    assert mask.sum() == pytest.approx(30 * 25, abs=30 + 25)
    assert (rgb[~mask] == 0).all()


def test_output_size_follows_intrinsics_and_mesh_can_change():
    mesh = make_mesh(INTR, [plane_patch(INTR, 0, INTR.width, 0, INTR.height, 2.0, 0.0)])
    with Renderer(32, 32, supersample=1.5) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(np.eye(4), INTR)
        assert rgb.shape == (90, 120, 3)
        half = INTR.scaled(0.5)
        rgb, mask = renderer.render(np.eye(4), half)
        assert rgb.shape == (45, 60, 3) and mask[2:-2, 2:-2].all()
        small = make_mesh(INTR, [plane_patch(INTR, 0, 60, 0, 90, 2.0, 0.0)])  # left half only
        renderer.set_mesh(small)
        rgb, mask = renderer.render(np.eye(4), INTR)
        assert mask[2:-2, 5:55].all() and not mask[:, 65:].any()


def test_textured_mesh_reproduces_texture():
    # Two triangles whose corners sit on the image's outer pixel edges, uv at the texture's
    # corners: texel centres land on pixel centres at the identity camera.
    w, h, z = INTR.width, INTR.height, 3.0
    corners_px = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
    verts = np.concatenate(
        [(corners_px - [INTR.cx, INTR.cy]) / [INTR.fx, INTR.fy] * z, np.full((4, 1), z)], axis=1
    ).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w]
    texture = smooth_texture(xs, ys, 0.5)
    mesh = Mesh(
        verts,
        np.zeros((4, 3), np.uint8),
        np.array([[0, 1, 2], [1, 3, 2]], np.int32),
        INTR,
        texture=MeshTexture(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32), texture),
    )
    with Renderer(w, h, supersample=1.0) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(np.eye(4), INTR)
    assert mask.all()
    assert psnr(rgb, texture) >= 45.0


def test_crop_intrinsics_render_matches_cropped_render():
    mesh = make_mesh(INTR, [plane_patch(INTR, -10, INTR.width + 10, -10, INTR.height + 10, 2.0, 0.0)])
    crop = (0.03, 0.03, 0.05, 0.03)
    with Renderer(INTR.width, INTR.height) as renderer:
        renderer.set_mesh(mesh)
        full, _ = renderer.render(np.eye(4), INTR)
        direct, _ = renderer.render(np.eye(4), crop_intrinsics(INTR, crop))
    assert direct.shape == full.shape
    assert psnr(direct[3:-3, 3:-3], crop_border(full, crop)[3:-3, 3:-3]) >= 30.0


def test_projection_matrix_maps_pixel_centres_to_ndc():
    intr = Intrinsics(80.0, 90.0, 30.0, 20.0, 64, 48)
    proj = projection_matrix(intr, 0.5, 10.0)
    for u, v, z in [(0, 0, 1.0), (63, 47, 2.0), (30, 20, 0.5), (12.5, 40, 10.0)]:
        point = np.array([(u - intr.cx) / intr.fx * z, (v - intr.cy) / intr.fy * z, z, 1.0])
        clip = proj @ point
        ndc = clip[:3] / clip[3]
        assert ndc[0] == pytest.approx(2 * (u + 0.5) / 64 - 1)
        assert ndc[1] == pytest.approx(2 * (v + 0.5) / 48 - 1)
    assert (proj @ [0, 0, 0.5, 1])[2] / 0.5 == pytest.approx(-1.0)
    assert (proj @ [0, 0, 10.0, 1])[2] / 10.0 == pytest.approx(1.0)


def test_bad_use_raises_photo3d_error():
    mesh = make_mesh(INTR, [plane_patch(INTR, 0, 8, 0, 8, 2.0, 0.0)])
    with Renderer(16, 16) as renderer:
        with pytest.raises(Photo3DError, match="set_mesh"):
            renderer.render(np.eye(4), INTR)
        bad = Mesh(mesh.vertices, mesh.colors, mesh.faces + 1000, INTR)
        with pytest.raises(Photo3DError, match="face indices"):
            renderer.set_mesh(bad)
        renderer.set_mesh(mesh)
        with pytest.raises(Photo3DError, match="4x4"):
            renderer.render(np.eye(3), INTR)


def test_missing_egl_gives_one_line_install_hint():
    # A process whose EGL loader finds no vendor library cannot make a context.
    env = dict(os.environ, __EGL_VENDOR_LIBRARY_FILENAMES="/nonexistent/egl_vendor.json", PYTHONPATH=str(REPO))
    code = (
        "from photo3d.render import gl_context\n"
        "from photo3d.errors import Photo3DError\n"
        "try:\n    gl_context()\nexcept Photo3DError as e:\n    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("ERR")]
    assert line, out.stdout + out.stderr
    assert "libegl1 libegl-mesa0 libgl1-mesa-dri" in line[0] and "EGL_PLATFORM=surfaceless" in line[0]


# ------------------------------------------------------------------ grid simplification


def layered_scene(intr: Intrinsics, white: bool = False) -> Mesh:
    """A curved background continued (by a hidden layer) behind a nearer square that has
    its own vertices: the structure of a 3D photo's layered mesh."""
    ys, xs = np.mgrid[-10 : intr.height + 10, -10 : intr.width + 10].astype(np.float64)
    back = 4.0 + 0.3 * np.sin(xs / 25.0) * np.cos(ys / 20.0)
    square = (xs >= 40) & (xs < 80) & (ys >= 30) & (ys < 60)
    depth = np.where(square, 2.0, back)

    def lift(z, where):
        return np.stack([(xs - intr.cx) / intr.fx * z, (ys - intr.cy) / intr.fy * z, z], -1)[where]

    rows, cols = xs.shape
    n = rows * cols
    front_faces = grid_faces(rows, cols)
    front_faces = front_faces[square.ravel()[front_faces].all(1)]
    # The background layer: the visible surface's vertices around the square, hidden ones under it.
    background = np.arange(n).reshape(rows, cols)
    background[square] = n + np.arange(square.sum())
    back_faces = background.ravel()[grid_faces(rows, cols)]
    verts = np.concatenate([lift(depth, np.ones_like(square)), lift(back, square)])
    colors = smooth_texture(xs, ys)
    colors = np.concatenate([colors.reshape(-1, 3), colors[square] // 2])
    if white:
        colors[:] = 255
    faces = np.concatenate([front_faces, back_faces]).astype(np.int32)
    return Mesh(verts.astype(np.float32), colors, faces, intr)


def test_simplified_plane_is_a_few_textured_triangles():
    from photo3d.render import simplify_grid_mesh

    mesh = make_mesh(INTR, [plane_patch(INTR, 0, 97, 0, 65, 2.0, 0.0)])  # 96 x 64 quads
    simple = simplify_grid_mesh(mesh, blocks=(8, 4))
    assert len(simple.faces) == 0  # every quad is in an 8x8 patch
    assert len(simple.tex_faces) == 12 * 8 * 2  # 96 patches, two triangles each (a plane needs no centre)
    # Non-planar (noisy) depth: nothing is simplified.
    noisy = make_mesh(INTR, [plane_patch(INTR, 0, 97, 0, 65, 2.0, 0.0)])
    noisy.vertices[:] *= 1.0 + 0.01 * np.random.default_rng(0).random((noisy.num_vertices, 1)).astype(np.float32)
    simple = simplify_grid_mesh(noisy)
    assert len(simple.tex_faces) == 0 and len(simple.faces) == noisy.num_faces


def test_simplified_patch_keeps_side_vertices_that_a_copy_shares():
    """A triangle on *copies* of a patch side's vertices (the exported hole guard's quads, a
    mesh read back from a file: same positions, own indices) still keeps those vertices on the
    patch's side, so no T-junction opens a crack (Wood1's exported mesh left a 1-px pinhole at
    yaw -10 degrees with the sideways move, where two inpainted backgrounds met behind a cut)."""
    from photo3d.render import simplify_grid_mesh

    mesh = make_mesh(INTR, [plane_patch(INTR, 0, 17, 0, 17, 2.0, 0.0)])  # 16 x 16 quads: four 8x8 patches
    # a stretched quad hanging off the bottom side of the lower-left patch, at its inner
    # vertices (3, 16) and (4, 16), through copies of them, down to a farther surface
    top = mesh.vertices[[16 * 17 + 3, 16 * 17 + 4]]
    below = np.array([[(x - INTR.cx) / INTR.fx * 3.0, (17 - INTR.cy) / INTR.fy * 3.0, 3.0] for x in (4, 3)])
    n = mesh.num_vertices
    mesh = Mesh(np.concatenate([mesh.vertices, top, below]).astype(np.float32),
                np.concatenate([mesh.colors, np.full((4, 3), 9, np.uint8)]),
                np.concatenate([mesh.faces, [[n, n + 1, n + 2], [n, n + 2, n + 3]]]).astype(np.int32), INTR)
    simple = simplify_grid_mesh(mesh, blocks=(8,))
    assert len(simple.tex_faces) > 0  # the plane is still simplified
    patch_points = {tuple(p) for p in simple.tex_vertices[np.unique(simple.tex_faces)].tolist()}
    for p in top.tolist():
        assert tuple(p) in patch_points
    # the same for triangles drawn in another part (the render-only hole guard): ``shared``
    plane = make_mesh(INTR, [plane_patch(INTR, 0, 17, 0, 17, 2.0, 0.0)])
    for shared, kept in ((None, False), (top, True)):
        simple = simplify_grid_mesh(plane, blocks=(8,), shared=shared)
        patch_points = {tuple(p) for p in simple.tex_vertices[np.unique(simple.tex_faces)].tolist()}
        assert all((tuple(p) in patch_points) == kept for p in top.tolist())


def test_simplified_render_matches_full_render_without_cracks():
    intr = INTR
    poses = []
    for t in ([0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [-0.05, 0.08, 0.3], [0.0, 0.0, -0.5]):
        pose = np.eye(4)
        pose[:3, 3] = t
        poses.append(pose)
    angle = np.deg2rad(4.0)  # and a small rotation about y
    rot = np.eye(4)
    rot[[0, 0, 2, 2], [0, 2, 0, 2]] = [np.cos(angle), np.sin(angle), -np.sin(angle), np.cos(angle)]
    poses.append(rot)

    mesh = layered_scene(intr)
    white = layered_scene(intr, white=True)
    with Renderer(intr.width, intr.height, 1.0, simplify=False) as full, Renderer(
        intr.width, intr.height, 1.0, simplify=True
    ) as simple:
        full.set_mesh(mesh)
        simple.set_mesh(mesh)
        assert simple.num_triangles * 3 < full.num_triangles
        for pose in poses:
            a, mask_a = full.render(pose, intr)
            b, mask_b = simple.render(pose, intr)
            assert (mask_a == mask_b).all()
            assert psnr(a, b) >= 38.0
        # With one colour everywhere any crack between patches and full-resolution
        # triangles would show as a dark pixel.
        full.set_mesh(white)
        simple.set_mesh(white)
        for pose in poses:
            a, _ = full.render(pose, intr)
            b, _ = simple.render(pose, intr)
            assert ((a == 255) == (b == 255)).all()


# ------------------------------------------------------------------ hole guard (render-only part)


def with_red_guard(mesh: Mesh, depth: float) -> Mesh:
    """``mesh`` plus a hole guard: one pure red quad at ``depth`` covering far beyond the image."""
    corners = np.array([[-300, -300], [420, -300], [420, 390], [-300, 390]], float)
    verts = np.concatenate([(corners - [INTR.cx, INTR.cy]) / [INTR.fx, INTR.fy] * depth, np.full((4, 1), depth)], 1)
    mesh.guard = GuardGeometry(
        vertices=verts.astype(np.float32),
        colors=np.tile(np.array([[255, 0, 0]], np.uint8), (4, 1)),
        faces=np.array([[0, 1, 2], [0, 2, 3]], np.int32),
    )
    return mesh


def is_guard_red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 250) & (rgb[..., 1] < 5) & (rgb[..., 2] < 5)  # the texture never gets here


@pytest.mark.parametrize("angle_deg", [0.0, 3.0])
def test_hole_guard_stays_behind_far_surfaces_when_the_camera_turns(angle_deg):
    # A far plane (depth 20, margin 20 px) behind a near square (depth 0.5). Turning the
    # camera puts bounding-box corners behind it, so the near plane collapses to 1e-4 far;
    # the guard (nearer than the plane but drawn "behind") must still not cover the plane.
    # Regression: the guard sat at a fixed NDC depth 0.99999, in front of the far plane.
    front = plane_patch(INTR, 40, 80, 30, 60, 0.5, 1.0)
    back = plane_patch(INTR, -20, INTR.width + 20, -20, INTR.height + 20, 20.0, 0.0)
    mesh = with_red_guard(make_mesh(INTR, [front, back]), depth=10.0)
    a = np.deg2rad(angle_deg)
    pose = np.eye(4)
    pose[[0, 0, 2, 2], [0, 2, 0, 2]] = [np.cos(a), np.sin(a), -np.sin(a), np.cos(a)]  # about y
    with Renderer(INTR.width, INTR.height, supersample=1.0) as renderer:
        renderer.set_mesh(mesh)
        rgb, mask = renderer.render(pose, INTR)
    assert mask.all()
    assert not is_guard_red(rgb).any()


def test_hole_guard_fills_the_background_and_is_not_coverage():
    # Regression: the guard wrote alpha 0.25, so at supersample 3 a pixel 4/9 covered by the
    # mesh counted as covered (0.44 + 0.25 * 0.56 >= 0.5).
    # A patch covering 2/3 of its outline's pixels, so 4/9 of its four corner pixels (3x
    # supersampling resolves thirds).
    z = 2.0
    x0, x1, y0, y1 = 30 + 1 / 3, 90 - 1 / 3, 20 + 1 / 3, 70 - 1 / 3
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) - 0.5  # pixel edges
    verts = np.concatenate([(corners - [INTR.cx, INTR.cy]) / [INTR.fx, INTR.fy] * z, np.full((4, 1), z)], 1)
    plain = Mesh(verts.astype(np.float32), np.full((4, 3), 200, np.uint8), np.array([[0, 1, 2], [1, 3, 2]], np.int32), INTR)
    guarded = with_red_guard(Mesh(plain.vertices, plain.colors, plain.faces, INTR), depth=5.0)
    with Renderer(INTR.width, INTR.height, supersample=3.0) as renderer:
        renderer.set_mesh(plain)
        _, mask_plain = renderer.render(np.eye(4), INTR)
        renderer.set_mesh(guarded)
        rgb, mask = renderer.render(np.eye(4), INTR)
    assert mask_plain.sum() == 60 * 50 - 4  # 2/3-covered pixels count, the 4/9-covered corners do not
    assert np.array_equal(mask, mask_plain)
    assert is_guard_red(rgb[:19]).all() and is_guard_red(rgb[:, :29]).all()  # the guard shows around it...
    assert (rgb[21:69, 31:89] == 200).all()  # ...and never over the mesh
