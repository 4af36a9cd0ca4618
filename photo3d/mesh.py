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

from .ldi import DOWN, LDI, LEFT, RIGHT, UP
from .types import Mesh


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


def hole_guard(ldi: LDI, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render-only triangles across every cut of the front layer (what a plain mesh would
    stretch over the discontinuity), each coloured flat with the colour of its farthest
    pixel, i.e. the background. The renderer draws them behind everything, so they show
    only where the layered mesh leaves a hole (a disocclusion wider than the inpainted band,
    or a background surface the single inpainted layer does not hold): the picture never
    shows black holes, and foreground colour is not stretched into them. They are not part
    of the mesh's faces (nor of the PLY).

    The border skirt (:func:`border_skirt`) is added to the same render-only part.

    Returns vertices (4Q, 3) float32, colours (4Q, 3) uint8, faces (2Q, 3) int32.
    """
    h, w = ldi.shape
    grid = np.arange(h * w).reshape(h, w)
    right, down = ldi.links[: h * w, RIGHT].reshape(h, w), ldi.links[: h * w, DOWN].reshape(h, w)
    cut_r, cut_d = right < 0, down < 0
    cut_quad = cut_r[:-1, :-1] | cut_r[1:, :-1] | cut_d[:-1, :-1] | cut_d[:-1, 1:]
    ys, xs = np.nonzero(cut_quad)
    corners = np.stack([grid[ys, xs], grid[ys, xs + 1], grid[ys + 1, xs + 1], grid[ys + 1, xs]], 1)  # (Q, 4)
    far = corners[np.arange(len(corners)), np.argmax(ldi.depth[corners], axis=1)]
    verts = vertices[corners.reshape(-1)]
    colors = np.repeat(ldi.color[far], 4, axis=0)
    skirt_v, skirt_c = border_skirt(ldi)
    verts = np.concatenate([verts, skirt_v])
    colors = np.concatenate([colors, skirt_c])
    base = 4 * np.arange(len(verts) // 4)[:, None]
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]]).astype(np.int32)
    return verts.astype(np.float32), colors, faces


def border_skirt(ldi: LDI, reach: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Quads that continue the canvas's outer ring of front pixels straight outwards, each
    ring pixel keeping its depth and colour (clamp-to-edge), ``reach`` canvas sizes far, plus
    the four corner quads. Part of the hole guard: a camera that moves back or sideways
    further than the extrapolated border covers sees stretched border colours, not black.

    Returns vertices (4Q, 3) float32 and colours (4Q, 3) uint8, four vertices per quad.
    """
    h, w = ldi.shape
    k = ldi.intrinsics
    depth = ldi.depth[: h * w].reshape(h, w)
    color = ldi.color[: h * w].reshape(h, w, 3)
    far = reach * max(h, w)
    quads_uv, quads_z, quads_c = [], [], []

    def side(us: np.ndarray, vs: np.ndarray, du: float, dv: float) -> None:
        # consecutive ring pixels (a, b) and their outward copies (b', a')
        z, c = depth[vs, us], color[vs, us]
        a, b = slice(0, -1), slice(1, None)
        uv = np.stack([np.stack([us[a], vs[a]], 1), np.stack([us[b], vs[b]], 1),
                       np.stack([us[b] + du, vs[b] + dv], 1), np.stack([us[a] + du, vs[a] + dv], 1)], 1)
        quads_uv.append(uv.astype(np.float64))
        quads_z.append(np.stack([z[a], z[b], z[b], z[a]], 1))
        quads_c.append(np.stack([c[a], c[b], c[b], c[a]], 1))

    xs, ys = np.arange(w), np.arange(h)
    side(xs, np.zeros(w, int), 0, -far)
    side(xs, np.full(w, h - 1), 0, far)
    side(np.zeros(h, int), ys, -far, 0)
    side(np.full(h, w - 1), ys, far, 0)
    for cu, cv, su, sv in ((0, 0, -1, -1), (w - 1, 0, 1, -1), (0, h - 1, -1, 1), (w - 1, h - 1, 1, 1)):
        uv = np.array([[[cu, cv], [cu + su * far, cv], [cu + su * far, cv + sv * far], [cu, cv + sv * far]]], float)
        quads_uv.append(uv)
        quads_z.append(np.full((1, 4), depth[cv, cu]))
        quads_c.append(np.repeat(color[cv, cu][None, None], 4, 1))
    uv = np.concatenate(quads_uv).reshape(-1, 2)
    z = np.concatenate(quads_z).reshape(-1)
    verts = k.unproject(uv[:, 0], uv[:, 1], z)
    return verts.astype(np.float32), np.concatenate(quads_c).reshape(-1, 3).astype(np.uint8)


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
    meta: dict = {"layers": int(ldi.layer.max()) + 1}
    if guard_holes:
        meta["hole_vertices"], meta["hole_colors"], meta["hole_faces"] = hole_guard(ldi, verts)
    return Mesh(verts, colors, faces, image_k, meta)
