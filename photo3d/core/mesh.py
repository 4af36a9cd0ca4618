"""The mesh of a layered depth image.

Every LDI pixel is a vertex at its pixel centre, back-projected to its depth. A quad of
four mutually linked pixels gives two triangles, three linked pixels (an L) give one; no
triangle uses a cut link, so nothing is stretched across a depth discontinuity.

Cutting links leaves half-pixel gaps around each discontinuity (the triangles stop at the
pixel centres). The revealed background layer fills the far side of those gaps; on the
near side each front-layer pixel next to a cut gets a facet of its own (a pixel-sized
square at its depth), so that at the input camera every pixel is drawn with its own colour.
"""
from __future__ import annotations

import numpy as np

from .data import DOWN, LDI, LEFT, RIGHT, UP, Mesh, MeshInfo
from .guard import hole_guard


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


def build_mesh(ldi: LDI, edge_facets: bool = True, guard_holes: bool = True) -> Mesh:
    """Mesh of ``ldi`` in the input camera frame (vertex = pixel centre at its depth).

    The canvas band (``ldi.pad``) maps to image coordinates x - pad, y - pad, so the mesh's
    intrinsics are the working image's.
    """
    k = ldi.intrinsics
    z = ldi.depth.astype(np.float32)
    verts = k.unproject(ldi.x, ldi.y, z).astype(np.float32)
    colors = ldi.color
    faces = ldi_triangles(ldi.links)
    if edge_facets:
        # front pixels with a missing link: beside a cut, or on the canvas's outer ring
        # (whose outer half-pixel no triangle covers either)
        cut = (ldi.layer == 0) & (ldi.links < 0).any(1)
        idx = np.nonzero(cut)[0]
        m = idx.size
        corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]], dtype=np.float32)
        cx = (ldi.x[idx, None] + corners[None, :, 0])
        cy = (ldi.y[idx, None] + corners[None, :, 1])
        cz = np.repeat(z[idx, None], 4, 1)
        fverts = k.unproject(cx, cy, cz).reshape(-1, 3)
        base = verts.shape[0] + 4 * np.arange(m)[:, None]
        ffaces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]]).astype(np.int32)
        verts = np.concatenate([verts, fverts.astype(np.float32)])
        colors = np.concatenate([colors, np.repeat(ldi.color[idx], 4, 0)])
        faces = np.concatenate([faces, ffaces])
    image_k = k.shifted(-ldi.pad, -ldi.pad, k.width - 2 * ldi.pad, k.height - 2 * ldi.pad)
    guard = hole_guard(ldi, verts) if guard_holes else None
    return Mesh(verts, colors, faces, image_k, guard=guard, info=MeshInfo(layers=int(ldi.layer.max()) + 1))
