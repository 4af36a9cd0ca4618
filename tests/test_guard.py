"""photo3d.core.guard: the render-only hole guard is typed geometry beside the mesh (not in
its faces), coloured with the background."""
from __future__ import annotations

import numpy as np

from photo3d.core.data import GuardGeometry
from photo3d.core.guard import border_skirt, hole_guard
from photo3d.core.mesh import build_mesh


def test_mesh_carries_the_guard_as_typed_geometry(square_build):
    sc, _ = square_build
    guard = sc.mesh.guard
    assert isinstance(guard, GuardGeometry) and guard.num_faces > 0
    assert guard.vertices.dtype == np.float32 and guard.colors.dtype == np.uint8 and guard.faces.dtype == np.int32
    assert guard.faces.max() < len(guard.vertices) and len(guard.colors) == len(guard.vertices)
    assert build_mesh(sc.ldi, guard_holes=False).guard is None
    # not part of the mesh itself: the same faces with or without the guard
    np.testing.assert_array_equal(build_mesh(sc.ldi, guard_holes=False).faces, sc.mesh.faces)


def test_guard_is_coloured_with_the_background(square_build):
    sc, _ = square_build
    # the background is blue-green (R ~ 40), the foreground red (R ~ 220)
    assert sc.mesh.guard.colors[:, 0].max() < 110


def test_border_skirt_has_four_vertices_per_quad_on_the_ring_depths(square_build):
    sc, _ = square_build
    verts, colors = border_skirt(sc.ldi)
    h, w = sc.ldi.shape
    assert len(verts) % 4 == 0 and len(verts) == 4 * (2 * (w - 1) + 2 * (h - 1) + 4)
    assert colors.shape == (len(verts), 3)
    ring = sc.ldi.depth[: h * w].reshape(h, w)
    assert np.isin(np.round(verts[:, 2], 4), np.round(np.concatenate(
        [ring[0], ring[-1], ring[:, 0], ring[:, -1]]), 4)).all()
    guard = hole_guard(sc.ldi, sc.mesh.vertices)
    assert guard.num_faces == len(guard.vertices) // 2
