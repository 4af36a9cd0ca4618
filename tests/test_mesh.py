"""photo3d.core.mesh: triangles of the LDI (never across a cut), vertices at pixel
centres, edge facets."""
from __future__ import annotations

import numpy as np

from photo3d.core.data import Canvas, Discontinuities, Intrinsics
from photo3d.core.ldi import front_layer
from photo3d.core.mesh import build_mesh, ldi_triangles


def test_no_face_spans_a_cut_link(square_build):
    sc, _ = square_build
    ldi = sc.ldi
    faces = ldi_triangles(ldi.links)
    assert faces.shape[0] > 0
    for a, b in ((0, 1), (1, 2), (0, 2)):
        p, q = faces[:, a], faces[:, b]
        dx = np.abs(ldi.x[p] - ldi.x[q])
        dy = np.abs(ldi.y[p] - ldi.y[q])
        assert (np.maximum(dx, dy) == 1).all()  # neighbours or diagonal neighbours only
        side = (dx + dy) == 1
        linked = (ldi.links[p[side]] == q[side][:, None]).any(1)
        assert linked.all()


def test_full_grid_gives_two_triangles_per_quad():
    image = np.zeros((5, 6, 3), np.uint8)
    depth = np.full((5, 6), 2.0, np.float32)
    k = Intrinsics.default(6, 5)
    canvas = Canvas(image, depth, 1 / depth, np.ones((5, 6), bool), 0, k)
    disc = Discontinuities(np.ones((5, 5), bool), np.ones((4, 6), bool), np.zeros((5, 6), bool),
                           np.zeros((5, 6), bool), np.zeros((5, 6), np.int32), 0)
    ldi = front_layer(canvas, disc)
    assert ldi_triangles(ldi.links).shape[0] == 2 * 4 * 5
    mesh = build_mesh(ldi)
    # vertices back-project to their pixel centres at depth 2
    n = ldi.num_pixels
    u = mesh.vertices[:n, 0] / mesh.vertices[:n, 2] * k.fx + k.cx
    assert np.allclose(u, ldi.x)
    # the outer ring of pixels gets facets (its outer half-pixel has no triangle): 18 pixels
    assert mesh.num_vertices == n + 4 * 18


def test_edge_pixels_get_their_own_facet(square_build):
    sc, _ = square_build
    n = sc.ldi.num_pixels
    extra_vertices = sc.mesh.num_vertices - n
    assert extra_vertices > 0 and extra_vertices % 4 == 0
