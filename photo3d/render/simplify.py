"""What the renderer draws (:class:`RenderMesh`), made from a :class:`photo3d.core.data.Mesh`
in pure numpy (testable without OpenGL).

Mesa's llvmpipe (the CPU rasteriser) spends its time per triangle when triangles are
pixel-sized, as in a depth image's mesh (2 per pixel): a 2.5 M-triangle mesh costs about
200 ms of CPU per frame whatever the resolution. :func:`simplify_grid_mesh` therefore
replaces planar patches of the pixel grid by textured fans (about 10x fewer triangles,
identical picture up to ~50 dB) before upload, and :func:`merge_flat_squares` merges the
flat-coloured pixel squares beside depth cuts (the edge facets; the hole guard's quads are no
longer merged: ``render_mesh``) into strips.
"""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field

import numpy as np

from ..core.data import Mesh
from ..errors import Photo3DError


def _check_mesh(mesh: Mesh) -> None:
    vertices, colors, faces = mesh.vertices, mesh.colors, mesh.faces
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise Photo3DError(f"mesh: vertices must be (V, 3) with V > 0, got {vertices.shape}")
    if colors.shape != vertices.shape:
        raise Photo3DError(f"mesh: colors must be (V, 3) like vertices {vertices.shape}, got {colors.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise Photo3DError(f"mesh: faces must be (F, 3), got {faces.shape}")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise Photo3DError(f"mesh: face indices must lie in [0, {len(vertices)}), got [{faces.min()}, {faces.max()}]")
    if not np.isfinite(vertices).all():
        raise Photo3DError("mesh: vertices contain NaN or inf")


def _mesh_texture(mesh: Mesh) -> tuple[np.ndarray, np.ndarray] | None:
    """(uv (V, 2) float32, texture (H, W, 3) uint8) when the mesh carries a colour texture."""
    if mesh.texture is None:
        return None
    uv = np.asarray(mesh.texture.uv, dtype=np.float32)
    texture = np.asarray(mesh.texture.image)
    if uv.shape != (mesh.num_vertices, 2):
        raise Photo3DError(f"mesh: texture uv must be ({mesh.num_vertices}, 2), got {uv.shape}")
    if texture.ndim != 3 or texture.shape[2] != 3 or texture.dtype != np.uint8:
        raise Photo3DError(f"mesh: texture image must be (H, W, 3) uint8, got {texture.shape} {texture.dtype}")
    return uv, texture


@dataclass
class FlatPart:
    """Merged flat-coloured unit squares (:func:`merge_flat_squares`): textured from ``texture``
    with nearest filtering, uv affine in the input image (projective), so each original square
    keeps its own colour exactly. vertices (V, 3) float32, uv (V, 2) float32, faces (F, 3) uint32,
    texture (h, w, 3) uint8 (RGBA (h, w, 4), straight alpha, for the soft rim) or None when empty."""

    vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    texture: np.ndarray | None = None


@dataclass
class RenderMesh:
    """What the renderer draws: vertex-coloured triangles plus textured triangles.

    vertices (V, 3) float32, colors (V, 3) uint8, faces (F, 3) uint32: vertex-coloured part.
    tex_vertices (T, 3) float32, tex_uv (T, 2) float32, tex_faces (G, 3) uint32, texture
    (h, w, 3) uint8 or None: textured part (uv (0, 0) = texture's top-left corner).
    tex_projective: the textured part's uv are affine in the input image (the patches of
    :func:`simplify_grid_mesh`): the renderer interpolates them in the input camera's image
    (projective texturing) rather than along the 3D triangle, so that a fan over a slanted patch
    shows its texels where the pixel grid had them.
    hole_vertices/hole_colors/hole_faces: the hole guard (``Mesh.guard``), drawn
    behind everything else and left out of the coverage mask.
    blend_vertices (B, 3) float32, blend_colors (B, 4) uint8 RGBA (straight alpha),
    blend_faces (K, 3) uint32: the soft rim (``Mesh.soft``), drawn last, blended over
    everything else, without writing depth; blend_flat: the rim's facets merged into strips
    (RGBA texture), drawn blended like it, before it.
    masked: patches over cuts and holes whose missing quads the fragment shader discards
    (:class:`MaskedPart`, ``simplify_grid_mesh(masked=True)``); empty otherwise.
    """

    vertices: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    tex_vertices: np.ndarray
    tex_uv: np.ndarray
    tex_faces: np.ndarray
    texture: np.ndarray | None
    hole_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    hole_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    hole_faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    tex_projective: bool = False
    flat: FlatPart = field(default_factory=lambda: FlatPart())
    hole_flat: FlatPart = field(default_factory=lambda: FlatPart())
    blend_vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    blend_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.uint8))
    blend_faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    blend_flat: FlatPart = field(default_factory=lambda: FlatPart())
    masked: "MaskedPart" = field(default_factory=lambda: MaskedPart())

    @property
    def num_triangles(self) -> int:
        return int(len(self.faces) + len(self.tex_faces) + len(self.hole_faces) + len(self.flat.faces)
                   + len(self.hole_flat.faces) + len(self.blend_faces) + len(self.blend_flat.faces)
                   + len(self.masked.faces))


def _by_first_vertex(faces: np.ndarray) -> np.ndarray:
    """``faces`` ordered by their smallest vertex index (stable): triangles that share vertices
    reach the rasteriser together, so llvmpipe's vertex cache shades each vertex fewer times
    (the grid's triangles come in passes over the whole image; ~7 % of a frame's CPU time)."""
    if len(faces) == 0:
        return faces
    return faces[np.argsort(faces.min(1), kind="stable")]


def _empty_part() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros((0, 3), np.float32), np.zeros((0, 2), np.float32), np.zeros((0, 3), np.uint32)


def _unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted keys that occur once, their positions in ``keys``)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    single = np.ones(len(keys), bool)
    if len(keys) > 1:
        dup = sorted_keys[1:] == sorted_keys[:-1]
        single[1:] &= ~dup
        single[:-1] &= ~dup
    return sorted_keys[single], order[single]


def _lookup(table_keys: np.ndarray, table_values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """table_values where keys are found in the sorted table_keys, else -1."""
    if len(table_keys) == 0:
        return np.full(len(keys), -1, np.int64)
    pos = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    return np.where(table_keys[pos] == keys, table_values[pos], -1)


def _grid_quads(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit pixel squares covered by two triangles of the mesh's pixel-centre grid.

    A vertex is on the grid when it projects (through ``mesh.intrinsics``, identity pose)
    to within 1e-3 px of a pixel centre. Two triangles sharing a diagonal and covering the
    square between four grid vertices make a quad.

    Returns:
        quads: (Q, 4) int64 vertex ids at the square's (top-left, top-right, bottom-left,
            bottom-right) pixel centres.
        origin: (Q, 2) int64 pixel (x, y) of the top-left vertex.
        quad_faces: (Q, 2) int64 indices of the two faces.
    """
    return _pair_triangles(_grid_triangles(mesh), mesh.num_vertices)


def _grid_triangles(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The mesh's unit right triangles on its pixel-centre grid (see :func:`_grid_quads`):
    (face ids (T,), by_corner (T, 4) int32 vertex ids at TL, TR, BL, BR (-1 at the corner it
    lacks), missing (T,) the corner it lacks (0 TL, 1 TR, 2 BL, 3 BR), origin (T, 2) int64)."""
    k = mesh.intrinsics
    v = mesh.vertices
    z = v[:, 2].astype(np.float64)
    positive = z > 0
    inv_z = np.divide(1.0, z, out=np.zeros_like(z), where=positive)
    u = k.fx * v[:, 0] * inv_z + k.cx
    w = k.fy * v[:, 1] * inv_z + k.cy
    ui, wi = np.round(u), np.round(w)
    on_grid = positive & (np.abs(u - ui) < 1e-3) & (np.abs(w - wi) < 1e-3)
    px_x = np.where(on_grid, ui, 0).astype(np.int32)
    px_y = np.where(on_grid, wi, 0).astype(np.int32)

    faces = np.asarray(mesh.faces, dtype=np.int32)
    grid_faces = on_grid[faces]
    face_ids = np.nonzero(grid_faces[:, 0] & grid_faces[:, 1] & grid_faces[:, 2])[0]
    f = faces[face_ids]
    cx, cy = px_x[f], px_y[f]  # (F, 3) each
    x0 = np.minimum(np.minimum(cx[:, 0], cx[:, 1]), cx[:, 2])
    y0 = np.minimum(np.minimum(cy[:, 0], cy[:, 1]), cy[:, 2])
    cx -= x0[:, None]
    cy -= y0[:, None]
    code = cx + 2 * cy  # corner code 0 TL, 1 TR, 2 BL, 3 BR when the offsets are 0/1
    # A unit right triangle: offsets in {0, 1}, both reach 1, three distinct corners.
    keep = ((cx | cy) <= 1).all(1) & (cx.max(1) == 1) & (cy.max(1) == 1)
    keep &= (code[:, 0] != code[:, 1]) & (code[:, 1] != code[:, 2]) & (code[:, 0] != code[:, 2])
    if not keep.all():
        face_ids, f, code, x0, y0 = face_ids[keep], f[keep], code[keep], x0[keep], y0[keep]
    origin = np.stack([x0, y0], 1).astype(np.int64)
    by_corner = np.full((len(face_ids), 4), -1, np.int32)
    by_corner[np.arange(len(face_ids))[:, None], code] = f
    missing = 6 - code.sum(1)
    return face_ids, by_corner, missing, origin


def _pair_triangles(triangles: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], num_vertices: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The quads of :func:`_grid_quads` from :func:`_grid_triangles`' triangles."""
    face_ids, by_corner, missing, origin = triangles
    n = np.int64(num_vertices)
    quads, quad_origin, quad_faces = [], [], []
    # Diagonal TR-BL: triangles missing BR and TL. Diagonal TL-BR: missing TR and BL.
    for (miss_a, miss_b), (d0, d1) in (((3, 0), (1, 2)), ((1, 2), (0, 3))):
        a = np.nonzero(missing == miss_a)[0]
        b = np.nonzero(missing == miss_b)[0]
        keys_b, pos_b = _unique_keys(by_corner[b, d0] * n + by_corner[b, d1])  # int64 keys
        keys_a, pos_a = _unique_keys(by_corner[a, d0] * n + by_corner[a, d1])
        partner = _lookup(keys_b, b[pos_b], keys_a)
        ok = partner >= 0
        fa, fb = a[pos_a[ok]], partner[ok]
        quad = np.maximum(by_corner[fa], by_corner[fb])  # each corner is set in one of the two
        quads.append(quad.astype(np.int64))
        quad_origin.append(origin[fa])
        quad_faces.append(np.stack([face_ids[fa], face_ids[fb]], 1))
    return np.concatenate(quads), np.concatenate(quad_origin), np.concatenate(quad_faces)


def _with_coincident(vertices: np.ndarray, used: np.ndarray) -> np.ndarray:
    """``used`` (V,) bool, also set on every vertex at exactly the position of a used one.

    A patch side keeps its inner vertices that other triangles use; a triangle can use a
    *copy* of a grid vertex (the exported hole guard's quads, a GLB or PLY read back: same
    position, own index and colour), and dropping the original then leaves a T-junction whose
    crack shows as a pinhole where a pixel centre falls on it (Wood1 at yaw -10 degrees with
    the sideways move, the exported mesh alone). Positions are compared through a hash of
    their bits; a collision only keeps one more vertex."""
    if not used.any() or used.all():
        return used
    key = _position_keys(vertices)
    order = np.argsort(key)
    sorted_key = key[order]
    same = sorted_key[1:] == sorted_key[:-1]
    if not same.any():  # every position once: nothing to share
        return used
    group = np.concatenate([[0], np.cumsum(~same)])  # group of each sorted vertex
    group_used = np.zeros(group[-1] + 1, bool)
    group_used[group[used[order]]] = True
    out = np.empty_like(used)
    out[order] = group_used[group]
    return out


def _position_keys(vertices: np.ndarray) -> np.ndarray:
    """(V,) uint64 hash of each vertex's float32 position bits (equal positions, equal keys)."""
    bits = np.ascontiguousarray(vertices, np.float32).view(np.uint32).astype(np.uint64)
    return (bits[:, 0] * np.uint64(0x9E3779B97F4A7C15)) ^ (bits[:, 1] * np.uint64(0xC2B2AE3D27D4EB4F)) ^ bits[:, 2]


def _coincident(vertices: np.ndarray) -> np.ndarray:
    """(V,) bool: vertices at exactly the position of another one (compared as
    :func:`_with_coincident` does; a hash collision only flags one more vertex)."""
    _, inverse, counts = np.unique(_position_keys(vertices), return_inverse=True, return_counts=True)
    return counts[inverse.ravel()] > 1


def _fan_weights(block: int) -> np.ndarray:
    """((block+1)^2, 5) weights interpolating a block's grid in image space from its centre and
    corners (TL, TR, BL, BR) over the 4 triangles of the centre fan."""
    half = block / 2.0
    j, i = np.meshgrid(np.arange(block + 1), np.arange(block + 1))  # i row, j column
    dx, dy = (j - half).ravel() / half, (i - half).ravel() / half  # in [-1, 1]
    weights = np.zeros((dx.size, 5))
    # Triangle (centre, c1, c2) with corner offsets at (+-1, +-1): solve barycentrics.
    sides = {  # side: (corner a, corner b, selector)
        "top": (1, 2, dy <= -np.abs(dx)),
        "bottom": (3, 4, dy >= np.abs(dx)),
        "left": (1, 3, dx <= -np.abs(dy)),
        "right": (2, 4, dx >= np.abs(dy)),
    }
    corner_xy = {1: (-1, -1), 2: (1, -1), 3: (-1, 1), 4: (1, 1)}
    done = np.zeros(dx.size, bool)
    for a, b, sel in sides.values():
        sel = sel & ~done
        (ax, ay), (bx, by) = corner_xy[a], corner_xy[b]
        mat = np.array([[ax, bx], [ay, by]], dtype=np.float64)
        wa, wb = np.linalg.solve(mat, np.stack([dx[sel], dy[sel]]))
        weights[sel, a], weights[sel, b], weights[sel, 0] = wa, wb, 1 - wa - wb
        done |= sel
    return weights


def _diagonal_weights(block: int) -> np.ndarray:
    """(2, (block+1)^2, 5) weights interpolating a block's grid in image space from its corners
    (key order centre, TL, TR, BL, BR; the centre unused) over two triangles split along the
    diagonal TL-BR (index 0) or TR-BL (index 1)."""
    j, i = np.meshgrid(np.arange(block + 1), np.arange(block + 1))  # i row, j column
    s, t = j.ravel() / block, i.ravel() / block  # in [0, 1]
    weights = np.zeros((2, s.size, 5))
    upper = s >= t  # TL-BR: triangles (TL, TR, BR) above the diagonal, (TL, BL, BR) below
    weights[0, :, 1] = np.where(upper, 1 - s, 1 - t)
    weights[0, :, 2] = np.where(upper, s - t, 0)
    weights[0, :, 3] = np.where(upper, 0, t - s)
    weights[0, :, 4] = np.where(upper, t, s)
    near = s + t <= 1  # TR-BL: triangles (TL, TR, BL) and (TR, BL, BR)
    weights[1, :, 1] = np.where(near, 1 - s - t, 0)
    weights[1, :, 2] = np.where(near, s, 1 - t)
    weights[1, :, 3] = np.where(near, t, 1 - s)
    weights[1, :, 4] = np.where(near, 0, s + t - 1)
    return weights


def _adjacent_free(quads: np.ndarray, free: np.ndarray, n: int,
                   adjacency: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(right_of, down_of) (Q + 1,): the free quad sharing each free quad's right (bottom) edge,
    -1 where none; index -1 (missing) maps to missing (from ``adjacency``, :func:`_adjacency`,
    when given)."""
    right_of, down_of = _adjacency(quads, n) if adjacency is None else adjacency
    right_of = np.append(np.where(free & (right_of >= 0) & free[np.maximum(right_of, 0)], right_of, -1), -1)
    down_of = np.append(np.where(free & (down_of >= 0) & free[np.maximum(down_of, 0)], down_of, -1), -1)
    return right_of, down_of


def _adjacency(quads: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(right_of, down_of) (Q,): the quad sharing each quad's right (bottom) edge, -1 where none.
    ``quads`` (Q, 4) may hold -1 at corners a unit lacks (a half quad): edges with a missing end
    are shared with none."""
    n = np.int64(n)
    tl, tr, bl, br = quads.T.astype(np.int64)

    def table(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        valid = np.nonzero((a >= 0) & (b >= 0))[0]
        keys, pos = _unique_keys(a[valid] * n + b[valid])
        return keys, valid[pos]

    def find(keys_pos: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray) -> np.ndarray:
        valid = (a >= 0) & (b >= 0)
        return np.where(valid, _lookup(*keys_pos, np.where(valid, a * n + b, -1)), -1)  # keys >= 0

    return find(table(tl, bl), tr, br), find(table(tl, tr), bl, br)


def _find_blocks(
    quads: np.ndarray, origin: np.ndarray, block: int, disparity: np.ndarray, allowed: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned block x block patches of quads forming one connected grid with planar disparity.

    Returns:
        grid: (B, block, block) quad indices, rows top to bottom.
        diagonal_ok: (B, 2, 2) bool: whether the two triangles split along diagonal d (0: TL-BR,
            1: TR-BL) also hold every vertex within its allowed error ([:, d, 0]) or within
            half of it ([:, d, 1]; see :func:`simplify_grid_mesh`).
    """
    # Only free quads take part
    right_of, down_of = _adjacent_free(quads, free, len(disparity))

    start = np.nonzero(free & (origin[:, 0] % block == 0) & (origin[:, 1] % block == 0))[0]
    grid = np.full((len(start), block, block), -1, np.int64)
    grid[:, 0, 0] = start
    for c in range(1, block):
        grid[:, 0, c] = right_of[grid[:, 0, c - 1]]
    for r in range(1, block):
        grid[:, r] = down_of[grid[:, r - 1]]
    ok = (grid >= 0).all((1, 2))
    ok &= (right_of[grid[:, :, :-1]] == grid[:, :, 1:]).all((1, 2))
    grid = grid[ok]
    # A quad in two candidate blocks means a tangled mesh there: leave it alone.
    count = np.bincount(grid.ravel(), minlength=len(quads))
    grid = grid[(count[grid] == 1).all((1, 2))]
    if len(grid) == 0:
        return grid, np.zeros((0, 2, 2), bool)

    verts = _block_vertices(quads, grid)
    disp = disparity[verts.reshape(len(grid), -1)]
    centre = block // 2
    key = np.stack(
        [disp[:, centre * (block + 1) + centre], disp[:, 0], disp[:, block], disp[:, block * (block + 1)], disp[:, -1]], 1
    )
    bound = allowed[verts.reshape(len(grid), -1)]
    planar = (np.abs(key @ _fan_weights(block).T - disp) <= bound).all(1)
    return grid[planar], _diagonals_hold(key[planar], disp[planar], bound[planar], block)


def _diagonals_hold(key: np.ndarray, disp: np.ndarray, bound: np.ndarray, block: int) -> np.ndarray:
    """(B, 2, 2) bool: whether the two triangles of a block's diagonal d (0: TL-BR, 1: TR-BL),
    from its key disparities (B, 5), hold every vertex's disparity (B, (block+1)^2) within its
    ``bound`` ([:, d, 0]) or within half of it ([:, d, 1])."""
    diagonal_ok = np.zeros((len(key), 2, 2), bool)
    for d, weights in enumerate(_diagonal_weights(block)):
        error = np.abs(key @ weights.T - disp)
        diagonal_ok[:, d, 0] = (error <= bound).all(1)
        diagonal_ok[:, d, 1] = (error <= 0.5 * bound).all(1)
    return diagonal_ok


@dataclass
class _MaskedBlocks:
    """Aligned blocks of which only some quads belong to one surface (:func:`_find_masked_blocks`).

    grid (B, k, k) unit ids (quads, half quads), -1 where the block's square is not the surface's; verts (B, k+1, k+1)
    vertex ids, -1 at grid points no present quad has; key (B, 5) disparity of the fan's centre
    and corners (TL, TR, BL, BR), the vertex's own where present, else the least-squares plane's;
    corner (B, 2) int64 pixel (x, y) of the block's top-left point; diagonal_ok (B, 2, 2) as
    :func:`_find_blocks`."""

    grid: np.ndarray
    verts: np.ndarray
    key: np.ndarray
    corner: np.ndarray
    diagonal_ok: np.ndarray


GUARD_SHARE = 0.25
"""Share of the error bound that a masked patch's inner points where the hole guard's quads meet
the mesh (``shared``) may take: the guard's edge stays at the true point, so the sliver between
it and the patch's masked edge is at most this share of ``render.simplify_error`` (0.075 px at
0.3), narrow enough that no pixel centre was seen in it (``benchmarks.holes``); 1 left 1 px
clear in 2 of 138 of its renders."""

MASK_FULL = 5
"""Mask code of a whole pixel square; 1-4: the half (one triangle) without corner TL, TR, BL, BR
(code 1 + corner), 0: none (:class:`MaskedPart`)."""


def _key_points(block: int) -> np.ndarray:
    """Flat (row * (block+1) + column) indices of the fan's centre and corners TL, TR, BL, BR."""
    kp, c = block + 1, block // 2
    return np.array([c * kp + c, 0, block, block * kp, kp * kp - 1])


def _find_masked_blocks(units: np.ndarray, origin: np.ndarray, unit_faces: np.ndarray, codes: np.ndarray,
                        block: int, disparity: np.ndarray, allowed: np.ndarray, free: np.ndarray,
                        faces: np.ndarray, uses: np.ndarray, pinned: np.ndarray | None = None,
                        guarded: np.ndarray | None = None, adjacency: tuple[np.ndarray, np.ndarray] | None = None,
                        min_share: float = 0.25) -> _MaskedBlocks:
    """Aligned block x block patches of which only some pixel squares are present.

    ``units`` (U, 4) vertex ids (TL, TR, BL, BR) of the grid's quads and half quads (single
    triangles, -1 at the corner they lack), ``origin`` (U, 2) their pixel, ``unit_faces`` (U, 2)
    their faces (-1 for a half's second), ``codes`` (U,) their mask code (:data:`MASK_FULL`, or
    1 + the corner a half lacks); ``free`` (U,) those not taken yet; ``adjacency``: their
    :func:`_adjacency`, when computed once for all block sizes.

    A patch is a connected piece of free units inside an aligned block (connected through shared
    edges, so one surface: another layer at the same pixels has its own vertices and makes its
    own piece) covering at least ``min_share`` of the block's squares (and at least 3), whose
    vertices lie within ``allowed`` of a centre fan. The fan's centre and corners are the
    vertices there, else points of the least-squares plane in disparity through the piece's
    vertices; the bound holds on the present vertices only (the rest of the block is masked
    out when drawn). Pieces whose inner points (inside the block) ``faces`` (F, 3) outside the
    piece use (``uses`` (V,): how many faces hold each point), or that are ``pinned`` (V,) (a
    copy of them is used elsewhere: an exported hole guard's quads meet the cuts there), are
    left out: dropping them would open cracks; checked here, so that a piece left alone leaves
    its units to the smaller blocks. Inner points that are ``guarded`` (V,) (the render-only
    hole guard meets them) must lie within :data:`GUARD_SHARE` of their bound."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    k, kp = block, block + 1
    empty = _MaskedBlocks(np.zeros((0, k, k), np.int64), np.zeros((0, kp, kp), np.int64), np.zeros((0, 5)),
                          np.zeros((0, 2), np.int64), np.zeros((0, 2, 2), bool))
    if not free.any():
        return empty
    right_of, down_of = _adjacent_free(units, free, len(disparity), adjacency)
    cell = origin // k  # aligned block of each unit
    src, dst = [], []
    for step in (right_of, down_of):
        a = np.nonzero(step[:-1] >= 0)[0]
        b = step[a]
        inside = (cell[a] == cell[b]).all(1)
        src.append(a[inside])
        dst.append(b[inside])
    src, dst = np.concatenate(src), np.concatenate(dst)
    u = len(units)
    _, label = connected_components(coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(u, u)),
                                    directed=True, connection="weak")
    members = np.nonzero(free)[0]
    area = np.where(codes[members] == MASK_FULL, 1.0, 0.5)
    sizes = np.bincount(label[members], weights=area, minlength=label.max() + 1)
    # under 3 squares (6 triangles) nothing is saved over a fan's 2-4 triangles
    members = members[sizes[label[members]] >= max(min_share * k * k, 3)]
    if len(members) == 0:
        return empty
    comp_ids, comp = np.unique(label[members], return_inverse=True)
    nc = len(comp_ids)
    local = origin[members] - cell[members] * k  # (x, y) inside the block
    pos = comp * (k * k) + local[:, 1] * k + local[:, 0]
    ok = np.ones(nc, bool)
    ok[comp[np.bincount(pos, minlength=nc * k * k)[pos] > 1]] = False  # two units at one square: tangled
    grid = np.full(nc * k * k, -1, np.int64)
    grid[pos] = members
    # grid points of each piece; units that meet at a point but not along edges may disagree
    # on its vertex (a slit of a cut): such pieces are left alone
    hi = np.full(nc * kp * kp, -1, np.int64)
    lo = np.full(nc * kp * kp, np.iinfo(np.int64).max, np.int64)
    for corner_index, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        ids = units[members, corner_index].astype(np.int64)
        has = ids >= 0
        point = (comp * (kp * kp) + (local[:, 1] + dy) * kp + local[:, 0] + dx)[has]
        np.maximum.at(hi, point, ids[has])
        np.minimum.at(lo, point, ids[has])
    present = hi >= 0
    ok[(np.nonzero(present & (hi != lo))[0] // (kp * kp))] = False
    corner = np.zeros((nc, 2), np.int64)
    corner[comp] = cell[members] * k
    grid, verts, corner = grid.reshape(nc, k, k)[ok], hi.reshape(nc, kp, kp)[ok], corner[ok]
    if len(grid) == 0:
        return empty

    flat = verts.reshape(len(grid), -1)
    present = flat >= 0
    disp = np.where(present, disparity[np.maximum(flat, 0)], 0.0)
    # least-squares plane d = a + b x + c y (centred local coordinates) over the present points
    i, j = np.divmod(np.arange(kp * kp), kp)
    basis = np.stack([np.ones(kp * kp), j - k / 2.0, i - k / 2.0], 1)  # (P, 3)
    w = present.astype(np.float64)
    normal = np.einsum("bp,pi,pj->bij", w, basis, basis)
    rhs = np.einsum("bp,pi->bi", w * disp, basis)
    coef = np.linalg.solve(normal, rhs[..., None])[..., 0]  # >= 3 squares' points span a plane
    keys = _key_points(k)
    key = np.where(present[:, keys], disp[:, keys], coef @ basis[keys].T)
    d_lo = np.where(present, disp, np.inf).min(1)
    d_hi = np.where(present, disp, -np.inf).max(1)
    # extrapolated corners must stay in front of the camera and near the piece's depths (a far
    # corner would also widen the depth range the frame's depth buffer has to resolve)
    sane = ((key >= 0.5 * d_lo[:, None]) & (key <= 2.0 * d_hi[:, None])).all(1)
    bound = np.where(present, allowed[np.maximum(flat, 0)], np.inf)
    if guarded is not None:  # inner points the render-only guard meets: GUARD_SHARE of the bound
        inner = np.zeros((kp, kp), bool)
        inner[1:-1, 1:-1] = True
        bound = np.where(present & inner.ravel()[None] & guarded[np.maximum(flat, 0)], GUARD_SHARE * bound, bound)
    keep = sane & (np.abs(key @ _fan_weights(k).T - disp) <= bound).all(1)

    # inner points used by faces outside the piece: all of a point's uses (``uses``, the faces
    # that hold it) must be faces of its own piece
    has = grid >= 0
    piece_faces = unit_faces[grid[has]]  # (n, 2), -1: a half's absent second face
    piece_ids = np.broadcast_to(np.arange(len(grid))[:, None, None, None], has.shape + (2,))[has]
    real = piece_faces >= 0
    points = faces[piece_faces[real]].ravel()  # each face holds a point once
    point_piece = np.repeat(piece_ids[real], 3)
    count = np.bincount(points, minlength=len(disparity))
    lo = np.full(len(disparity), len(grid), np.int64)
    hi = np.full(len(disparity), -1, np.int64)
    np.minimum.at(lo, points, point_piece)
    np.maximum.at(hi, points, point_piece)
    inner = verts[:, 1:-1, 1:-1]
    b_ids = np.broadcast_to(np.arange(len(grid))[:, None, None], inner.shape)[inner >= 0]
    v_ids = inner[inner >= 0]
    alone = (uses[v_ids] == count[v_ids]) & (lo[v_ids] == b_ids) & (hi[v_ids] == b_ids)
    if pinned is not None:
        alone &= ~pinned[v_ids]
    keep[b_ids[~alone]] = False

    return _MaskedBlocks(grid[keep], verts[keep], key[keep], corner[keep],
                         _diagonals_hold(key[keep], disp[keep], bound[keep], k))


def _block_vertices(quads: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(B, k+1, k+1) vertex ids of blocks of quads (B, k, k)."""
    b, k = grid.shape[0], grid.shape[1]
    verts = np.empty((b, k + 1, k + 1), np.int64)
    verts[:, :k, :k] = quads[grid, 0]
    verts[:, :k, k] = quads[grid[:, :, -1], 1]
    verts[:, k, :k] = quads[grid[:, -1, :], 2]
    verts[:, k, k] = quads[grid[:, -1, -1], 3]
    return verts


def disparity_tolerance(mesh: Mesh, pixels: float, shift_xy: float, shift_z: float, focal_scale: float = 1.0) -> np.ndarray:
    """(V,) float64 disparity error each vertex may take so that its image moves by at most
    ``pixels`` (of the input camera's image) from any camera translated by up to ``shift_xy``
    sideways and ``shift_z`` along the axis, with focal lengths scaled by up to ``focal_scale``.

    A point at pixel (u, v) and disparity d seen from a camera translated by t projects to
    u' - cx = s ((u - cx) - fx tx d) / (1 - tz d); so du'/dd = s (-fx tx + (u - cx) tz) /
    (1 - tz d)^2, bounded by s (fx |t_xy| + r |tz|) / (1 - |tz| d)^2 with r the vertex's
    distance from the principal point. At the input camera alone (no shift) any error is
    invisible; the bound is then set by a nominal 1 % relative disparity.
    """
    k = mesh.intrinsics
    v = mesh.vertices.astype(np.float64)
    z = np.maximum(v[:, 2], 1e-12)
    d = 1.0 / z
    r = np.hypot(v[:, 0] * d * k.fx, v[:, 1] * d * k.fy)
    f = max(k.fx, k.fy)
    gain = focal_scale * (f * abs(shift_xy) + r * abs(shift_z)) / np.maximum(1.0 - abs(shift_z) * d, 0.1) ** 2
    return np.where(gain > 0, pixels / np.maximum(gain, 1e-300), 0.01 * d)


@dataclass
class MaskedPart:
    """Patches over depth cuts and holes (``simplify_grid_mesh(masked=True)``): textured fans
    over whole aligned blocks, of which only some pixel squares (quads) are the surface's; the
    fragment shader discards the rest by ``mask``. vertices (V, 3) float32, uv (V, 2) float32
    (affine in the input image, as the patches'), faces (F, 3) uint32, texture (h, w, 3) uint8
    (the patches' vertex colours, bilinear), mask (h, w) uint8: at the texel of each pixel
    square's top-left vertex its code (:data:`MASK_FULL`, 1-4 a half, 0 none); square (V, 4)
    float32: each vertex's (cell x, cell y, grid column, grid row), the texel of its patch's
    top-left vertex and its own place in the patch's grid: the square under a fragment is
    cell + floor(column, row), read with nearest filtering (uv, up to the atlas's width, would
    carry too much rounding for the fill rule's ties; see the renderer's shader)."""

    vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    uv: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    faces: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint32))
    texture: np.ndarray | None = None
    mask: np.ndarray | None = None
    square: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))


@dataclass
class _Level:
    """Patches of one block size: grid (B, k, k) unit ids (-1: not the patch's, masked out),
    verts (B, k+1, k+1) vertex ids (-1: no present unit there), diagonal_ok (B, 2, 2), points
    (B, k+1, k+1, 3) positions of the grid points (the plane's at missing key points), codes
    (B, k, k) uint8 mask codes (:data:`MASK_FULL`...), masked: drawn with the mask."""

    grid: np.ndarray
    verts: np.ndarray
    diagonal_ok: np.ndarray
    points: np.ndarray
    codes: np.ndarray
    masked: bool


def _masked_level(mesh: Mesh, blocks: _MaskedBlocks, unit_codes: np.ndarray) -> _Level:
    """The level of masked patches: their fan's missing centre or corners placed at the plane's
    disparity over their pixel."""
    nb, kp = blocks.verts.shape[0], blocks.verts.shape[1]
    points = np.asarray(mesh.vertices, np.float64)[np.maximum(blocks.verts, 0)]
    keys = _key_points(kp - 1)
    row, col = np.divmod(keys, kp)
    u = blocks.corner[:, 0:1] + col[None]  # (B, 5) pixel x of the key points
    v = blocks.corner[:, 1:2] + row[None]
    planar = mesh.intrinsics.unproject(u, v, 1.0 / blocks.key)  # (B, 5, 3)
    flat = points.reshape(nb, kp * kp, 3)
    missing = blocks.verts.reshape(nb, kp * kp)[:, keys] < 0
    flat[:, keys] = np.where(missing[..., None], planar, flat[:, keys])
    codes = np.where(blocks.grid >= 0, unit_codes[np.maximum(blocks.grid, 0)], 0).astype(np.uint8)
    return _Level(blocks.grid, blocks.verts, blocks.diagonal_ok, flat.reshape(points.shape), codes, True)


def _cell_colors(level: _Level, colors: np.ndarray) -> np.ndarray:
    """(B, k+1, k+1, 3) uint8 texel colours of masked patches: the vertices' colours, and at a
    half quad's missing corner the colour that makes the square's bilinear texture the half's
    own linear one (adjacent corners' sum less the opposite corner; averaged where two halves
    lack the same point), so that a half keeps the full mesh's colours."""
    verts, codes = level.verts, level.codes
    present = verts >= 0
    texels = np.where(present[..., None], colors[np.maximum(verts, 0)], 0).astype(np.float64)
    total = np.zeros_like(texels)
    count = np.zeros(verts.shape)
    offsets = np.array([(0, 0), (0, 1), (1, 0), (1, 1)])  # (dy, dx) of TL, TR, BL, BR
    for corner in range(4):
        b, i, j = np.nonzero(codes == corner + 1)
        if len(b) == 0:
            continue
        at = lambda c: texels[b, i + offsets[c, 0], j + offsets[c, 1]]  # noqa: E731
        adjacent = [c for c in range(4) if c != corner and c != 3 - corner]
        value = at(adjacent[0]) + at(adjacent[1]) - at(3 - corner)
        np.add.at(total, (b, i + offsets[corner, 0], j + offsets[corner, 1]), value)
        np.add.at(count, (b, i + offsets[corner, 0], j + offsets[corner, 1]), 1)
    fill = ~present & (count > 0)
    texels[fill] = total[fill] / count[fill][:, None]
    return np.clip(np.round(texels), 0, 255).astype(np.uint8)


def _run_ends(present: np.ndarray) -> np.ndarray:
    """(B, kp) bool: present points of a side next to a missing one along it (B, kp) bool."""
    ends = np.zeros_like(present)
    ends[:, 1:] |= present[:, 1:] & ~present[:, :-1]
    ends[:, :-1] |= present[:, :-1] & ~present[:, 1:]
    return ends


def _side_runs(k: int) -> list[np.ndarray]:
    """A k x k patch's 4 sides as runs of local vertex indices (row * (k+1) + column), clockwise."""
    kp = k + 1
    return [
        np.array([c for c in range(kp)]),  # top, left to right
        np.array([r * kp + k for r in range(kp)]),  # right, top to bottom
        np.array([k * kp + c for c in range(k, -1, -1)]),  # bottom, right to left
        np.array([r * kp for r in range(k, -1, -1)]),  # left, bottom to top
    ]


def _patches(levels: list[_Level], used: np.ndarray, colors: np.ndarray, atlas_width: int, masked: bool):
    """(vertices (V, 3) float32, uv (V, 2) float32, faces (F, 3) uint32, texture, mask or None)
    of the patches of ``levels``: a fan per patch (from its centre, or from a corner where the
    diagonal holds), each side split at its points that ``used`` (V + 1,) marks (the last entry,
    for missing points, False); texture cells of (k+1)^2 texels hold the patch's vertex colours
    (and with ``masked`` the mask of its present quads)."""
    positions, uvs, tris, textures, masks, squares = [], [], [], [], [], []
    row_y = 0  # running atlas row (in texels) per level: levels are stacked vertically
    num_vertices = 0
    for level in levels:
        verts, diagonal_ok = level.verts, level.diagonal_ok
        if len(verts) == 0:
            continue
        nb, kp = verts.shape[0], verts.shape[1]  # kp = k + 1 texels per patch side
        k = kp - 1
        # masked cells carry a one-texel gutter above and left (stride kp + 1), and their mask's
        # last row and column (no square of their own) repeat the squares beside them: a fragment
        # the rasteriser draws a hair outside a patch's squares (fixed-point snapping, the fill
        # rule's ties) reads its own patch's nearest square, not a neighbouring cell's
        gutter = 1 if level.masked else 0
        stride = kp + gutter
        per_row = atlas_width // stride
        cell = np.arange(nb)
        cell_x = (cell % per_row) * stride + gutter
        cell_y = row_y + (cell // per_row) * stride + gutter
        rows_used = int(np.ceil(nb / per_row)) * stride
        texture = np.zeros((rows_used, per_row * stride, 3), np.uint8)
        span = np.arange(-gutter, kp)
        tex_rows = (cell_y - row_y)[:, None, None] + span[None, :, None]
        tex_cols = cell_x[:, None, None] + span[None, None, :]
        if level.masked:
            texels = np.pad(_cell_colors(level, colors), ((0, 0), (1, 0), (1, 0), (0, 0)), mode="edge")
            texture[tex_rows, tex_cols] = texels
            mask = np.zeros((rows_used, per_row * stride), np.uint8)
            mask[tex_rows, tex_cols] = np.pad(level.codes, ((0, 0), (1, 1), (1, 1)), mode="edge")
            masks.append(mask)
        else:
            texture[tex_rows, tex_cols] = colors[verts]
        textures.append(texture)
        # Per-patch local vertex index = row * kp + column; global = patch * kp^2 + local.
        base = num_vertices + np.arange(nb)[:, None] * kp * kp
        positions.append(level.points.reshape(-1, 3))
        uv_x = np.broadcast_to(cell_x[:, None, None] + np.arange(kp)[None, None, :] + 0.5, (nb, kp, kp))
        uv_y = np.broadcast_to(cell_y[:, None, None] + np.arange(kp)[None, :, None] + 0.5, (nb, kp, kp))
        uvs.append(np.stack([uv_x, uv_y], -1).reshape(-1, 2))
        if masked:  # (cell texel x, y, grid column, row) of each vertex: the mask's own coordinates
            squares.append(np.stack([np.broadcast_to(cell_x[:, None, None], (nb, kp, kp)),
                                     np.broadcast_to(cell_y[:, None, None], (nb, kp, kp)),
                                     np.broadcast_to(np.arange(kp)[None, None, :], (nb, kp, kp)),
                                     np.broadcast_to(np.arange(kp)[None, :, None], (nb, kp, kp))], -1).reshape(-1, 4))
        centre = (k // 2) * kp + k // 2
        side_runs = _side_runs(k)
        flat = verts.reshape(nb, -1)
        keep_points = []
        for run in side_runs:
            keep_point = np.ones((nb, kp), bool)
            keep_point[:, 1:-1] = used[flat[:, run[1:-1]]]
            if level.masked:  # a side's present points next to missing ones (see simplify_grid_mesh)
                keep_point |= _run_ends(flat[:, run] >= 0)
            keep_points.append(keep_point)
        split = np.stack([kp_[:, 1:-1].any(1) for kp_ in keep_points], 1)  # (nb, 4 sides)
        # Apex of each patch's triangles: a corner (TL, TR, BR, BL) whose two sides keep no
        # inner vertex and whose diagonal holds, else the centre (-1).
        corner_local = np.array([0, k, k * kp + k, k * kp])
        corner_sides = ((0, 3), (0, 1), (1, 2), (2, 3))  # sides meeting at each corner
        any_split = split.any(1)
        apex = np.full(nb, -1)
        for c in range(3, -1, -1):  # TL wins ties
            d = c % 2  # TL, BR: diagonal TL-BR; TR, BL: TR-BL
            holds = np.where(any_split, diagonal_ok[:, d, 1], diagonal_ok[:, d, 0])
            apex = np.where(holds & ~split[:, corner_sides[c][0]] & ~split[:, corner_sides[c][1]], c, apex)
        apex_local = np.where(apex >= 0, corner_local[np.maximum(apex, 0)], centre)
        for side, (run, keep_point) in enumerate(zip(side_runs, keep_points)):
            # Triangles (apex, a, b) for consecutive kept points a -> b along the side; a corner
            # apex needs none on its own two sides.
            keep_point = keep_point & ~np.isin(apex, [c for c, sides in enumerate(corner_sides) if side in sides])[:, None]
            patch_idx, point_idx = np.nonzero(keep_point)
            if len(patch_idx) == 0:
                continue
            starts = np.r_[True, patch_idx[1:] != patch_idx[:-1]]
            a = point_idx[:-1][~starts[1:]]
            b = point_idx[1:][~starts[1:]]
            p = patch_idx[1:][~starts[1:]]
            tris.append(np.stack([base[p, 0] + apex_local[p], base[p, 0] + run[a], base[p, 0] + run[b]], 1))
        num_vertices += nb * kp * kp
        row_y += rows_used

    if not tris:
        v, uv, f = _empty_part()
        return v, uv, f, None, None, np.zeros((0, 4), np.float32)
    width = max(t.shape[1] for t in textures)
    texture = np.concatenate([np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in textures])
    mask = np.concatenate([np.pad(m, ((0, 0), (0, width - m.shape[1]))) for m in masks]) if masked else None
    tex_faces = np.concatenate(tris)
    # Drop vertices no triangle uses (inner patch points), remapping indices.
    used_ids, tex_faces = np.unique(tex_faces, return_inverse=True)
    tex_vertices = np.concatenate(positions)[used_ids].astype(np.float32)
    tex_uv = (np.concatenate(uvs)[used_ids] / [texture.shape[1], texture.shape[0]]).astype(np.float32)
    tex_faces = _by_first_vertex(tex_faces.reshape(-1, 3)).astype(np.uint32)
    square = np.concatenate(squares)[used_ids].astype(np.float32) if masked else np.zeros((0, 4), np.float32)
    return tex_vertices, tex_uv, tex_faces, texture, mask, square


def simplify_grid_mesh(mesh: Mesh, blocks: tuple[int, ...] = (8, 4), tolerance: float = 1e-3,
                       allowed_error: np.ndarray | None = None, atlas_width: int = 4096,
                       shared: np.ndarray | None = None, masked: bool = False) -> RenderMesh:
    """Replace planar patches of the pixel grid by a few textured triangles.

    A mesh of a (layered) depth image has two triangles per pixel, and a software
    rasteriser spends its time per triangle, not per pixel. Aligned k x k patches of
    grid quads (k in ``blocks``, largest first) whose disparity deviates from the
    patch's centre-fan surface by at most ``tolerance`` (relative; 1e-3 moves points by
    0.1 % of their own parallax; or by ``allowed_error``, a (V,) absolute disparity bound
    per vertex such as :func:`disparity_tolerance` gives) become a fan of 4 triangles around the patch centre,
    coloured by a texture that holds the patch's vertex colours (bilinear filtering
    reproduces them at the vertices). A patch side keeps its intermediate vertices where
    other triangles use them, so the result has no T-junctions (no cracks).

    Fewer triangles where two do: a patch whose sides keep no intermediate vertex becomes the
    two triangles of a diagonal when they too hold every vertex within its bound; one whose
    kept side vertices all lie on the two sides away from a corner becomes a fan from that
    corner (one triangle per side segment, two fewer than the centre fan) when the diagonal
    through it holds every vertex within half its bound (the fan's surface differs from the
    diagonal's by at most the side vertices' own error, so the total stays within the bound).

    ``masked``: after the whole blocks of each size, blocks of which only a connected piece of
    one surface is present (at least a quarter of the quads; beside depth cuts and holes) become
    masked patches (:func:`_find_masked_blocks`, :class:`MaskedPart`): the fan over the whole
    block, its missing quads discarded in the fragment shader. A masked patch's side also keeps
    its present points next to missing ones (where its surface leaves the side), marked for
    every other patch too, so that two patches along a side meet at the same vertices.

    ``shared`` (P, 3): positions that triangles drawn elsewhere use (the hole guard's quads,
    which meet the mesh's edges): a patch side keeps its vertices there too.

    Returns:
        RenderMesh: the untouched triangles with vertex colours plus the textured patches (and
        with ``masked`` the masked patches, ``RenderMesh.masked``).
    """
    triangles = _grid_triangles(mesh)
    quads, origin, quad_faces = _pair_triangles(triangles, mesh.num_vertices)
    faces = mesh.faces.astype(np.int64)
    disparity = 1.0 / np.maximum(mesh.vertices[:, 2].astype(np.float64), 1e-12)
    allowed = tolerance * disparity if allowed_error is None else np.asarray(allowed_error, np.float64)
    # units: the quads, then (masked) the single grid triangles (half quads, beside cuts)
    units, unit_origin, unit_faces = quads, origin, quad_faces
    unit_codes = np.full(len(quads), MASK_FULL, np.uint8)
    if masked:
        face_ids, by_corner, missing, triangle_origin = triangles
        single = ~np.isin(face_ids, quad_faces.ravel())
        units = np.concatenate([quads, by_corner[single].astype(np.int64)])
        unit_origin = np.concatenate([origin, triangle_origin[single]])
        unit_faces = np.concatenate([quad_faces, np.stack([face_ids[single], np.full(single.sum(), -1)], 1)])
        unit_codes = np.concatenate([unit_codes, (missing[single] + 1).astype(np.uint8)])
    unit_free = np.ones(len(units), bool)
    free = unit_free[: len(quads)]  # a view: the quads' share
    pinned = guarded = uses = adjacency = None
    if masked:
        uses = np.bincount(faces.ravel(), minlength=mesh.num_vertices)
        adjacency = _adjacency(units, mesh.num_vertices)  # once for all block sizes
        # points other triangles use through a copy (an exported guard's quads), and points the
        # render-only guard meets (see _find_masked_blocks)
        pinned = _coincident(np.asarray(mesh.vertices, np.float32))
        if shared is not None and len(shared):
            both = np.concatenate([np.asarray(mesh.vertices, np.float32), np.asarray(shared, np.float32)])
            mark = np.concatenate([np.zeros(mesh.num_vertices, bool), np.ones(len(shared), bool)])
            guarded = _with_coincident(both, mark)[: mesh.num_vertices]
    levels: list[_Level] = []
    for k in sorted(set(int(b) for b in blocks), reverse=True):
        if k < 2 or k % 2:
            raise Photo3DError(f"simplify_grid_mesh: block sizes must be even and >= 2, got {k}")
        grid, diagonal_ok = _find_blocks(quads, origin, k, disparity, allowed, free)
        free[grid.ravel()] = False
        verts = _block_vertices(quads, grid)
        levels.append(_Level(grid, verts, diagonal_ok, mesh.vertices[verts], np.full(grid.shape, MASK_FULL, np.uint8),
                             False))
        if masked and len(units):
            pieces = _find_masked_blocks(units, unit_origin, unit_faces, unit_codes, k, disparity, allowed,
                                         unit_free, faces, uses, pinned, guarded, adjacency)
            unit_free[pieces.grid[pieces.grid >= 0]] = False
            levels.append(_masked_level(mesh, pieces, unit_codes))

    # Interior vertices of a patch must not be used by any other triangle.
    block_of_face = np.full(len(faces) + 1, -1, np.int64)  # index -1: a half quad's absent second face
    owner = np.full(mesh.num_vertices, -1, np.int64)
    first = 0
    for level in levels:
        nb = len(level.grid)
        ids = first + np.arange(nb)
        present = level.grid >= 0
        block_of_face[unit_faces[level.grid[present]]] = np.broadcast_to(ids[:, None, None], present.shape)[present, None]
        inner = level.verts[:, 1:-1, 1:-1]
        owner[inner[inner >= 0]] = np.broadcast_to(ids[:, None, None], inner.shape)[inner >= 0]
        first += nb
    block_of_face = block_of_face[:-1]
    face_owner = owner[faces]
    bad = np.unique(face_owner[(face_owner >= 0) & (face_owner != block_of_face[:, None])])
    accepted = np.ones(first, bool)
    accepted[bad] = False
    block_of_face[block_of_face >= 0] = np.where(accepted[block_of_face[block_of_face >= 0]], block_of_face[block_of_face >= 0], -1)

    kept_faces = faces[block_of_face < 0]
    used = np.zeros(mesh.num_vertices, bool)
    used[kept_faces.ravel()] = True
    if shared is not None and len(shared):
        both = np.concatenate([np.asarray(mesh.vertices, np.float32), np.asarray(shared, np.float32)])
        used = _with_coincident(both, np.concatenate([used, np.ones(len(shared), bool)]))[: mesh.num_vertices]
    else:
        used = _with_coincident(mesh.vertices, used)
    level_start = np.cumsum([0] + [len(level.grid) for level in levels])
    levels = [_Level(*(a[accepted[level_start[i]:level_start[i + 1]]]
                       for a in (level.grid, level.verts, level.diagonal_ok, level.points, level.codes)),
                     level.masked)
              for i, level in enumerate(levels)]
    for level in levels:  # corners of every patch are used by the patch's fan
        corners = level.verts[:, [0, 0, -1, -1], [0, -1, 0, -1]].ravel()
        used[corners[corners >= 0]] = True
        if level.masked:  # where a masked patch's surface leaves its sides: see above
            flat = level.verts.reshape(len(level.verts), level.verts.shape[1] ** 2)
            for run in _side_runs(level.verts.shape[1] - 1):
                ids = flat[:, run]
                used[ids[_run_ends(ids >= 0)]] = True
    used = np.append(used, False)  # index -1: a masked patch's missing point

    colors = np.asarray(mesh.colors)
    tex_vertices, tex_uv, tex_faces, texture, _, _ = _patches([lv for lv in levels if not lv.masked], used, colors,
                                                              atlas_width, masked=False)
    part = MaskedPart()
    if masked:
        part = MaskedPart(*_patches([lv for lv in levels if lv.masked], used, colors, atlas_width, masked=True))

    # The vertex-coloured part keeps only the vertices its triangles use.
    kept_ids, kept_faces = np.unique(kept_faces, return_inverse=True)
    return RenderMesh(
        vertices=np.asarray(mesh.vertices[kept_ids], np.float32),
        colors=np.asarray(mesh.colors[kept_ids], np.uint8),
        faces=_by_first_vertex(kept_faces.reshape(-1, 3)).astype(np.uint32),
        tex_vertices=tex_vertices,
        tex_uv=tex_uv,
        tex_faces=tex_faces,
        texture=texture,
        tex_projective=True,
        masked=part,
    )


# sample points (s, t) inside a unit square at which a merged strip's disparity is compared with
# the squares' own (both are piecewise affine; a 5 x 5 lattice holds their kinks: square sides,
# both diagonals and the strip's diagonal within a quarter pixel)
_SAMPLES = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5)), -1).reshape(-1, 2)


def _square_disparity(d: np.ndarray, s: np.ndarray, t: np.ndarray, tl_br: np.ndarray | bool) -> np.ndarray:
    """Disparity at (s, t) in [0, 1]^2 of a square split along TL-BR (``tl_br``) or TR-BL from its
    corner disparities d[..., (TL, TR, BR, BL)] (broadcast)."""
    tl, tr, br, bl = d[..., 0], d[..., 1], d[..., 2], d[..., 3]
    upper = s >= t  # TL-BR split: (TL, TR, BR) above the diagonal, (TL, BR, BL) below
    a = np.where(upper, tl + s * (tr - tl) + t * (br - tr), tl + t * (bl - tl) + s * (br - bl))
    near = s + t <= 1  # TR-BL split: (TL, TR, BL) and (TR, BR, BL)
    b = np.where(near, tl + s * (tr - tl) + t * (bl - tl), br + (1 - s) * (bl - br) + (1 - t) * (tr - br))
    return np.where(tl_br, a, b)


def _unit_squares(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray, intrinsics, offset: float):
    """Flat-coloured unit squares among ``faces``: two triangles covering an axis-aligned 1 x 1
    square of the input image whose corners lie at lattice points (integer + ``offset`` pixels),
    four corners of one colour that no other face uses.

    Returns (corners (Q, 4) ids TL, TR, BR, BL; origin (Q, 2) int64 lattice x, y of TL;
    square_faces (Q, 2); tl_br (Q,) bool, the split diagonal)."""
    shifted = dataclasses.replace(intrinsics, cx=intrinsics.cx - offset, cy=intrinsics.cy - offset)
    probe = Mesh(vertices, colors, faces, shifted)
    quads, origin, quad_faces = _grid_quads(probe)  # (TL, TR, BL, BR)
    if len(quads) == 0:
        return np.zeros((0, 4), np.int64), np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64), np.zeros(0, bool)
    corners = quads[:, [0, 1, 3, 2]]
    c = colors[corners].astype(np.int16)
    flat = (c == c[:, :1]).all((1, 2))
    f = faces[quad_faces]  # (Q, 2, 3)
    tl_br = (f == corners[:, 0, None, None]).any(2).all(1) & (f == corners[:, 2, None, None]).any(2).all(1)
    uses = np.bincount(np.asarray(faces).ravel(), minlength=len(vertices))
    expected = np.where(tl_br[:, None], [2, 1, 2, 1], [1, 2, 1, 2])
    alone = (uses[corners] == expected).all(1)
    keep = flat & alone
    return corners[keep], origin[keep], quad_faces[keep], tl_br[keep]


def merge_flat_squares(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray, intrinsics,
                       allowed: np.ndarray, offset: float, continuous: bool,
                       lengths: tuple[int, ...] = (64, 32, 16, 8, 4, 2),
                       texture_width: int = 4096) -> tuple[FlatPart, np.ndarray]:
    """Merge runs of flat-coloured unit squares (edge facets, hole-guard quads) along image rows,
    then along columns, into strips of two triangles, coloured by a nearest-filtered texture with
    one texel per square (exact at every camera: the texture follows the input image).

    A strip of k squares (k in ``lengths``, aligned within its run, longest first) replaces them
    when its disparity at a lattice of points in every square (:data:`_SAMPLES`) stays within the
    smallest ``allowed`` (V,) disparity error of the square's corners. ``continuous``: neighbours
    must share their edge's corner positions (hole-guard quads; edge facets are steps at their
    own depths and need not). ``texture_width``: the strips' texture is at most this wide (each
    strip with its one-texel border, whole within a row).

    Returns:
        (the strips, kept (F,) bool: the faces not merged away).
    """
    corners, origin, square_faces, tl_br = _unit_squares(vertices, colors, faces, intrinsics, offset)
    disparity = 1.0 / np.maximum(vertices[:, 2].astype(np.float64), 1e-12)
    taken = np.zeros(len(corners), bool)
    strips = []  # (first square ids (C,), length k, vertical)
    # squares at the same lattice point (a guard's cut quad and layer-gap quad) are ranked by face
    # order and merge only with squares of their rank
    key = origin[:, 1] * np.int64(1 << 32) + origin[:, 0]
    by_key = np.lexsort((square_faces[:, 0], key))
    first_of_key = np.r_[True, key[by_key][1:] != key[by_key][:-1]]
    rank = np.empty(len(key), np.int64)
    rank[by_key] = np.arange(len(key)) - np.maximum.accumulate(np.where(first_of_key, np.arange(len(key)), 0))
    for vertical in (False, True):
        a, b = (1, 0) if vertical else (0, 1)  # along, across
        order = np.lexsort((origin[:, a], origin[:, b], rank))
        order = order[~taken[order]]
        if len(order) < 2:
            continue
        sq = corners[order]
        # transposed corner order for columns: TL, BL, BR, TR
        sq_t = sq[:, [0, 3, 2, 1]] if vertical else sq
        o = origin[order]
        nxt = (o[1:, b] == o[:-1, b]) & (o[1:, a] == o[:-1, a] + 1) & (rank[order][1:] == rank[order][:-1])
        if continuous:
            pos = vertices
            nxt &= (pos[sq_t[:-1, 1]] == pos[sq_t[1:, 0]]).all(1) & (pos[sq_t[:-1, 2]] == pos[sq_t[1:, 3]]).all(1)
        run_start = np.r_[True, ~nxt]
        run_id = np.cumsum(run_start) - 1
        first_of_run = np.nonzero(run_start)[0]
        index_in_run = np.arange(len(order)) - first_of_run[run_id]
        run_len = np.diff(np.r_[first_of_run, len(order)])[run_id]
        free = np.ones(len(order), bool)
        d_all = disparity[sq_t]  # (n, 4)
        bound = allowed[sq_t].min(1)
        for k in sorted(set(int(x) for x in lengths if x >= 2), reverse=True):
            start = np.nonzero(free & (index_in_run % k == 0) & (index_in_run + k <= run_len))[0]
            if len(start) == 0:
                continue
            members = start[:, None] + np.arange(k)
            ok = free[members].all(1)
            start, members = start[ok], members[ok]
            if len(start) == 0:
                continue
            d = d_all[members]  # (C, k, 4)
            merged = np.stack([d[:, 0, 0], d[:, -1, 1], d[:, -1, 2], d[:, 0, 3]], 1)  # (C, 4)
            s, t = _SAMPLES[:, 0], _SAMPLES[:, 1]
            orig = _square_disparity(d[:, :, None, :], s, t, tl_br[order][members][:, :, None])  # (C, k, 25)
            s_strip = (np.arange(k)[:, None] + s[None, :]) / k  # (k, 25)
            strip = _square_disparity(merged[:, None, None, :], s_strip[None], t[None, None], True)
            good = (np.abs(strip - orig) <= bound[members][:, :, None]).all((1, 2))
            start = start[good]
            free[start[:, None] + np.arange(k)] = False
            strips.append((order[start[:, None] + np.arange(k)], k, vertical))
        taken[order[~free]] = True

    kept = np.ones(len(faces), bool)
    kept[square_faces[taken].ravel()] = False
    if not strips:
        return FlatPart(), kept
    verts, uvs, texels, tris = [], [], [], []
    row_y, n_verts, width = 0, 0, 0
    for members, k, vertical in strips:  # members (C, k) square ids along each strip
        c = len(members)
        if c == 0:
            continue
        # each strip's texels with a one-texel border of its own edge colours: nearest filtering
        # at a strip's edge may land a rounding error beyond it, and there read a neighbouring
        # strip's texel or the atlas's unused black (black dots in 1 of 13 of Art's video frames)
        per_row = max(1, texture_width // (k + 2))
        cell = np.arange(c)
        ax, ay = (cell % per_row) * (k + 2) + 1, row_y + 3 * (cell // per_row) + 1
        width = max(width, min(c, per_row) * (k + 2))
        cf, cl = corners[members[:, 0]], corners[members[:, -1]]
        if vertical:  # texel i of a strip is square i along it: u follows image y, v image x
            quad = np.stack([cf[:, 0], cf[:, 1], cl[:, 2], cl[:, 3]], 1)  # TL, TR, BR, BL
            uv = np.stack([np.stack([ax, ay], 1), np.stack([ax, ay + 1], 1),
                           np.stack([ax + k, ay + 1], 1), np.stack([ax + k, ay], 1)], 1)
        else:
            quad = np.stack([cf[:, 0], cl[:, 1], cl[:, 2], cf[:, 3]], 1)
            uv = np.stack([np.stack([ax, ay], 1), np.stack([ax + k, ay], 1),
                           np.stack([ax + k, ay + 1], 1), np.stack([ax, ay + 1], 1)], 1)
        verts.append(vertices[quad.ravel()])
        uvs.append(uv.reshape(-1, 2).astype(np.float64))
        along = np.clip(np.arange(-1, k + 1), 0, k - 1)  # the border repeats the end texels
        strip_colors = colors[corners[members[:, along], 0]]  # (C, k + 2, 3)
        for dy in (-1, 0, 1):
            texels.append(((ay + dy)[:, None].repeat(k + 2, 1), ax[:, None] + np.arange(-1, k + 1), strip_colors))
        base = n_verts + 4 * cell[:, None]
        tris.append(np.concatenate([base + [0, 1, 2], base + [0, 2, 3]]))
        n_verts += 4 * c
        row_y += 3 * int(np.ceil(c / per_row))
    texture = np.zeros((row_y, width, colors.shape[1]), np.uint8)
    for ty, tx, colour in texels:
        texture[ty, tx] = colour
    uv = np.concatenate(uvs) / [texture.shape[1], texture.shape[0]]
    return FlatPart(np.concatenate(verts).astype(np.float32), uv.astype(np.float32),
                    _by_first_vertex(np.concatenate(tris)).astype(np.uint32), texture), kept


def merge_strips(mesh: Mesh, vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray,
                 motion: tuple[float, float, float], max_error_px: float, offset: float, continuous: bool,
                 texture_width: int = 4096) -> tuple[FlatPart, np.ndarray]:
    """:func:`merge_flat_squares` of (``vertices``, ``colors``, ``faces``), a part drawn with
    ``mesh``'s camera, within ``max_error_px`` at the cameras of ``motion``
    (:func:`disparity_tolerance` of those vertices). Returns (the strips, kept (F,) bool)."""
    allowed = disparity_tolerance(dataclasses.replace(mesh, vertices=vertices), max_error_px, *motion)
    return merge_flat_squares(vertices, colors, np.asarray(faces).astype(np.int64), mesh.intrinsics, allowed,
                              offset=offset, continuous=continuous, texture_width=texture_width)


SCREEN_BLOCKS = (64, 32, 16, 8, 4, 2)


def without_zero_area_faces(mesh: Mesh) -> Mesh:
    """``mesh`` without its zero-area triangles (the mesh's ties that join each edge facet to
    its pixel's vertex: topology for exported files, nothing to draw). Vertices unchanged."""
    _check_mesh(mesh)  # bad indices raise Photo3DError before they are used here
    f = np.asarray(mesh.faces, dtype=np.int64)
    if len(f) == 0:
        return mesh
    v = np.asarray(mesh.vertices, dtype=np.float64)
    area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    scale = np.einsum("ij,ij->i", v[f[:, 0]], v[f[:, 0]])  # |p|^2: relative to the distance
    flat = area2 <= 1e-9 * scale
    if not flat.any():
        return mesh
    return dataclasses.replace(mesh, faces=mesh.faces[~flat])


def split_soft_rim(mesh: Mesh) -> tuple[Mesh, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None]:
    """(the opaque mesh in its soft colours, the blended part) of a mesh with ``Mesh.soft``:
    the faces whose three vertices have an alpha below 255 (the rim's facets) are taken out
    as (vertices (B, 3) float32, RGBA colours (B, 4) uint8, faces (K, 3) uint32, the photo's
    colours (B, 3) uint8 of those vertices, ``Mesh.colors``), the fully
    transparent ones too (they add nothing to the colour, but the rim counts as covered in the
    renderer's mask). A mesh without ``soft`` (or without such faces) is returned as is."""
    soft = mesh.soft
    if soft is None or mesh.texture is not None:  # a textured mesh draws its texture, opaque
        return mesh, None
    if soft.alpha.shape != (mesh.num_vertices,) or soft.colors.shape != mesh.colors.shape:
        raise Photo3DError(f"mesh: soft alpha/colors must be ({mesh.num_vertices},) and {mesh.colors.shape}, "
                           f"got {soft.alpha.shape} and {soft.colors.shape}")
    blended = soft.blended(mesh.faces)
    opaque = dataclasses.replace(mesh, colors=soft.colors, faces=mesh.faces[~blended], soft=None)
    has_fringe = soft.fringe_faces is not None and len(soft.fringe_faces) > 0
    if not blended.any() and not has_fringe:
        return opaque, None
    ids, faces = np.unique(mesh.faces[blended], return_inverse=True)
    rgba = np.concatenate([soft.colors[ids], soft.alpha[ids, None]], axis=1).astype(np.uint8)
    vertices = np.asarray(mesh.vertices[ids], np.float32)
    photo_rgb = np.asarray(mesh.colors[ids], np.uint8)  # the rim's own vertices: for the opaque backing
    faces = faces.reshape(-1, 3).astype(np.uint32)
    if has_fringe:  # the outer fringe (its own vertices), blended like the rim
        faces = np.concatenate([faces, np.asarray(soft.fringe_faces, np.uint32) + np.uint32(len(vertices))])
        vertices = np.concatenate([vertices, np.asarray(soft.fringe_vertices, np.float32)])
        rgba = np.concatenate([rgba, np.asarray(soft.fringe_colors, np.uint8)])
    return opaque, (vertices, rgba, faces, photo_rgb)


def render_mesh(mesh: Mesh, simplify: bool = True, motion: tuple[float, float, float] | None = None,
                max_error_px: float = 0.0, masked: bool = False) -> RenderMesh:
    """The RenderMesh of ``mesh``: its texture when it has one, else vertex colours, with
    grid patches simplified when ``simplify``; plus the hole guard (``mesh.guard``).

    With ``motion`` = (largest sideways shift, largest shift along the axis, largest focal
    scale) of the cameras to be rendered (:func:`photo3d.camera.motion_extent`) and
    ``max_error_px`` > 0, patches of ``SCREEN_BLOCKS`` are merged wherever no vertex then moves
    by more than ``max_error_px`` pixels in any of those cameras (:func:`disparity_tolerance`);
    otherwise only planar patches (relative disparity error 1e-3) are.

    A mesh with a soft rim (``Mesh.soft``) is drawn in its soft colours, its rim's facets
    blended (:func:`split_soft_rim`). ``masked``: also patches over cuts and holes, their missing
    quads discarded when drawn (``simplify_grid_mesh(masked=True)``).
    """
    mesh = without_zero_area_faces(mesh)
    mesh, blend = split_soft_rim(mesh)
    # the guard's quads meet the mesh's edges: a patch must not drop a vertex they use (a
    # T-junction's crack, behind which is only the guard's own, left 1 px clear in 2 of Wood1's
    # and 1 of Reindeer's 974 views)
    guard_positions = mesh.guard.vertices if mesh.guard is not None and mesh.guard.num_faces else None
    screen = simplify and motion is not None and max_error_px > 0
    if screen and mesh.texture is None:
        _check_mesh(mesh)
        allowed = disparity_tolerance(mesh, max_error_px, *motion)
        out = simplify_grid_mesh(mesh, SCREEN_BLOCKS, allowed_error=allowed, shared=guard_positions, masked=masked)
        # edge facets: pixel squares at their pixel's depth, corners half a pixel off the grid
        out.flat, kept = merge_strips(mesh, out.vertices, out.colors, out.faces, motion, max_error_px,
                                      offset=0.5, continuous=False)
        out.faces = out.faces[kept]
    else:
        out = _render_mesh(mesh, simplify, guard_positions, masked)
    guard = mesh.guard
    if guard is not None and guard.num_faces:
        out.hole_vertices = np.asarray(guard.vertices, np.float32)
        out.hole_colors = np.asarray(guard.colors, np.uint8)
        out.hole_faces = np.asarray(guard.faces, np.uint32)
        # (The guard's quads are not merged into strips: a strip's long side, off the quads' own
        # by up to the error bound, no longer meets the mesh's edge, which the quads share, and a
        # pixel centre in the sliver stayed clear: 1 px in 3 of Art's and of Reindeer's 974 views.)
    if blend is not None:
        out.blend_vertices, out.blend_colors, out.blend_faces, photo_rgb = blend
        # the rim's facets once more, opaque in the photo's colours, last in the guard (behind
        # everything, below the guard's own quads): where neither the mesh nor the guard lies
        # behind a facet, it blends over them instead of over the clear colour (a dark line
        # along a cut, its end pixel clear, in 1 of 50 of Art's video frames). The outer
        # fringe (after the rim's vertices) lies over the far side's own surface: not backed.
        rim_vertices = len(photo_rgb)
        rim_faces = out.blend_faces[(out.blend_faces < rim_vertices).all(axis=1)]
        first = len(out.hole_vertices)
        out.hole_vertices = np.concatenate([out.hole_vertices, out.blend_vertices[:rim_vertices]]).astype(np.float32)
        out.hole_colors = np.concatenate([out.hole_colors, photo_rgb]).astype(np.uint8)
        out.hole_faces = np.concatenate([out.hole_faces, rim_faces + first]).astype(np.uint32)
        if screen and len(out.blend_faces):
            # the rim's facets: pixel squares of one RGBA colour, as the opaque edge facets
            out.blend_flat, kept = merge_strips(mesh, out.blend_vertices, out.blend_colors, out.blend_faces, motion,
                                                max_error_px, offset=0.5, continuous=False)
            out.blend_faces = out.blend_faces[kept]
    return out


def _render_mesh(mesh: Mesh, simplify: bool, shared: np.ndarray | None = None, masked: bool = False) -> RenderMesh:
    _check_mesh(mesh)
    textured = _mesh_texture(mesh)
    vertices = np.asarray(mesh.vertices, dtype=np.float32)
    if textured is not None:
        uv, texture = textured
        empty_v, _, empty_f = _empty_part()
        return RenderMesh(empty_v, np.zeros((0, 3), np.uint8), empty_f, vertices, uv, mesh.faces.astype(np.uint32), texture,
                          tex_projective=bool(mesh.texture.projective))
    if simplify:
        return simplify_grid_mesh(mesh, shared=shared, masked=masked)
    v, uv, f = _empty_part()
    return RenderMesh(vertices, np.asarray(mesh.colors, np.uint8), mesh.faces.astype(np.uint32), v, uv, f, None)
