"""The mesh of a layered depth image.

Every LDI pixel is a vertex at its pixel centre, back-projected to its depth. A quad of
four mutually linked pixels gives two triangles, three linked pixels (an L) give one; no
triangle uses a cut link, so nothing is stretched across a depth discontinuity.

Cutting links leaves half-pixel gaps around each discontinuity (the triangles stop at the
pixel centres). The revealed background layer fills the far side of those gaps; on the
near side each front-layer pixel next to a cut gets a facet of its own (a pixel-sized
square at its depth, fanned around the pixel's vertex and bridged to the facets of linked
pixels, so it stays part of its surface), so that at the input camera every pixel is drawn
with its own colour.

With ``soft_edge`` the foreground's rim is soft (:mod:`photo3d.core.soft_edge`): ``Mesh.soft``
gives the facets of mixed rim pixels an alpha below 255 and the colour freed of the
background's share, for a renderer that blends; ``Mesh.colors`` keeps the photo's colours;
``SoftEdge.opaque`` gives the rim's facets the freed colour opaque, for the PLY (no alpha there).
"""
from __future__ import annotations

import numpy as np

from .data import DOWN, LDI, LEFT, RIGHT, UP, Mesh, MeshInfo, SoftEdge
from .guard import hole_guard
from .soft_edge import outer_fringe, soft_rim


def ldi_triangles(links: np.ndarray) -> np.ndarray:
    """Triangles of an LDI link array. (N, 4) int -> (F, 3) int32 vertex indices."""
    n = links.shape[0]
    L, R, U, D = (links[:, k] for k in (LEFT, RIGHT, UP, DOWN))

    def at(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:  # arr[idx] with -1 passing through
        return np.where(idx >= 0, arr[np.maximum(idx, 0)], -1)

    p = np.arange(n)
    tris = []
    # Anchor at the top-left corner p with right r and down d.
    r, d = R, D
    rd_a, rd_b = at(D, r), at(R, d)
    has_rd = (r >= 0) & (d >= 0)
    full = has_rd & (rd_a >= 0) & (rd_a == rd_b)
    tris.append(np.stack([p, r, d], 1)[has_rd])  # upper-left half (also of full quads)
    tris.append(np.stack([r, rd_a, d], 1)[full])  # lower-right half of full quads
    # Bottom-right corner q with up u and left l, when the top-left corner is not linked to both.
    q = p
    u, l = U, L
    top_left = at(L, u)
    t2 = (u >= 0) & (l >= 0) & ~((top_left >= 0) & (at(D, top_left) == l))
    tris.append(np.stack([u, q, l], 1)[t2])
    # Top-right corner with left (p) and down (rd), when p-d and d-rd are both cut.
    l, dn = L, D
    t3 = (l >= 0) & (dn >= 0) & (at(D, l) < 0) & (at(L, dn) < 0)
    tris.append(np.stack([l, q, dn], 1)[t3])
    # Bottom-left corner with up (p) and right (rd), when p-r and r-rd are both cut.
    up, rt = U, R
    t4 = (up >= 0) & (rt >= 0) & (at(R, up) < 0) & (at(U, rt) < 0)
    tris.append(np.stack([up, rt, q], 1)[t4])
    return np.concatenate(tris).astype(np.int32)


def facet_pixels(ldi: LDI) -> np.ndarray:
    """(M,) indices of the LDI pixels that get an edge facet (:func:`edge_facet_geometry`),
    in its order: the front pixels with a missing link."""
    return np.nonzero((ldi.layer == 0) & (ldi.links < 0).any(1))[0]


def edge_facet_geometry(ldi: LDI, z: np.ndarray, first: int,
                        faces_of_ldi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel-sized facets of the front pixels with a missing link (beside a cut, or on the
    canvas's outer ring, whose outer half-pixel no triangle covers either).

    Each facet is two triangles plus a zero-area tie triangle through the pixel's own vertex,
    so it belongs to the same connected shape as that pixel's triangles (a separate quad made
    every facet a floating 4-vertex piece: ~1,500 pieces per 100k vertices). Where one of two
    linked front pixels has no LDI triangle (a 1-px-wide structure), their facets are joined
    by two bridge triangles between their facing sides: zero-area at the input camera, they
    close the crack between the two facets at other cameras and keep the structure one shape.

    Args:
        ldi: the layered depth image; z: (N,) float32 depth of its pixels;
        first: the mesh index the first facet vertex will have;
        faces_of_ldi: (F, 3) the LDI's own triangles (:func:`ldi_triangles`).
    Returns:
        vertices (4M, 3) float32, colours (4M, 3) uint8 and faces (3M + 2B, 3) int32 of
        M facets (corners top-left, top-right, bottom-right, bottom-left) and B bridges.
    """
    idx = facet_pixels(ldi)
    m = idx.size
    fverts = ldi.intrinsics.pixel_squares(ldi.x[idx], ldi.y[idx], z[idx])
    base = first + 4 * np.arange(m)[:, None]
    centre = idx[:, None]
    # two triangles on the TL-BR diagonal, and a zero-area tie (TL, centre, BR) along it that
    # joins the facet to the pixel's own vertex (no extra area, one extra triangle)
    facet = [base + [0, 1, 2], base + [0, 2, 3], np.concatenate([base + 0, centre, base + 2], 1)]
    facet_of = np.full(ldi.num_pixels, -1, np.int64)
    facet_of[idx] = base[:, 0]
    # pixels that no LDI triangle uses (a 1-px-wide structure): their facets are bridged
    alone = np.ones(ldi.num_pixels, dtype=bool)
    alone[faces_of_ldi.ravel()] = False
    bridges = []
    # (slot, corners of p's side, corners of q's facing side): right: p's TR, BR with q's TL, BL
    for slot, (pa, pb, qa, qb) in ((RIGHT, (1, 2, 0, 3)), (DOWN, (3, 2, 0, 1))):
        q = ldi.links[idx, slot]
        ok = (q >= 0) & (ldi.layer[np.maximum(q, 0)] == 0)
        fq = np.where(ok, facet_of[np.maximum(q, 0)], -1)
        ok &= (fq >= 0) & (alone[idx] | alone[np.maximum(q, 0)])
        fp, fq = base[ok, 0], fq[ok]
        bridges.append(np.stack([fp + pa, fq + qa, fq + qb], 1))
        bridges.append(np.stack([fp + pa, fq + qb, fp + pb], 1))
    faces = np.concatenate(facet + bridges).astype(np.int32)
    return fverts, np.repeat(ldi.color[idx], 4, 0), faces


def drop_unused_vertices(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray,
                         *per_vertex: np.ndarray) -> tuple[np.ndarray, ...]:
    """Remove every vertex no face uses and renumber the faces (vertex order kept).
    vertices (V, 3), colors (V, 3), faces (F, 3) int, and any further (V, ...) arrays ->
    the same with V' <= V (vertices, colors, faces, then the further arrays)."""
    used = np.zeros(vertices.shape[0], dtype=bool)
    used[faces.ravel()] = True
    if used.all():
        return (vertices, colors, faces, *per_vertex)
    new_index = (np.cumsum(used) - 1).astype(np.int32)
    return (vertices[used], colors[used], new_index[faces], *(a[used] for a in per_vertex))


def build_mesh(ldi: LDI, edge_facets: bool = True, guard_holes: bool = True, soft_edge: bool = True,
               photo: np.ndarray | None = None) -> Mesh:
    """Mesh of ``ldi`` in the input camera frame (vertex = pixel centre at its depth).

    Vertices no face uses are removed (:func:`drop_unused_vertices`), so vertex ``i`` is
    LDI pixel ``i`` only while every pixel has a triangle.

    The canvas band (``ldi.pad``) maps to image coordinates x - pad, y - pad, so the mesh's
    intrinsics are the working image's.

    ``soft_edge`` (with ``edge_facets``): ``Mesh.soft`` holds the soft rim (module docstring);
    None when no rim pixel is mixed. ``photo`` ((Hc*Wc, 3) uint8, the front layer's colours
    before the context margin was re-painted): with it, the soft rim also gets the outer
    fringe (:func:`photo3d.core.soft_edge.outer_fringe`).
    """
    k = ldi.intrinsics
    z = ldi.depth.astype(np.float32)
    verts = k.unproject(ldi.x, ldi.y, z).astype(np.float32)
    colors = ldi.color
    faces = ldi_triangles(ldi.links)
    rim = soft_rim(ldi) if soft_edge and edge_facets else None
    soft_colors = None if rim is None else rim.color
    opaque = None if rim is None else rim.color  # the PLY's colours: the rim's facets freed, opaque
    alpha = None if rim is None else np.full(ldi.num_pixels, 255, np.uint8)
    if edge_facets:
        fverts, fcolors, ffaces = edge_facet_geometry(ldi, z, verts.shape[0], faces)
        verts = np.concatenate([verts, fverts])
        colors = np.concatenate([colors, fcolors])
        faces = np.concatenate([faces, ffaces])
        if rim is not None:  # the facets' corners, in edge_facet_geometry's order
            idx = facet_pixels(ldi)
            soft_colors = np.concatenate([soft_colors, np.repeat(rim.facet_color[idx], 4, 0)])
            opaque = np.concatenate([opaque, np.repeat(rim.opaque_color[idx], 4, 0)])
            facet_alpha = np.round(rim.facet_alpha[idx] * 255).astype(np.uint8)
            alpha = np.concatenate([alpha, np.repeat(facet_alpha, 4)])
    image_k = k.shifted(-ldi.pad, -ldi.pad, k.width - 2 * ldi.pad, k.height - 2 * ldi.pad)
    guard = hole_guard(ldi, verts) if guard_holes else None
    soft = None
    fringe = outer_fringe(ldi, photo, rim) if rim is not None and photo is not None else None
    if rim is not None and (rim.rim.any() or fringe is not None):
        verts, colors, faces, soft_colors, alpha, opaque = drop_unused_vertices(verts, colors, faces, soft_colors,
                                                                               alpha, opaque)
        soft = SoftEdge(alpha, soft_colors, opaque, *(fringe if fringe is not None else (None, None, None)))
    else:
        verts, colors, faces = drop_unused_vertices(verts, colors, faces)
    return Mesh(verts, colors, faces, image_k, guard=guard, info=MeshInfo(layers=int(ldi.layer.max()) + 1), soft=soft)
