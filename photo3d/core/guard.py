"""The hole guard: render-only geometry behind the layered mesh, so that no view shows the
clear colour where the mesh leaves a hole (a disocclusion wider than the inpainted band)
or beyond the extrapolated border.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .data import DOWN, LDI, LEFT, RIGHT, UP, GuardGeometry, Mesh


def hole_guard(ldi: LDI, vertices: np.ndarray) -> GuardGeometry:
    """Render-only triangles across every cut of the front layer (what a plain mesh would
    stretch over the discontinuity), each coloured flat with the colour of its farthest
    pixel, i.e. the background. The renderer draws them behind everything, so they show
    only where the layered mesh leaves a hole (a disocclusion wider than the inpainted band,
    or a background surface the single inpainted layer does not hold): the picture never
    shows black holes, and foreground colour is not stretched into them. They are not part
    of the mesh's faces (nor of the PLY).

    The walls at the inpainted layer's own edges (:func:`layer_edge_walls`) and the border
    skirt (:func:`border_skirt`) are added to the same part; they are exportable, as are the
    cut quads with no inpainted layer behind them (:func:`bare_cut_quads`).

    Returns the guard: 4 vertices and 2 faces per quad.
    """
    h, w = ldi.shape
    grid = np.arange(h * w).reshape(h, w)
    n = h * w
    right, down = ldi.links[:n, RIGHT].reshape(h, w), ldi.links[:n, DOWN].reshape(h, w)
    # A cut is a missing link *between front pixels*: after add_layer a far-side pixel's
    # free slot may link to an inpainted pixel (index >= n), which is still a cut of the
    # front layer (checking only "< 0" missed every cut whose far side is left of or above
    # the near side, so left and upward camera moves showed holes).
    cut_r, cut_d = (right < 0) | (right >= n), (down < 0) | (down >= n)
    cut_quad = cut_r[:-1, :-1] | cut_r[1:, :-1] | cut_d[:-1, :-1] | cut_d[:-1, 1:]
    ys, xs = np.nonzero(cut_quad)
    corners = np.stack([grid[ys, xs], grid[ys, xs + 1], grid[ys + 1, xs + 1], grid[ys + 1, xs]], 1)  # (Q, 4)
    far = corners[np.arange(len(corners)), np.argmax(ldi.depth[corners], axis=1)]
    verts = vertices[corners.reshape(-1)]
    colors = np.repeat(ldi.color[far], 4, axis=0)
    bare = bare_cut_quads(ldi, corners)
    skirt_v, skirt_c = border_skirt(ldi)
    wall_v, wall_c = layer_edge_walls(ldi, vertices)
    verts = np.concatenate([verts, skirt_v, wall_v])
    colors = np.concatenate([colors, skirt_c, wall_c])

    def quad_faces(first: int, count: int) -> np.ndarray:
        base = 4 * (first + np.arange(count))[:, None]
        return np.concatenate([base + [0, 1, 2], base + [0, 2, 3]])

    # the walls' faces last: the renderer draws the guard at one depth, first drawn first,
    # so they show only where neither the cut quads nor the skirt do (its render is unchanged)
    walls = len(wall_v) // 4
    quads = len(verts) // 4 - walls
    faces = np.concatenate([quad_faces(0, quads), quad_faces(quads, walls)]).astype(np.int32)
    per_quad = np.concatenate([bare, np.ones(quads - len(corners), dtype=bool)])
    per_quad = np.concatenate([per_quad, per_quad, np.ones(2 * walls, dtype=bool)])
    return GuardGeometry(verts.astype(np.float32), colors, faces, per_quad)


def with_exported_guard(mesh: Mesh) -> Mesh:
    """``mesh`` with the exportable part of its hole guard (``GuardGeometry.exportable``)
    added to its faces, for files that other viewers open: they show the border skirt
    instead of the void when the camera moves past the border, and the stretched background
    where a cut has no inpainted layer. Unchanged without a guard (or with a texture)."""
    guard = mesh.guard
    if guard is None or guard.exportable is None or not guard.exportable.any() or mesh.texture is not None:
        return mesh
    faces = guard.faces[guard.exportable]
    used = np.unique(faces)
    new_index = np.full(len(guard.vertices), -1, dtype=np.int64)
    new_index[used] = mesh.num_vertices + np.arange(used.size)
    soft = mesh.soft
    if soft is not None:  # the guard's vertices are opaque
        soft = dataclasses.replace(soft, alpha=np.concatenate([soft.alpha, np.full(used.size, 255, np.uint8)]),
                                   colors=np.concatenate([soft.colors, guard.colors[used]]).astype(np.uint8),
                                   opaque=None if soft.opaque is None else
                                   np.concatenate([soft.opaque, guard.colors[used]]).astype(np.uint8))
    return dataclasses.replace(
        mesh,
        vertices=np.concatenate([mesh.vertices, guard.vertices[used]]).astype(np.float32),
        colors=np.concatenate([mesh.colors, guard.colors[used]]).astype(np.uint8),
        faces=np.concatenate([mesh.faces, new_index[faces].astype(np.int32)]),
        soft=soft,
    )


def bare_cut_quads(ldi: LDI, corners: np.ndarray) -> np.ndarray:
    """Which cut quads have no inpainted layer behind them to hide, and may be exported.

    A quad is bare when none of its four corners links to an inpainted pixel (no layer
    continues behind this cut), or when the near pixel of one of its cut sides has no meshed
    inpainted pixel behind it: there the layer is missing (a thin structure beside another,
    whose corners link to the other's layer; a pixel that is one segment's context gets no
    layer of its own), a moved camera sees through to the void, and only this quad covers it
    (the exported mesh alone left 0-6 px per frame clear on the Middlebury scenes).

    Args:
        ldi: the layered depth image; corners: (Q, 4) front-pixel indices (TL, TR, BR, BL).
    Returns:
        (Q,) bool.
    """
    h, w = ldi.shape
    n = h * w
    to_layer = (ldi.links[:n] >= n).any(axis=1)
    bare = ~to_layer[corners].any(axis=1)
    layer = np.nonzero((ldi.layer[n:] > 0) & (ldi.links[n:] >= 0).any(axis=1))[0] + n
    backed = np.zeros(n, dtype=bool)
    backed[ldi.y[layer] * w + ldi.x[layer]] = True
    depth = ldi.depth[corners]
    for a, slot, b in ((0, RIGHT, 1), (1, DOWN, 2), (3, RIGHT, 2), (0, DOWN, 3)):
        cut = ldi.links[corners[:, a], slot] != corners[:, b]
        near = np.where(depth[:, a] < depth[:, b], corners[:, a], corners[:, b])
        bare |= cut & ~backed[near]
    return bare


def layer_edge_walls(ldi: LDI, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stretched quads over the gaps of the inpainted layer and from its outer edge to the
    foreground in front of it.

    Behind a foreground edge the inpainted layer reaches only as far as its synthesis region,
    and it has cracks where two of its pixels are not linked (their inpainted depths differ,
    e.g. where the backgrounds of two segments meet); a moved camera sees the void there.
    Take, at every 2 x 2 block of canvas positions that holds an inpainted pixel, the inpainted
    pixel of each position or else its front pixel; where the four are not all linked (the
    mesh leaves the block open), the block gets a quad through them (what a plain mesh would
    stretch there), coloured with its farthest pixel. Where the layer meets the far side of its
    cut the four are linked, so unlike the cut quads these do not stand in front of the layer:
    a viewer that draws them where they are (an exported file) shows them in the void (on the
    Middlebury harness the exported mesh alone scores within 0.05 dB of photo3d's render).

    Args:
        ldi: the layered depth image; vertices: (N', 3) mesh vertices, LDI pixel i at row i.
    Returns:
        vertices (4Q, 3) float32 and colours (4Q, 3) uint8, four vertices per quad (top-left,
        top-right, bottom-right, bottom-left).
    """
    h, w = ldi.shape
    n = h * w
    back = np.full(n, -1, dtype=np.int64)
    layer = np.nonzero(ldi.layer[n:] > 0)[0] + n
    back[ldi.y[layer] * w + ldi.x[layer]] = layer
    back = back.reshape(h, w)
    grid = np.arange(n).reshape(h, w)
    blocks = [(slice(0, -1), slice(0, -1)), (slice(0, -1), slice(1, None)),
              (slice(1, None), slice(1, None)), (slice(1, None), slice(0, -1))]
    has_back = np.stack([back[b] >= 0 for b in blocks], -1)  # (h-1, w-1, 4)
    ys, xs = np.nonzero(has_back.any(-1))
    if ys.size == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    hb = has_back[ys, xs]
    front = np.stack([grid[b][ys, xs] for b in blocks], -1)
    chosen = np.where(hb, np.stack([back[b][ys, xs] for b in blocks], -1), front)
    # the block's four sides (TL-TR, TR-BR, BR-BL, BL-TL): all linked = the mesh covers it
    keep = np.zeros(len(ys), dtype=bool)
    for a, slot in enumerate((RIGHT, DOWN, LEFT, UP)):
        keep |= ldi.links[chosen[:, a], slot] != chosen[:, (a + 1) % 4]
    corners = chosen[keep]
    far = corners[np.arange(len(corners)), np.argmax(ldi.depth[corners], axis=1)]
    return (vertices[corners.reshape(-1)].astype(np.float32),
            np.repeat(ldi.color[far], 4, axis=0).astype(np.uint8))


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
