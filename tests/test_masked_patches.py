"""Masked patches (issue 14): aligned blocks beside depth cuts, of which only a connected piece of
one surface is present, drawn as one fan whose missing pixel squares (and half squares) the
fragment shader discards (``render.masked_patches``). The picture must stay the full
simplification's: the same pixels at the input camera, and at a moved one, from fewer triangles;
the layers at one pixel never merge."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d.config import Config
from photo3d.core.data import Intrinsics, Mesh
from photo3d.pipeline import make_renderer
from photo3d.render import Renderer
from photo3d.render.simplify import (MASK_FULL, SCREEN_BLOCKS, _find_masked_blocks, _grid_triangles,
                                     _pair_triangles, disparity_tolerance, render_mesh, simplify_grid_mesh)
from scenes import psnr, textured

H = W = 65  # vertices per side: 64 x 64 pixel squares, one 64-block


def _layer(k: Intrinsics, present: np.ndarray, disparity: np.ndarray, colors: np.ndarray, first: int):
    """Vertices, colours and faces of one layer of the pixel grid: ``present`` (H, W) vertices;
    a square with 4 present corners becomes two triangles (split TL-BR), one with 3 the single
    triangle of those (a half square, as along a diagonal cut)."""
    ys, xs = np.nonzero(present)
    index = np.full(present.shape, -1, np.int64)
    index[ys, xs] = first + np.arange(len(ys))
    vertices = k.unproject(xs.astype(np.float64), ys.astype(np.float64), 1.0 / disparity[ys, xs])
    tl, tr, bl, br = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    corners = np.stack([tl, tr, bl, br], -1).reshape(-1, 4)
    count = (corners >= 0).sum(1)
    full = corners[count == 4]
    faces = [full[:, [0, 1, 3]], full[:, [0, 3, 2]]]
    three = corners[count == 3]
    for missing, tri in ((0, [1, 3, 2]), (1, [0, 3, 2]), (2, [0, 1, 3]), (3, [0, 1, 2])):
        faces.append(three[three[:, missing] < 0][:, tri])
    return vertices.astype(np.float32), colors[ys, xs], np.concatenate(faces)


def layered_mesh(cut: str) -> Mesh:
    """A slanted background layer over the whole 64 x 64 grid and, in front of it at the same
    pixels, a slanted foreground layer left of a cut through the block: a vertical cut at x = 37
    ("vertical") or a diagonal one ("diagonal", half squares along it)."""
    k = Intrinsics(64.0, 64.0, 32.0, 32.0, W, H)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    back = 0.25 + 0.002 * xs + 0.001 * ys
    front = 0.6 + 0.003 * ys - 0.001 * xs
    fg = xs <= 37 if cut == "vertical" else xs + 0.6 * ys <= 52
    bv, bc, bf = _layer(k, np.ones((H, W), bool), back, textured(H, W, 3, (60, 120, 190)), 0)
    fv, fc, ff = _layer(k, fg, front, textured(H, W, 4, (200, 60, 40)), len(bv))
    return Mesh(np.concatenate([bv, fv]), np.concatenate([bc, fc]).astype(np.uint8),
                np.concatenate([bf, ff]).astype(np.int32), k)


MOTION = (0.02, 0.02, 1.0)  # sideways and forward shifts of the cameras to come


def moved_pose() -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = (0.015, -0.01, 0.02)
    return pose


@pytest.mark.parametrize("cut", ["vertical", "diagonal"])
def test_a_cut_through_a_block_keeps_its_pixels_from_fewer_triangles(cut):
    mesh = layered_mesh(cut)
    k = mesh.intrinsics
    whole = render_mesh(mesh, True, MOTION, 0.3)
    masked = render_mesh(mesh, True, MOTION, 0.3, masked=True)
    assert len(whole.masked.faces) == 0 and len(masked.masked.faces) > 0
    assert masked.num_triangles * 2 < whole.num_triangles  # the foreground's cut block no longer per pixel
    if cut == "diagonal":  # half squares along the cut are the patch's too
        codes = np.unique(masked.masked.mask)
        assert MASK_FULL in codes and set(codes) & {1, 2, 3, 4}
    with Renderer(k.width, k.height, simplify=False) as full, \
            Renderer(k.width, k.height, simplify=True, simplify_error=0.3) as plain, \
            Renderer(k.width, k.height, simplify=True, simplify_error=0.3, masked_patches=True) as patched:
        full.set_mesh(mesh)
        plain.set_mesh(mesh, motion=MOTION)
        patched.set_mesh(mesh, motion=MOTION)
        assert patched.num_triangles == masked.num_triangles
        for supersample in (1.0, 2.0):
            plain.supersample = patched.supersample = full.supersample = supersample
            for pose in (np.eye(4), moved_pose()):
                reference, covered = full.render(pose, k)
                a, mask_a = plain.render(pose, k)
                b, mask_b = patched.render(pose, k)
                # no hole the full mesh has not (its last row and column lie on its own edge)
                assert ((b.max(2) == 0) <= (reference.max(2) == 0)).all()
                np.testing.assert_array_equal(mask_a, mask_b)
                # the cut stays where the full mesh has it: no pixel changes layer
                differ = np.abs(a.astype(int) - b).max(2)
                assert differ.max() <= 2, (cut, supersample, differ.max())
                assert psnr(b, reference) >= min(psnr(a, reference) - 0.5, 60)


def test_pieces_never_mix_layers_at_one_pixel():
    mesh = layered_mesh("diagonal")
    triangles = _grid_triangles(mesh)
    quads, origin, quad_faces = _pair_triangles(triangles, mesh.num_vertices)
    face_ids, by_corner, missing, tri_origin = triangles
    single = ~np.isin(face_ids, quad_faces.ravel())
    units = np.concatenate([quads, by_corner[single].astype(np.int64)])
    unit_origin = np.concatenate([origin, tri_origin[single]])
    unit_faces = np.concatenate([quad_faces, np.stack([face_ids[single], np.full(single.sum(), -1)], 1)])
    codes = np.concatenate([np.full(len(quads), MASK_FULL), missing[single] + 1]).astype(np.uint8)
    disparity = 1.0 / mesh.vertices[:, 2].astype(np.float64)
    allowed = disparity_tolerance(mesh, 0.3, *MOTION)
    front_first = H * W  # the background's vertices come first
    faces = mesh.faces.astype(np.int64)
    uses = np.bincount(faces.ravel(), minlength=mesh.num_vertices)
    for block in (64, 32, 16, 8):
        pieces = _find_masked_blocks(units, unit_origin, unit_faces, codes, block, disparity, allowed,
                                     np.ones(len(units), bool), faces, uses)
        for verts in pieces.verts:
            ids = verts[verts >= 0]
            assert (ids < front_first).all() or (ids >= front_first).all()
        # every piece covers at least a quarter of its block
        for grid in pieces.grid:
            area = np.where(codes[grid[grid >= 0]] == MASK_FULL, 1.0, 0.5).sum()
            assert area >= block * block / 4
    # with nothing taken yet, each layer makes its own 64-piece: the foreground left of the cut
    # and the whole background behind it
    pieces = _find_masked_blocks(units, unit_origin, unit_faces, codes, 64, disparity, allowed,
                                 np.ones(len(units), bool), faces, uses)
    assert len(pieces.grid) == 2
    assert sorted(bool((v[v >= 0] >= front_first).all()) for v in pieces.verts) == [False, True]


def test_masked_patches_are_on_for_the_videos_and_off_for_the_web_export():
    assert Config().render.masked_patches is True
    mesh = layered_mesh("vertical")
    assert len(simplify_grid_mesh(mesh, SCREEN_BLOCKS).masked.faces) == 0
    assert len(render_mesh(mesh, True, MOTION, 0.3).masked.faces) == 0
    with Renderer(mesh.intrinsics.width, mesh.intrinsics.height) as r:
        assert r.masked_patches is False
    config = Config()
    with make_renderer(mesh.intrinsics, config.render) as r:  # the videos' renderer
        assert r.masked_patches is True
    config.render.masked_patches = False
    with make_renderer(mesh.intrinsics, config.render) as r:
        assert r.masked_patches is False


def test_no_pixel_between_masked_and_whole_patches_stays_clear():
    # 4 x 4 blocks of 32: a slanted background, a foreground left of a wavy cut; at cameras moved
    # in small steps sideways, up and forward, the sides that masked patches share with whole
    # ones (and with each other) leave no pixel undrawn that the whole patches alone draw (the
    # mesh's own outer edge may move by the error bound either way, with or without masks)
    n = 129
    k = Intrinsics(128.0, 128.0, 64.0, 64.0, n, n)
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64)
    back = 0.3 + 0.001 * xs + 0.0015 * ys
    front = 0.7 + 0.002 * ys - 0.001 * xs
    fg = xs <= 70 + 14 * np.sin(ys / 9.0)
    bv, bc, bf = _layer(k, np.ones((n, n), bool), back, textured(n, n, 5, (60, 120, 190)), 0)
    fv, fc, ff = _layer(k, fg, front, textured(n, n, 6, (200, 60, 40)), len(bv))
    mesh = Mesh(np.concatenate([bv, fv]), np.concatenate([bc, fc]).astype(np.uint8),
                np.concatenate([bf, ff]).astype(np.int32), k)
    motion = (0.03, 0.03, 1.0)
    with Renderer(n, n, supersample=1.0, simplify=True, simplify_error=0.3) as plain, \
            Renderer(n, n, supersample=1.0, simplify=True, simplify_error=0.3, masked_patches=True) as patched:
        plain.set_mesh(mesh, motion=motion)
        patched.set_mesh(mesh, motion=motion)
        assert patched.num_triangles * 10 < plain.num_triangles
        for step in np.linspace(-1, 1, 11):
            for direction in ((1, 0, 0), (0, 1, 0), (0.7, -0.7, 0.5), (0, 0, 2.0)):
                pose = np.eye(4)
                pose[:3, 3] = 0.02 * step * np.asarray(direction)
                a, _ = plain.render(pose, k)
                b, _ = patched.render(pose, k)
                assert ((b.max(2) == 0) <= (a.max(2) == 0)).all(), (step, direction)
                assert psnr(a, b) >= 40
