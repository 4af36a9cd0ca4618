"""Flat-coloured unit squares merged into strips (issue 14): the edge facets beside depth cuts and
the hole guard's quads are drawn as runs of two triangles, coloured by a nearest-filtered texture
with one texel per square, so every square keeps its own colour and the cuts and the covered
area stay where the full mesh has them."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.camera import frame_intrinsics, motion_extent
from photo3d.core.data import Intrinsics
from photo3d.render import Renderer
from photo3d.render.simplify import merge_flat_squares, render_mesh
from scenes import default_paths, psnr, small_config, square_scene

K = Intrinsics(100.0, 100.0, 50.0, 50.0, 101, 101)


def squares(xy: list[tuple[int, int]], depth: list[float], colours: np.ndarray, offset: float = 0.5):
    """Unit squares with TL corner at lattice point (x, y) + ``offset``, each flat at its depth, as
    the mesh builds edge facets: 4 own vertices (TL, TR, BR, BL), faces (0, 1, 2), (0, 2, 3)."""
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
    verts, faces = [], []
    for i, ((x, y), z) in enumerate(zip(xy, depth)):
        uv = np.array([x, y], np.float64) + offset + corners
        verts.append(K.unproject(uv[:, 0], uv[:, 1], np.full(4, z)))
        faces += [[4 * i, 4 * i + 1, 4 * i + 2], [4 * i, 4 * i + 2, 4 * i + 3]]
    return (np.concatenate(verts).astype(np.float32), np.repeat(colours, 4, 0).astype(np.uint8),
            np.array(faces, np.int64))


def test_a_row_and_a_column_of_facets_become_two_strips_with_one_texel_each():
    rng = np.random.default_rng(0)
    xy = [(10 + i, 20) for i in range(8)] + [(40, 5 + i) for i in range(4)]
    colours = rng.integers(0, 255, (12, 3))
    v, c, f = squares(xy, [2.0] * 12, colours)
    part, kept = merge_flat_squares(v, c, f, K, np.full(len(v), 1e-3), offset=0.5, continuous=False)
    assert not kept.any() and len(part.faces) == 4  # 8 + 4 squares -> two strips of two triangles
    h, w = part.texture.shape[:2]
    for strip, first, length in ((0, 0, 8), (1, 8, 4)):  # the texels under each strip, in order
        lo = (part.uv[part.faces[2 * strip]].min(0) * [w, h]).round().astype(int)
        cells = part.texture[lo[1], lo[0]: lo[0] + length]
        assert (cells == colours[first: first + length]).all()


def test_nearest_lookups_just_beyond_a_strip_read_its_own_edge_colours():
    """A rounding error at a strip's edge may move a nearest-filtered lookup past its texels: it
    must read the strip's own edge colour, not the neighbouring strip's or the atlas's unused
    black (black dots along Art's brushes in 1 of 13 video frames)."""
    rng = np.random.default_rng(1)
    xy = [(10 + i, 20 + 2 * j) for j in range(6) for i in range(8)]
    colours = rng.integers(20, 255, (len(xy), 3))
    v, c, f = squares(xy, [2.0] * len(xy), colours)
    part, _ = merge_flat_squares(v, c, f, K, np.full(len(v), 1e-3), offset=0.5, continuous=False)
    h, w = part.texture.shape[:2]
    assert len(part.faces) == 12  # six rows -> six strips
    for strip in range(6):
        lo = np.round(part.uv[part.faces[2 * strip]].min(0) * [w, h])
        hi = np.round(part.uv[part.faces[2 * strip]].max(0) * [w, h])
        inside = part.texture[int(lo[1]), int(lo[0]): int(hi[0])]
        assert len(inside) == 8
        for x, y, expect in ((lo[0] - 0.01, lo[1] + 0.5, inside[0]), (hi[0] + 0.01, lo[1] + 0.5, inside[-1]),
                             (lo[0] + 0.5, lo[1] - 0.01, inside[0]), (hi[0] - 0.5, hi[1] + 0.01, inside[-1])):
            assert (part.texture[int(np.floor(y)), int(np.floor(x))] == expect).all()


def test_strips_stay_whole_within_a_narrow_texture():
    """With ``texture_width`` (the web atlas's 2048), every strip and its one-texel border lie
    within the texture: a strip folded at the width read past it (the sample's web GLB had a
    strip at u = 2047-2111 of 2048)."""
    rng = np.random.default_rng(2)
    xy = [(5 + i, 3 + 2 * j) for j in range(9) for i in range(8)]  # nine strips of 8 squares
    colours = rng.integers(20, 255, (len(xy), 3))
    v, c, f = squares(xy, [2.0] * len(xy), colours)
    part, _ = merge_flat_squares(v, c, f, K, np.full(len(v), 1e-3), offset=0.5, continuous=False,
                                 texture_width=25)  # room for two strips of 8 + 2 a row
    h, w = part.texture.shape[:2]
    assert len(part.faces) == 18 and w <= 25 and h == 3 * 5
    texel = part.uv * [w, h]
    assert texel.min() >= 1 - 1e-6 and (texel[:, 0] <= w - 1 + 1e-6).all() and (texel[:, 1] <= h - 1 + 1e-6).all()
    for strip in range(9):  # each strip's texels are its own squares' colours, in order
        lo = np.round(texel[part.faces[2 * strip]].min(0)).astype(int)
        row = part.texture[lo[1], lo[0]:lo[0] + 8]
        first = np.nonzero((c[f[::2, 0]] == row[0]).all(1))[0]
        assert len(first) and (row == c[f[2 * first[0]:2 * first[0] + 16:2, 0]]).all()


def test_a_depth_step_beyond_the_bound_is_not_merged_across():
    depth = [2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0]
    v, c, f = squares([(i, 0) for i in range(8)], depth, np.full((8, 3), 100))
    part, kept = merge_flat_squares(v, c, f, K, np.full(len(v), 1e-3), offset=0.5, continuous=False)
    assert len(part.faces) == 4 and not kept.any()  # two strips of 4, none across the step
    strip_depth = part.vertices[:, 2].reshape(-1, 4)
    assert sorted(np.unique(strip_depth.round(4))) == [2.0, 3.0]
    assert all(len(np.unique(s)) == 1 for s in strip_depth.round(4))


def test_squares_shared_with_other_faces_or_of_two_colours_stay():
    v, c, f = squares([(0, 0), (1, 0), (2, 0)], [2.0] * 3, np.array([[1, 2, 3]] * 3))
    c[1] = (9, 9, 9)  # one corner of another colour: not a flat square
    f = np.concatenate([f, [[8, 9, 100 % len(v)]]])  # a face that uses the third square's corners
    _, kept = merge_flat_squares(v, c, f, K, np.full(len(v), 1.0), offset=0.5, continuous=False)
    assert kept.all()


@pytest.fixture(scope="module")
def square() -> Photo3D:
    image, depth, _ = square_scene()
    p3d = Photo3D.from_rgbd(image, depth, config=small_config())
    yield p3d
    p3d.close()


def test_facets_merge_and_the_picture_holds(square):
    paths = default_paths(square, 12)
    motion = motion_extent(paths)
    merged = render_mesh(square.mesh, True, motion, 0.3)
    assert len(merged.flat.faces)
    # the guard's quads stay whole (a strip's long side left the mesh's edge, which they share:
    # a pixel centre in the sliver stayed clear), the soft rim's facets after them as backing
    assert len(merged.hole_flat.faces) == 0
    rim_facets = int((square.mesh.soft.alpha[square.mesh.faces] < 255).all(axis=1).sum())  # before their strips
    assert rim_facets and len(merged.hole_faces) == square.mesh.guard.num_faces + rim_facets
    k = square.intrinsics
    with Renderer(k.width, k.height, simplify=False) as full, Renderer(k.width, k.height) as simple:
        full.set_mesh(square.mesh)
        simple.set_mesh(merged)
        # the input camera: the cut boundaries and the covered area exactly as the full mesh's
        ref, ref_mask = full.render(np.eye(4), k)
        mine, mask = simple.render(np.eye(4), k)
        assert (mask == ref_mask).all() and psnr(ref, mine) >= 45
        for frames in paths.values():
            for frame in frames[::4]:
                cam = frame_intrinsics(k, frame)
                ref, _ = full.render(frame.pose, cam)
                mine, _ = simple.render(frame.pose, cam)
                assert psnr(ref, mine) >= 40
                # no new clear pixels: wherever the full mesh or its guard drew, so do the strips
                assert not ((mine == 0).all(2) & ~(ref == 0).all(2)).any()


@pytest.mark.egl
def test_soft_rim_facets_merge_into_blended_strips_and_the_picture_holds():
    """The soft rim's facets (pixel squares of one RGBA colour) merge into strips drawn blended
    from an RGBA texture: fewer triangles, the covered area at the input camera exactly the full
    mesh's (the rim counts as covered), the picture within 45 / 40 dB of the full mesh's at the
    input and moved cameras, and no new clear pixels."""
    from test_artefacts import soft_scene

    sc, _, _, _ = soft_scene(0.5)
    mesh, k = sc.mesh, sc.mesh.intrinsics
    motion = (0.1, 0.05, 1.0)
    merged = render_mesh(mesh, True, motion, 0.3)
    plain = render_mesh(mesh, True, None, 0.0)
    assert len(merged.blend_flat.faces) and merged.blend_flat.texture.shape[2] == 4
    assert len(merged.blend_faces) + len(merged.blend_flat.faces) < len(plain.blend_faces) / 2
    assert (merged.blend_flat.texture[..., 3] < 255).any()
    with Renderer(k.width, k.height, simplify=False) as full, Renderer(k.width, k.height) as simple:
        full.set_mesh(mesh)
        simple.set_mesh(merged)
        ref, ref_mask = full.render(np.eye(4), k)
        mine, mask = simple.render(np.eye(4), k)
        assert (mask == ref_mask).all() and psnr(ref, mine) >= 45
        for dx, dy in ((-0.1, 0.0), (0.1, 0.0), (0.0, 0.05), (0.07, -0.05)):
            pose = np.eye(4)
            pose[:2, 3] = dx, dy
            ref, _ = full.render(pose, k)
            mine, _ = simple.render(pose, k)
            assert psnr(ref, mine) >= 40
            assert not ((mine == 0).all(2) & ~(ref == 0).all(2)).any()
