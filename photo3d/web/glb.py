"""Web-sized binary glTF of a 3D photo: simplified, textured, quantised, hole guard included.

What :func:`write_web_glb` writes (valid glTF 2.0 + ``KHR_mesh_quantization`` +
``KHR_materials_unlit``; trimesh, three.js, Blender and ``<model-viewer>`` show it in colour):

* Geometry: the renderer's simplification (:func:`photo3d.render.simplify.simplify_grid_mesh`)
  with a screen-space bound: a vertex may move by at most ``max_error_px`` pixels at the
  most extreme camera of the video paths (:func:`photo3d.render.simplify.disparity_tolerance`).
* Colour: all of it from one texture atlas (PNG, so sRGB and lossless; JPEG where the file
  would exceed its size budget, see :func:`web_glb`), ``ATLAS_WIDTH``
  texels wide, laid out like the image: *sheets*, images of the canvas in which each texel is
  the colour of a vertex at that pixel, cut into tiles of ``TILE`` pixels (``TILE + 1``
  texels: neighbouring tiles share their border texels), each used tile a cell of the atlas.
  A triangle's vertices read the texels of their own pixels, so a vertex that many triangles
  use is one glTF vertex (the per-triangle cells this replaced had two to four vertices per
  triangle). The renderer's patches read every texel of their box there; a half of a grid
  square also reads the square's fourth corner (the other half's vertex, or the colour that
  makes bilinear filtering equal the linear interpolation of its vertex colours); an edge
  facet reads its pixel's texel. Each triangle goes to the first sheet that holds all its
  texels without a conflict (the front layer, mostly the first; where surfaces overlap, the
  nearer first); what no sheet holds gets a 2x2 cell of its own (:func:`_triangle_cells`).
  The hole guard's flat grid quads share vertices too and read one texel each (a second
  material, the same image sampled without filtering); its other quads get 2x2 cells.
* Strips: as the renderer does (:func:`photo3d.render.simplify.merge_flat_squares`), runs of
  edge facets become strips of up to 64 pixel squares, two triangles reading one texel a
  square without filtering (uv affine in the input image); they are the mesh's first
  primitives (they win depth ties with the patches). The guard's quads stay unmerged, as in
  the renderer. (Files of earlier versions have guard strips too, first in the guard, marked
  ``extras.photo3d.projective``; the readers still draw them.)
* Watertight once quantised: the patches keep every side vertex the guard's quads use (no
  T-junction between the nodes: rounded to 16 bits, its crack opened).
* Attributes: positions as unsigned 16-bit integers dequantised by the node's scale and
  translation; texture coordinates as 32-bit floats (normalised 16-bit ones were 4 bytes a
  vertex smaller, but trimesh reads them unscaled); 16-bit indices, each node
  split into primitives of at most 65535 vertices (views shared, accessors offset).
* Soft rim (``Mesh.soft``), as photo3d's renderer draws it: the mesh in its soft colours, the
  rim's facets and the outer fringe as the mesh node's last primitives, blended
  (``alphaMode: BLEND``, materials ``soft_rim`` / ``soft_rim_nearest``) from an RGBA atlas of
  their own (the second image, PNG: strips of RGBA texels read without filtering, the rest in
  2x2 cells); the guard backs them with the same accessors, opaque (``soft_rim_backing*``),
  after its own quads, so that where nothing else lies behind the rim it blends over that.
* Node 0 (``photo3d``) is the layered mesh; node 1 (``photo3d_hole_guard``) the hole guard
  (:mod:`photo3d.core.guard`) at its true place: stretched across the cuts and continuing the
  border, so that it stays attached to both sides from every camera. photo3d's renderer and
  viewer draw it behind everything (it shows only through holes); a generic viewer draws it as
  ordinary geometry (the stretched look of a plain mesh over the revealed background), so hide
  the node by its name there.

Axes as :func:`photo3d.io.write_glb`: camera-frame (x, y, z) is stored as (x, -y, -z).
``asset.extras`` holds the image size, the intrinsics (``fx fy cx cy``) and, under
``photo3d``, the camera paths (centres and focal scales per frame, frame rate) and the
bounds of the camera motion, which the web viewer uses.
"""
from __future__ import annotations

import json
import logging
import struct
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..camera import DEFAULT_PATHS, CameraFrame, camera_path, motion_extent
from ..core.data import Intrinsics, Mesh, MeshTexture
from ..errors import Photo3DError
from ..io import atomic_write, srgb_to_linear  # noqa: F401  (srgb_to_linear: see read side)
from ..render.simplify import (FlatPart, RenderMesh, disparity_tolerance, merge_strips, render_mesh,
                               simplify_grid_mesh, split_soft_rim, without_zero_area_faces)

log = logging.getLogger("photo3d")

ATLAS_WIDTH = 2048
TILE = 64  # pixels per side of a sheet tile: the largest patch (WEB_BLOCKS[0]), aligned as the patches
WEB_BLOCKS = (64, 32, 16, 8, 4, 2)
GUARD_NODE = "photo3d_hole_guard"
SKIRT_NODE = "photo3d_hole_guard_skirt"  # a child of GUARD_NODE
_FLIP = np.array([1.0, -1.0, -1.0])


@dataclass
class WebGeometry:
    """The web mesh before encoding: one textured part and the hole guard, sharing ``atlas``.

    vertices (V, 3) float64 camera-frame points; uv (V, 2) float64 in [0, 1]; faces (F, 3)
    int64 (sampled bilinearly). guard_vertices (G, 3), guard_uv (G, 2), guard_faces (K, 3):
    likewise for the hole guard, in drawing order; guard_nearest (K,) bool: the face reads one
    texel (nearest sampling, a flat quad of the pixel grid) rather than bilinearly. atlas
    (H, ATLAS_WIDTH, 3) uint8 RGB (sRGB). nearest (F,) bool: a face of the merged edge facets
    (strips of flat pixel squares, one texel per square, nearest sampling; the main part's first
    faces). blend_vertices, blend_uv, blend_faces, blend_nearest: the soft rim (the rim's
    facets and the outer fringe), drawn blended after everything else, its uv in ``rim_atlas``
    (H2, ATLAS_WIDTH, 4) uint8 RGBA (straight alpha); empty and None without one.
    """

    vertices: np.ndarray
    uv: np.ndarray
    faces: np.ndarray
    guard_vertices: np.ndarray
    guard_uv: np.ndarray
    guard_faces: np.ndarray
    atlas: np.ndarray
    guard_nearest: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    nearest: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    blend_vertices: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 3)))
    blend_uv: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2)))
    blend_faces: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 3), np.int64))
    blend_nearest: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    rim_atlas: np.ndarray | None = None


def default_path_frames(mesh: Mesh, num_frames: int = 240) -> dict[str, list[CameraFrame]]:
    """The reference's four video paths for ``mesh`` (its ``info`` gives the centre depth and
    the depth units)."""
    center = mesh.info.center_depth
    if center is None:
        center = float(np.median(mesh.vertices[:, 2]))
    scale = 1.0 if mesh.info.depth_scale is None else float(mesh.info.depth_scale)
    return {name: camera_path(name, num_frames, center_depth=center, shift_scale=scale) for name in DEFAULT_PATHS}


def _cell_rows(num_cells: int, cell_w: int, cell_h: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Top-left texel (x, y) of ``num_cells`` cells of cell_w x cell_h packed in rows of the
    atlas, and the rows used."""
    per_row = ATLAS_WIDTH // cell_w
    i = np.arange(num_cells)
    return (i % per_row) * cell_w, (i // per_row) * cell_h, int(np.ceil(num_cells / per_row)) * cell_h


def _longest_edges(points: np.ndarray, faces: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """(T,) int64: which edge of each triangle is longest in the input image (edge e joins
    corners e and (e + 1) % 3); for a grid quad's two halves, the shared diagonal."""
    z = np.maximum(points[:, 2], 1e-12)
    uv = np.stack([intrinsics.fx * points[:, 0] / z, intrinsics.fy * points[:, 1] / z], 1)
    corners = uv[faces]  # (T, 3, 2)
    lengths = np.linalg.norm(corners - np.roll(corners, -1, axis=1), axis=2)
    return np.argmax(lengths, axis=1)


def _triangle_cells(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray, intrinsics: Intrinsics):
    """Vertex-coloured triangles as textured ones, with their own vertices and a 2x2 cell.

    Two triangles whose longest edges are one and the same (a grid quad cut along its
    diagonal, an edge facet) share a cell: their far corners a and d and the shared edge p, q
    go to texels (0, 0), (1, 1) and (1, 0), (0, 1), and bilinear filtering interpolates the
    quad's four colours. A triangle without such a partner gets a cell of its own, holding
    c0, c1 at the top and c2 below c0; its fourth texel c1 + c2 - c0 makes bilinear filtering
    inside it (uv at the three texel centres) equal linear interpolation of the vertex colours.
    Returns vertices (N, 3), texel (x, y) of each vertex (N, 2) relative to the block, the
    block (rows, ATLAS_WIDTH, 3) uint8, and faces (T, 3) into the returned vertices (the
    input's order).
    """
    t = len(faces)
    edge = _longest_edges(vertices, faces, intrinsics)
    rows = np.arange(t)
    p, q = faces[rows, edge], faces[rows, (edge + 1) % 3]
    far = faces[rows, (edge + 2) % 3]
    n = np.int64(len(vertices))
    keys = np.minimum(p, q) * n + np.maximum(p, q)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    twice = np.nonzero(sk[1:] == sk[:-1])[0]
    twice = twice[((twice + 2 >= t) | (sk[np.minimum(twice + 2, t - 1)] != sk[twice]))
                  & ((twice == 0) | (sk[np.maximum(twice - 1, 0)] != sk[twice]))]  # exactly two
    first, second = order[twice], order[twice + 1]
    single = np.ones(t, bool)
    single[first] = single[second] = False
    singles = np.nonzero(single)[0]
    m, s = len(first), len(singles)
    x0, y0, used_rows = _cell_rows(m + s, 2, 2)
    block = np.zeros((used_rows, ATLAS_WIDTH, colors.shape[1]), np.uint8)  # RGB, or RGBA for the soft rim
    # pairs: a = far corner of the first, p, q its edge, d = far corner of the second
    a, pp, qq, d = far[first], p[first], q[first], far[second]
    xs, ys = x0[:m], y0[:m]
    for vid, dx, dy in ((a, 0, 0), (pp, 1, 0), (qq, 0, 1), (d, 1, 1)):
        block[ys + dy, xs + dx] = colors[vid]
    pair_vertices = np.stack([a, pp, qq, d], 1).reshape(-1)
    pair_texels = np.stack([np.stack([xs + dx, ys + dy], 1) for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1))], 1).reshape(-1, 2)
    base = 4 * np.arange(m)[:, None]
    # the first keeps its winding (a, p, q); the second (d, q, p) is its partner's reverse
    out_faces = np.zeros((t, 3), np.int64)
    out_faces[first] = base + [0, 1, 2]
    out_faces[second] = base + [3, 2, 1]
    # singles
    c = colors[faces[singles]].astype(np.int32)  # (S, 3, channels)
    xs, ys = x0[m:], y0[m:]
    block[ys, xs], block[ys, xs + 1], block[ys + 1, xs] = c[:, 0], c[:, 1], c[:, 2]
    block[ys + 1, xs + 1] = np.clip(c[:, 1] + c[:, 2] - c[:, 0], 0, 255)
    single_vertices = faces[singles].reshape(-1)
    single_texels = np.stack([np.stack([xs, ys], 1), np.stack([xs + 1, ys], 1), np.stack([xs, ys + 1], 1)], 1).reshape(-1, 2)
    out_faces[singles] = 4 * m + np.arange(3 * s).reshape(s, 3)
    ids = np.concatenate([pair_vertices, single_vertices])
    return vertices[ids], np.concatenate([pair_texels, single_texels]), block, out_faces


def _pixels(points: np.ndarray, k: Intrinsics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel (x, y) int64 of each point at the input camera, and whether it lies on a pixel
    centre (within 1e-3 px, as the renderer's grid detection)."""
    p = np.asarray(points, np.float64)
    z = p[:, 2]
    inv = np.divide(1.0, z, out=np.zeros_like(z), where=z > 0)
    u, v = k.fx * p[:, 0] * inv + k.cx, k.fy * p[:, 1] * inv + k.cy
    ui, vi = np.round(u), np.round(v)
    on = (z > 0) & (np.abs(u - ui) < 1e-3) & (np.abs(v - vi) < 1e-3)
    return np.where(on, ui, 0).astype(np.int64), np.where(on, vi, 0).astype(np.int64), on


def _grid_halves(px: np.ndarray, py: np.ndarray, on: np.ndarray, faces: np.ndarray):
    """Which triangles are halves of a grid square (three corners on three distinct corners of
    one pixel square's centres), with their corners' pixels: (halves (T,) bool, cx, cy (T, 3),
    x0, y0 (T,) the square's top-left pixel)."""
    cx, cy = px[faces], py[faces]
    x0, y0 = cx.min(1), cy.min(1)
    code = (cx - x0[:, None]) + 2 * (cy - y0[:, None])
    halves = (on[faces].all(1) & (cx.max(1) - x0 == 1) & (cy.max(1) - y0 == 1) & (code[:, 0] != code[:, 1])
              & (code[:, 1] != code[:, 2]) & (code[:, 0] != code[:, 2]))
    return halves, cx, cy, x0, y0


def _unrgb(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_rgb`: (..., 3) uint8."""
    return np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], -1).astype(np.uint8)


def _tile_of(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tile (tx, ty) of each triangle (T, 3) of pixels, by its smallest pixel; and whether the
    triangle lies in it (its pixels within the tile's TILE + 1 texels)."""
    tx, ty = px.min(1) // TILE, py.min(1) // TILE
    inside = (px.max(1) - tx * TILE <= TILE) & (py.max(1) - ty * TILE <= TILE)
    return tx, ty, inside


def _project(points: np.ndarray, k: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(points, np.float64)
    z = np.maximum(p[..., 2], 1e-12)
    return k.fx * p[..., 0] / z + k.cx, k.fy * p[..., 1] / z + k.cy


def _rgb(colors: np.ndarray) -> np.ndarray:
    c = np.asarray(colors, np.int64)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


@dataclass
class _Requests:
    """Texels that triangles need: triangle ``tri`` needs colour ``rgb`` (packed) at pixel
    (x, y) of whatever sheet it is placed in."""

    tri: np.ndarray
    x: np.ndarray
    y: np.ndarray
    rgb: np.ndarray

    @staticmethod
    def join(items: list["_Requests"], offsets: list[int]) -> "_Requests":
        return _Requests(np.concatenate([r.tri + o for r, o in zip(items, offsets)]),
                         *(np.concatenate([getattr(r, a) for r in items]) for a in ("x", "y", "rgb")))


def _patch_requests(texture: np.ndarray, tex_texel: np.ndarray, px: np.ndarray, py: np.ndarray,
                    ok: np.ndarray) -> _Requests:
    """The texels a patch triangle reads (every texel of its bounding box, all that bilinear
    filtering reads inside it), with their colours in the renderer's ``texture``; triangles
    (T, 3) whose vertices sit at ``tex_texel`` (T, 3, 2) there and at pixels (px, py)."""
    t = np.nonzero(ok)[0]
    x0, y0 = px[t].min(1), py[t].min(1)
    bw, bh = px[t].max(1) - x0 + 1, py[t].max(1) - y0 + 1
    size = bw * bh
    tri = np.repeat(np.arange(len(t)), size)
    local = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    gx, gy = x0[tri] + local % bw[tri], y0[tri] + local // bw[tri]
    off = tex_texel[t, 0] - np.stack([px[t, 0], py[t, 0]], 1)
    return _Requests(t[tri], gx, gy, _rgb(texture[gy + off[tri, 1], gx + off[tri, 0]]))


def _place(req: _Requests, priority: np.ndarray, num_tri: int, max_sheets: int = 8):
    """Sheets for triangles: each triangle goes to the first sheet in which every texel it
    needs is free or already holds its colour (where several want one texel, the lowest
    ``priority`` wins; the others try again, then the next sheet). Returns (sheet (T,), -1
    where none; images (S, H, W, 3) uint8; x0, y0: pixel of image index (0, 0))."""
    sheet = np.full(num_tri, -1, np.int64)
    if len(req.tri) == 0:
        return sheet, np.zeros((0, 1, 1, 3), np.uint8), 0, 0
    x0, y0 = int(req.x.min()), int(req.y.min())
    w, h = int(req.x.max()) - x0 + 1, int(req.y.max()) - y0 + 1
    key = (req.y - y0) * w + (req.x - x0)
    images = []
    for s in range(max_sheets):
        image = np.full(h * w, -1, np.int64)  # packed colour, -1 free
        for _ in range(3):  # winners that lose elsewhere leave their texels free: try again
            active = sheet[req.tri] < 0
            if not active.any():
                break
            r = np.nonzero(active)[0]
            have = image[key[r]]
            fits = (have < 0) | (have == req.rgb[r])
            order = np.lexsort((priority[req.tri[r]], key[r]))
            k_sorted = key[r][order]
            first = np.r_[True, k_sorted[1:] != k_sorted[:-1]]
            winner = np.repeat(req.rgb[r][order][first], np.diff(np.r_[np.nonzero(first)[0], len(order)]))
            agrees = np.empty(len(r), bool)
            agrees[order] = winner == req.rgb[r][order]
            bad = np.bincount(req.tri[r], weights=~(fits & (agrees | (have >= 0))), minlength=num_tri)
            wanted = np.bincount(req.tri[r], minlength=num_tri) > 0
            placed = wanted & (bad == 0) & (sheet < 0)
            if not placed.any():
                break
            sheet[placed] = s
            mine = r[placed[req.tri[r]]]
            image[key[mine]] = req.rgb[mine]
        if (image >= 0).any():
            images.append(image)
        if not (sheet[req.tri] < 0).any():
            break
    if not images:
        return sheet, np.zeros((0, 1, 1, 3), np.uint8), x0, y0
    return sheet, _unrgb(np.maximum(np.stack(images), 0).reshape(-1, h, w)), x0, y0


def _vc_requests(v: np.ndarray, colors: np.ndarray, f: np.ndarray, k: Intrinsics, pos_id: np.ndarray):
    """Texel pixels of the vertex-coloured triangles' corners and the texels they need.

    * a half of a grid square (three vertices on neighbouring pixel centres): its corners'
      pixels, and the fourth corner's texel: the other half's vertex if that half is here too
      (the pair then reads the square's bilinear interpolation, as the patches and the 2x2
      cells do), else c1 + c2 - c0 (bilinear filtering inside it then equals the linear
      interpolation of its colours, c0 at the right angle);
    * a flat triangle off the grid (an edge facet, its tie): all corners at the texel of the
      pixel under its centre;
    * a triangle whose corners all have texels from the above (a facet's bridge) and read
      along one row or column of neighbouring texels: those texels.
    Returns (texel x, y per corner (T, 3) each, usable (T,) bool, _Requests).
    """
    px, py, on = _pixels(v, k)
    unit, cx, cy, x0, y0 = _grid_halves(px, py, on, f)  # (T,), (T, 3) corner pixels
    col = _rgb(colors[f])
    t = len(f)
    flat = (col == col[:, :1]).all(1) & ~on[f].all(1)
    tex_x, tex_y = np.where(on[f], cx, 0), np.where(on[f], cy, 0)
    has = np.broadcast_to(on[f], (t, 3)).copy()
    # flat off-grid triangles: the pixel under the centre
    u, w_ = _project(v[f[flat]], k)
    fx_, fy_ = np.round(u.mean(1)).astype(np.int64), np.round(w_.mean(1)).astype(np.int64)
    tex_x[flat], tex_y[flat] = fx_[:, None], fy_[:, None]
    has[flat] = True
    # off-grid vertices elsewhere: their facet's texel (a facet corner belongs to one facet)
    vx, vy = np.zeros(len(v), np.int64), np.zeros(len(v), np.int64)
    vknown = on.copy()
    vx[on], vy[on] = px[on], py[on]
    fv = f[flat]
    vx[fv.ravel()], vy[fv.ravel()] = np.repeat(fx_, 3), np.repeat(fy_, 3)
    vknown[fv.ravel()] = True
    other = ~unit & ~flat & vknown[f].all(1)
    tex_x[other], tex_y[other] = vx[f[other]], vy[f[other]]
    line = other & (((tex_x.max(1) - tex_x.min(1) == 0) & (tex_y.max(1) - tex_y.min(1) <= 1))
                    | ((tex_y.max(1) - tex_y.min(1) == 0) & (tex_x.max(1) - tex_x.min(1) <= 1)))
    usable = unit | flat | line
    # the fourth corner of grid halves
    x4 = x0 + 2 - (cx - x0[:, None]).sum(1)
    y4 = y0 + 2 - (cy - y0[:, None]).sum(1)
    right = (cx == (2 * x0 + 1 - x4)[:, None]) & (cy == (2 * y0 + 1 - y4)[:, None])
    c = colors[f].astype(np.int64)
    c0 = (c * right[..., None]).sum(1)
    extrapolated = _rgb(np.clip(c.sum(1) - 2 * c0, 0, 255))  # c1 + c2 - c0
    ids = pos_id[f]
    diag = np.sort(np.where(right, -1, ids), 1)[:, 1:]  # the two ends of the diagonal
    n = np.int64(pos_id.max() + 1)
    dkey = np.where(unit, diag[:, 0] * n + diag[:, 1], -1 - np.arange(t))
    order = np.argsort(dkey, kind="stable")
    sk = dkey[order]
    fourth = extrapolated.copy()
    same = np.nonzero(sk[1:] == sk[:-1])[0]
    a, b = order[same], order[same + 1]
    # the other half's vertex opposite the diagonal must sit on this half's fourth corner
    far_a = (c[a] * right[a][..., None]).sum(1)
    far_b = (c[b] * right[b][..., None]).sum(1)
    at_a = (x4[a] == (cx[b] * right[b]).sum(1)) & (y4[a] == (cy[b] * right[b]).sum(1))
    at_b = (x4[b] == (cx[a] * right[a]).sum(1)) & (y4[b] == (cy[a] * right[a]).sum(1))
    fourth[a[at_a]] = _rgb(far_b[at_a])
    fourth[b[at_b]] = _rgb(far_a[at_b])
    # requests: every corner's texel (flat: one), plus the fourth corner of grid halves
    sel = np.nonzero(usable)[0]
    req = [_Requests(np.repeat(sel, 3), tex_x[sel].ravel(), tex_y[sel].ravel(), col[sel].ravel())]
    us = np.nonzero(unit)[0]
    req.append(_Requests(us, x4[us], y4[us], fourth[us]))
    return tex_x, tex_y, usable, _Requests.join(req, [0, 0])


def _gather_cells(images: np.ndarray, x0: int, y0: int, sheet: np.ndarray, tx: np.ndarray, ty: np.ndarray,
                  side: int) -> np.ndarray:
    """(C, side, side, 3) texels of cells: sheet ``sheet`` of ``images`` (S, H, W, 3), whose
    pixel (x0, y0) is index (0, 0), from pixel (tx, ty) * TILE on (zero outside)."""
    _, h, w, _ = images.shape
    a = np.arange(side)
    gx = tx[:, None, None] * TILE + a[None, None, :] - x0
    gy = ty[:, None, None] * TILE + a[None, :, None] - y0
    inside = (gx >= 0) & (gy >= 0) & (gx < w) & (gy < h)
    out = images[sheet[:, None, None], np.clip(gy, 0, h - 1), np.clip(gx, 0, w - 1)]
    return np.where(inside[..., None], out, 0).astype(np.uint8)


def _pack(cells: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Cells (C, side, side, 3) in rows of the atlas: (block (rows, ATLAS_WIDTH, 3), origin (C, 2))."""
    x, y, rows = _cell_rows(len(cells), side, side)
    block = np.zeros((rows, ATLAS_WIDTH, 3), np.uint8)
    a = np.arange(side)
    block[y[:, None, None] + a[None, :, None], x[:, None, None] + a[None, None, :]] = cells
    return block, np.stack([x, y], 1)


def _tiled_part(corner_pos: np.ndarray, corner_src: np.ndarray, sheet: np.ndarray, px: np.ndarray, py: np.ndarray,
                images: np.ndarray, x0: int, y0: int, side: int):
    """Triangles (T, 3 corners) at pixels (px, py) of sheets (T,): one cell of ``side`` texels
    per (sheet, tile) they use (from ``images``), vertices shared by source id (corner_src)
    and texel. Returns vertices (V, 3), texel (V, 2) in the block, block, faces (T, 3) (sorted
    by cell, so that runs of them use few vertices), and that order (T,): the input triangle
    of each returned face."""
    tx, ty, _ = _tile_of(px, py)
    cell_keys = np.stack([sheet, tx, ty], 1)
    cells, cell = np.unique(cell_keys, axis=0, return_inverse=True)
    cell = cell.reshape(-1)
    block, origin = _pack(_gather_cells(images, x0, y0, cells[:, 0], cells[:, 1], cells[:, 2], side), side)
    lx, ly = px - (tx * TILE)[:, None], py - (ty * TILE)[:, None]
    src = corner_src.astype(np.int64)
    nsrc = np.int64(src.max() + 1)
    span = TILE + 2  # local texel coordinates run 0..TILE (a nearest cell's far corners: TILE)
    key = ((np.repeat(cell, 3).reshape(-1, 3) * span + ly) * span + lx) * nsrc + src
    uniq, first, inverse = np.unique(key.ravel(), return_index=True, return_inverse=True)
    texel = origin[np.repeat(cell, 3)] + np.stack([lx.ravel(), ly.ravel()], 1)
    order = np.argsort(cell, kind="stable")
    return corner_pos.reshape(-1, 3)[first], texel[first], block, inverse.reshape(-1, 3)[order], order


def _flat_part(flat: FlatPart):
    """Strips of :func:`merge_flat_squares` (merged with ``texture_width=ATLAS_WIDTH``) as an
    atlas part (vertices, texel corner (V, 2) in the block, block, faces, nearest=True)."""
    tex = flat.texture
    h, w = tex.shape[:2]
    if w > ATLAS_WIDTH:  # a strip folded at the atlas's width would read past it
        raise ValueError(f"web GLB: strip texture {w} texels wide, over the atlas's {ATLAS_WIDTH}")
    texel = np.round(flat.uv.astype(np.float64) * [w, h]).astype(np.int64)  # texel corners
    block = np.zeros((h, ATLAS_WIDTH, tex.shape[2]), np.uint8)  # RGB, or RGBA for the soft rim
    block[:, :w] = tex
    return flat.vertices.astype(np.float64), texel, block, flat.faces.astype(np.int64), True


def web_geometry(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None, max_error_px: float = 0.5,
                 simplify: bool = True, guard: bool = True, strips: bool = True, soft: bool = True) -> WebGeometry:
    """The simplified, fully textured form of ``mesh`` and its hole guard (see module doc).

    Args:
        paths: the camera paths that bound the geometric error (default the reference's four).
        max_error_px: largest image displacement of a vertex the simplification may cause.
        simplify: False keeps every triangle (still textured).
        guard: False leaves the hole guard out.
        strips: merge runs of edge facets into strips of up to 64
            pixel squares (:func:`photo3d.render.simplify.merge_flat_squares`, as the renderer
            does), read with nearest sampling (only with ``simplify``).
        soft: the soft rim (``Mesh.soft``: the rim's facets and the outer fringe) blended, as
            photo3d's renderer draws it (only with ``simplify`` and ``strips``): the mesh in its
            soft colours, the rim's faces in ``blend_*`` (an RGBA atlas of their own; the GLB
            backs them in the guard, see :func:`web_glb_bytes`); else the photo's colours, opaque.
    """
    paths = default_path_frames(mesh) if paths is None else paths
    k = mesh.intrinsics
    facet_strips = None
    strips = strips and simplify
    blend = None
    if simplify:
        mesh = without_zero_area_faces(mesh)  # the facets' ties: nothing to draw
        if soft and strips:
            mesh, blend = split_soft_rim(mesh)
        motion = motion_extent(paths)
        allowed = disparity_tolerance(mesh, max_error_px, *motion)
        # the guard's quads meet the mesh's edges: a patch keeps the vertices they use (as the
        # renderer's; a dropped one is a T-junction between the nodes)
        shared = mesh.guard.vertices if guard and mesh.guard is not None and mesh.guard.num_faces else None
        rm = simplify_grid_mesh(mesh, WEB_BLOCKS, allowed_error=allowed, atlas_width=ATLAS_WIDTH, shared=shared)
        if strips and len(rm.faces):
            # a facet strip is 4 vertices and 2 triangles for up to 64 squares of 4 and 2
            facet_strips, kept = merge_strips(mesh, rm.vertices, rm.colors, rm.faces, motion, max_error_px,
                                              offset=0.5, continuous=False, texture_width=ATLAS_WIDTH)
            rm.faces = rm.faces[kept]
    else:
        rm = render_mesh(dataclasses.replace(mesh, soft=None), simplify=False)  # opaque: the photo's colours
    # one id per distinct position, over both parts: a vertex the patches and the other
    # triangles share becomes one glTF vertex where it reads the same texel
    tv, tf = rm.tex_vertices, rm.tex_faces.astype(np.int64)
    v, f = rm.vertices, rm.faces.astype(np.int64)
    if rm.texture is None:
        tf = np.zeros((0, 3), np.int64)
    _, pos_id = np.unique(np.concatenate([tv, v]).astype(np.float32), axis=0, return_inverse=True)
    pos_id = pos_id.reshape(-1)
    # texel pixel per corner, requests, triangles the sheets can hold
    n_tex = len(tf)
    corner_x, corner_y, usable, requests, priority = [], [], [], [], []
    if n_tex:
        tpx, tpy, ton = _pixels(tv, k)
        tex_texel = np.round(rm.tex_uv.astype(np.float64) * [rm.texture.shape[1], rm.texture.shape[0]] - 0.5)
        tex_texel = tex_texel.astype(np.int64)
        off = tex_texel[tf] - np.stack([tpx[tf], tpy[tf]], -1)
        ok = ton[tf].all(1) & (off == off[:, :1]).all((1, 2))
        requests.append(_patch_requests(rm.texture, tex_texel[tf], tpx[tf], tpy[tf], ok))
        corner_x.append(tpx[tf]), corner_y.append(tpy[tf]), usable.append(ok)
        priority.append(tv[tf][..., 2].mean(1))
    if len(f):
        vx, vy, ok, req = _vc_requests(v, rm.colors, f, k, pos_id[len(tv):])
        requests.append(req)
        corner_x.append(vx), corner_y.append(vy), usable.append(ok)
        priority.append(v[f][..., 2].mean(1))
    if not requests:
        raise Photo3DError("web export: the mesh has no triangles")
    corner_x, corner_y = np.concatenate(corner_x), np.concatenate(corner_y)
    usable, priority = np.concatenate(usable), np.concatenate(priority).astype(np.float64)
    usable &= _tile_of(corner_x, corner_y)[2]
    req = _Requests.join(requests, [0, n_tex])
    keep = usable[req.tri]
    req = _Requests(req.tri[keep], req.x[keep], req.y[keep], req.rgb[keep])
    sheet, images, sx0, sy0 = _place(req, priority, len(usable))
    placed = sheet >= 0
    parts = []  # (vertices, texel in block, block, faces[, nearest])
    if facet_strips is not None and len(facet_strips.faces):  # first: they win depth ties, as in the renderer
        parts.append(_flat_part(facet_strips))
    all_pos = np.concatenate([tv[tf], v[f]]).astype(np.float64)  # (T, 3, 3)
    all_src = np.concatenate([pos_id[tf], pos_id[len(tv):][f]])
    if placed.any():
        parts.append(_tiled_part(all_pos[placed], all_src[placed], sheet[placed], corner_x[placed], corner_y[placed],
                                 images, sx0, sy0, TILE + 1)[:4])
    lost_tex = np.nonzero(~placed[:n_tex])[0]
    if len(lost_tex):  # patches the sheets could not hold: the renderer's own texture for them
        tex = rm.texture
        if tex.shape[1] < ATLAS_WIDTH:
            tex = np.pad(tex, ((0, 0), (0, ATLAS_WIDTH - tex.shape[1]), (0, 0)))
        used, faces = np.unique(tf[lost_tex], return_inverse=True)
        ty = tex_texel[tf[lost_tex], 1]
        mark = np.zeros(len(tex) + 1, np.int64)
        np.add.at(mark, ty.min(1), 1)
        np.add.at(mark, ty.max(1) + 1, -1)
        need = np.cumsum(mark)[:-1] > 0  # only the rows they read
        rows = np.nonzero(need)[0]
        new_row = np.cumsum(need) - 1
        parts.append((tv[used].astype(np.float64), np.stack([tex_texel[used, 0], new_row[tex_texel[used, 1]]], 1),
                      tex[rows], faces.reshape(-1, 3)))
    lost_vc = np.nonzero(~placed[n_tex:])[0]
    if len(lost_vc):
        parts.append(_triangle_cells(v.astype(np.float64), rm.colors, f[lost_vc], k))
    main_parts = len(parts)
    rim_parts = []
    if blend is not None:
        # the soft rim as the renderer draws it: its facets merged into strips of RGBA texels
        # (nearest), the rest (bridges, facets that would not merge) in RGBA 2x2 cells
        bv, brgba, bf, _ = blend
        rim_strips, kept = merge_strips(mesh, bv, brgba, bf, motion, max_error_px, offset=0.5, continuous=False,
                                        texture_width=ATLAS_WIDTH)
        if len(rim_strips.faces):
            rim_parts.append(_flat_part(rim_strips))
        if kept.any():
            rim_parts.append(_triangle_cells(bv.astype(np.float64), brgba, bf[kept].astype(np.int64), k))
    guard_order = []
    if guard:
        # the guard's quads one by one, not merged into strips (as the renderer's): a strip's
        # long side, off the quads' by up to the error bound and with the mesh's vertices along
        # it, no longer meets the mesh's edge once rounded to 16 bits (a clear pixel in 5 of
        # the 16 Middlebury scenes' 46 poses)
        gv, gc, gf = render_mesh_guard(mesh)
        if len(gf):
            guard_parts, guard_order = _guard_parts(gv.astype(np.float64), gc, gf.astype(np.int64), k)
            parts.extend(guard_parts)
    def join(items):  # parts -> (their blocks stacked into one atlas, vertices, uv in it, faces, nearest)
        atlas = np.concatenate([p[2] for p in items])
        tops = np.cumsum([0] + [p[2].shape[0] for p in items])
        size = np.array([atlas.shape[1], atlas.shape[0]], np.float64)
        verts, uvs, faces, near, offset = [], [], [], [], 0
        for i, (pv, pt, _, pf, *rest) in enumerate(items):
            centre = 0.0 if rest and rest[0] else 0.5  # nearest cells: uv at texel corners
            verts.append(pv)
            uvs.append((np.asarray(pt, np.float64) + [0, tops[i]] + centre) / size)
            faces.append(pf + offset)
            near.append(np.full(len(pf), bool(rest and rest[0])))
            offset += len(pv)
        return atlas, np.concatenate(verts), np.concatenate(uvs), np.concatenate(faces), np.concatenate(near)

    # one atlas for the mesh's parts, then the guard's
    atlas, vertices, uv, faces, main_nearest = join(parts)
    n_main_faces = sum(len(p[3]) for p in parts[:main_parts])
    n_main_vertices = sum(len(p[0]) for p in parts[:main_parts])
    guard_v, guard_uv = vertices[n_main_vertices:], uv[n_main_vertices:]
    guard_faces, nearest = faces[n_main_faces:] - n_main_vertices, main_nearest[n_main_faces:]
    vertices, uv, faces, main_nearest = (vertices[:n_main_vertices], uv[:n_main_vertices], faces[:n_main_faces],
                                         main_nearest[:n_main_faces])
    if len(guard_order):  # back to the guard's drawing order
        inverse = np.empty_like(guard_order)
        inverse[guard_order] = np.arange(len(guard_order))
        guard_faces, nearest = guard_faces[inverse], nearest[inverse]
    out = WebGeometry(vertices, uv, faces, guard_v, guard_uv, guard_faces, atlas, nearest, main_nearest)
    if rim_parts:
        out.rim_atlas, out.blend_vertices, out.blend_uv, out.blend_faces, out.blend_nearest = join(rim_parts)
    return out


def _guard_parts(vertices: np.ndarray, colors: np.ndarray, faces: np.ndarray, k: Intrinsics):
    """The hole guard's triangles as atlas parts: flat halves of grid squares (the cut quads and
    the layer-edge walls) share vertices and read one texel each (nearest sampling; a 64 x 64
    cell per tile and distinct colour at a square); the others (the border skirt) get 2x2
    cells. Returns the parts ((vertices, texel, block, faces, nearest), the grid part first)
    and ``order``: the guard's face of each returned face, in the parts' order."""
    px, py, on = _pixels(vertices, k)
    c = colors[faces].astype(np.int64)
    halves, _, _, x0, y0 = _grid_halves(px, py, on, faces)
    grid = halves & (c == c[:, :1]).all((1, 2))
    parts, order = [], []
    g = np.nonzero(grid)[0]
    if len(g):
        rgb = _rgb(c[g, 0])
        gx0, gy0 = x0[g], y0[g]
        xmin, ymin = int(gx0.min()), int(gy0.min())
        w, h = int(gx0.max()) - xmin + 1, int(gy0.max()) - ymin + 1
        square = (gy0 - ymin) * w + (gx0 - xmin)
        combos, which = np.unique(np.stack([square, rgb], 1), axis=0, return_inverse=True)
        which = which.reshape(-1)
        start = np.r_[0, np.nonzero(combos[1:, 0] != combos[:-1, 0])[0] + 1]
        rank = np.arange(len(combos)) - np.repeat(start, np.diff(np.r_[start, len(combos)]))
        images = np.zeros((int(rank.max()) + 1, h, w, 3), np.uint8)
        images[rank, combos[:, 0] // w, combos[:, 0] % w] = _unrgb(combos[:, 1])
        # dedupe vertices by position (the guard repeats them per quad)
        _, pos_id = np.unique(vertices.astype(np.float32), axis=0, return_inverse=True)
        pos_id = pos_id.reshape(-1)
        gf = faces[g]
        *part, face_order = _tiled_part(vertices[gf], pos_id[gf], rank[which], px[gf], py[gf], images, xmin, ymin,
                                        TILE)
        parts.append((*part, True))
        order.append(g[face_order])
    rest = np.nonzero(~grid)[0]
    if len(rest):
        parts.append((*_triangle_cells(vertices, colors, faces[rest], k), False))
        order.append(rest)
    return parts, np.concatenate(order)


def simplified_mesh(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None,
                    max_error_px: float = 0.3) -> Mesh:
    """``mesh`` simplified as the renderer draws it (:func:`web_geometry`: patches merged where no
    vertex moves by more than ``max_error_px`` pixels at the most extreme camera of ``paths``),
    as one textured Mesh (``Mesh.texture``: the atlas at full resolution) for mesh files; its
    vertex colours are the texels under its vertices. Without the hole guard."""
    geometry = web_geometry(mesh, paths, max_error_px, guard=False, strips=False, soft=False)  # mesh files: bilinear, opaque
    atlas = geometry.atlas
    texel = np.round(geometry.uv * [atlas.shape[1], atlas.shape[0]] - 0.5).astype(np.int64)
    texel = np.clip(texel, 0, [atlas.shape[1] - 1, atlas.shape[0] - 1])
    return dataclasses.replace(
        mesh, vertices=geometry.vertices.astype(np.float32), colors=atlas[texel[:, 1], texel[:, 0]],
        faces=geometry.faces.astype(np.int32), texture=MeshTexture(geometry.uv.astype(np.float32), atlas, projective=True), guard=None,
        soft=None)


def render_mesh_guard(mesh: Mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hole guard of ``mesh`` as (vertices, colours, faces); empty arrays without one."""
    g = mesh.guard
    if g is None or g.num_faces == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.uint32)
    return np.asarray(g.vertices, np.float32), np.asarray(g.colors, np.uint8), np.asarray(g.faces, np.uint32)


class _Buffer:
    """The GLB's binary chunk, built view by view (each view 4-byte aligned)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.views: list[dict] = []
        self.accessors: list[dict] = []
        self.length = 0

    def view(self, data: bytes, target: int | None = None, stride: int | None = None) -> int:
        view = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        if stride is not None:
            view["byteStride"] = stride
        pad = -len(data) % 4
        self.parts.append(data + b"\0" * pad)
        self.length += len(data) + pad
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, view: int, component: int, count: int, kind: str, **extra) -> int:
        self.accessors.append({"bufferView": view, "componentType": component, "count": int(count), "type": kind, **extra})
        return len(self.accessors) - 1

    def bytes(self) -> bytes:
        return b"".join(self.parts)


INDEX_LIMIT = 65535  # vertices a primitive may use: 16-bit indices, 65535 being the primitive restart value


def _chunks(faces: np.ndarray, limit: int = INDEX_LIMIT) -> list[tuple[int, int]]:
    """Consecutive runs [start, end) of ``faces`` that each use at most ``limit`` distinct
    vertices (greedy, in order: the guard is drawn in its order)."""
    runs, i = [], 0
    while i < len(faces):
        flat = faces[i:].reshape(-1)
        _, first = np.unique(flat, return_index=True)
        new = np.zeros(flat.size, np.int64)
        new[first] = 1
        used = new.reshape(-1, 3).sum(1).cumsum()  # distinct vertices of faces[i:i + j + 1]
        n = max(int(np.searchsorted(used, limit, side="right")), 1)
        runs.append((i, i + n))
        i += n
    return runs


@dataclass(frozen=True)
class _PositionGrid:
    """The 16-bit grid a node's positions are stored on (glTF ``KHR_mesh_quantization``): a
    stored q (3,) uint16 means the flipped point lo + q * step (the node's translation and
    scale)."""

    lo: np.ndarray
    step: np.ndarray

    def transform(self) -> dict:
        return {"translation": self.lo.tolist(), "scale": self.step.tolist()}


def _quantised_nodes(fine: list[np.ndarray], coarse: np.ndarray):
    """16-bit positions of point sets (camera frame, (N, 3) each) on two grids: the point sets
    ``fine`` (the mesh, the guard's quads at its cuts) on one grid, ``coarse`` (the guard's
    border skirt) on a coarser one made of its points. Returns (q of each fine set, the fine
    grid, q of ``coarse``, m (3,), j (3,)): the coarse grid is lo - j * step, m * step of the
    fine one (integers m, j: the skirt's node, a child of the guard's, has translation -j and
    scale m).

    Why: a point two nodes share (where the guard meets a cut's edge, where the skirt meets
    the border) rounded on two unrelated grids lands on two places up to half a step apart,
    and a pixel centre in the sliver between stayed clear (web GLB pinholes). So the mesh and
    the guard's quads share one grid: their shared points are the same stored integers. The
    skirt reaches a canvas size beyond the border, ~3x the mesh's extent sideways: on the one
    grid it would round everything 3x coarser (-1 dB against the full mesh). Its grid's points
    are points of the fine grid, and a point it shares (the border's ring) is stored at its
    coarse grid point in every node (the fine grid has m steps of margin each side for that).
    Depth has one grid for all (:func:`_along_rays`)."""
    flips = [np.asarray(p, np.float64).reshape(-1, 3) * _FLIP for p in fine]
    pf, pc = np.concatenate(flips), np.asarray(coarse, np.float64).reshape(-1, 3) * _FLIP
    both = np.concatenate([pf, pc])
    if len(both) == 0:
        empty = np.zeros((0, 3), "<u2")
        return [empty for _ in fine], _PositionGrid(np.zeros(3), np.ones(3)), empty, np.ones(3, np.int64), np.zeros(3, np.int64)
    z_lo = both[:, 2].min()
    z_step = max(both[:, 2].max() - z_lo, 1e-12) / 65535.0
    mf, mc = _along_rays(pf, z_lo, z_step), _along_rays(pc, z_lo, z_step)
    lo_f, hi_f = (mf.min(0), mf.max(0)) if len(mf) else (mc.min(0), mc.max(0))
    lo_c, hi_c = (mc.min(0), mc.max(0)) if len(mc) else (lo_f, hi_f)
    span = np.maximum(np.maximum(hi_f, hi_c) - np.minimum(lo_f, lo_c), 1e-12)
    span_f = np.maximum(hi_f - lo_f, span / 8192)  # (m stays well below 65535 / 2)
    m = np.ceil(span / span_f).astype(np.int64) + 1  # coarse steps cover the skirt, after alignment
    m[2] = 1
    step = span_f / (65535.0 - 2 * m)
    step[2] = z_step
    lo = lo_f - m * step
    lo[2] = z_lo
    j = np.ceil((lo - lo_c) / step).astype(np.int64)  # the coarse lo: the fine one, j of its steps lower
    j[2] = 0
    grid = _PositionGrid(lo, step)
    qc = np.round((mc - (lo - j * step)) / (m * step)).astype(np.int64)
    qf = np.round((mf - lo) / step).astype(np.int64)
    # points the skirt shares: their fine copies go to its grid point
    _, ids = np.unique(both, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    in_coarse = np.full(ids.max() + 1, -1, np.int64)
    in_coarse[ids[len(pf):]] = np.arange(len(pc))
    shared = in_coarse[ids[:len(pf)]]
    on = shared >= 0
    qf[on] = qc[shared[on]] * m - j
    qf = np.clip(qf, 0, 65535).astype("<u2")
    splits = np.cumsum([len(p) for p in flips])[:-1]
    return np.split(qf, splits), grid, np.clip(qc, 0, 65535).astype("<u2"), m, j


def _beyond(points: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """(N,) bool: ``points`` outside the bounding box of ``inside`` (beyond rounding)."""
    if len(inside) == 0:
        return np.ones(len(points), bool)
    lo, hi = inside.min(0), inside.max(0)
    tol = 1e-6 * max(float(np.abs(inside).max()), 1e-12)
    return ((points < lo - tol) | (points > hi + tol)).any(1)


def _node_part(vertices: np.ndarray, uv: np.ndarray, faces: np.ndarray):
    """The vertices, uv and faces (re-indexed) that ``faces`` use."""
    used, local = np.unique(faces, return_inverse=True)
    return vertices[used], uv[used], local.reshape(-1, 3)


def _along_rays(p: np.ndarray, z_lo: float, z_step: float) -> np.ndarray:
    """Flipped points ``p`` with depth rounded to the grid's and x, y moved along each point's
    ray to it: the input camera then sees every vertex where it was (rounding the three axes
    alike moved them by up to ~0.7 px there on a deep scene, bending sharp texture edges)."""
    z = z_lo + np.clip(np.round((p[:, 2] - z_lo) / z_step), 0, 65535) * z_step
    ratio = np.divide(z, p[:, 2], out=np.ones_like(z), where=np.abs(p[:, 2]) > 1e-12)
    return np.stack([p[:, 0] * ratio, p[:, 1] * ratio, z], 1)


def _primitives(buf: _Buffer, q: np.ndarray, uv: np.ndarray, faces: np.ndarray,
                groups: np.ndarray, uv_float: bool = True) -> list[dict]:
    """The primitives of one node, in face order: runs of one material (``groups``, the
    material index of each face: see the materials in :func:`web_glb_bytes`), each split into
    chunks of at most 65535 vertices with 16-bit indices (each chunk's vertices copied out; all
    chunks share one position and one uv view).
    ``q`` (V, 3) uint16: the vertices' positions on the node's grid (:func:`_quantised_nodes`).
    ``uv_float``: texture coordinates as 32-bit floats (what every reader decodes; trimesh
    reads normalised integers unscaled), else normalised 16-bit."""
    if uv_float:
        uvq, uv_type, uv_bytes = np.asarray(uv, "<f4"), 5126, 8
    else:
        uvq, uv_type, uv_bytes = np.clip(np.round(uv * 65535.0), 0, 65535).astype("<u2"), 5123, 4
    if len(faces) == 0:
        return []
    change = np.r_[0, np.nonzero(groups[1:] != groups[:-1])[0] + 1, len(faces)]
    pieces, total = [], 0
    for a, b in zip(change[:-1], change[1:]):
        for s, e in _chunks(faces[a:b]):
            used, local = np.unique(faces[a + s:a + e], return_inverse=True)
            pieces.append((total, used, local.reshape(-1).astype("<u2"), int(groups[a])))
            total += len(used)
    order = np.concatenate([u for _, u, _, _ in pieces])
    qpos = np.zeros((total, 4), "<u2")
    qpos[:, :3] = q[order]
    pos_view = buf.view(qpos.tobytes(), target=34962, stride=8)
    uv_view = buf.view(np.ascontiguousarray(uvq[order]).tobytes(), target=34962, stride=uv_bytes)  # shared: stride required
    prims = []
    for start, used, idx, group in pieces:
        qs = qpos[start:start + len(used), :3]
        pos = buf.accessor(pos_view, 5123, len(used), "VEC3", byteOffset=8 * start,
                           min=qs.min(0).tolist(), max=qs.max(0).tolist())
        tex = buf.accessor(uv_view, uv_type, len(used), "VEC2", byteOffset=uv_bytes * start,
                           **({} if uv_float else {"normalized": True}))
        ind = buf.accessor(buf.view(idx.tobytes(), target=34963), 5123, idx.size, "SCALAR")
        prims.append({"attributes": {"POSITION": pos, "TEXCOORD_0": tex}, "indices": ind, "mode": 4, "material": group})
    return prims


def encode_atlas(atlas: np.ndarray, jpeg_quality: int | None) -> tuple[bytes, str]:
    """(file bytes, MIME type) of the RGB (or RGBA, PNG only) atlas: PNG (lossless) when
    ``jpeg_quality`` is None, else JPEG at that quality with full-resolution chroma (4:4:4: the
    cells are 2 texels wide)."""
    bgr = np.ascontiguousarray(atlas[..., [2, 1, 0, 3][:atlas.shape[2]]])
    if jpeg_quality is None:
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9,  # filtered: ~2.5 % smaller here
                                              cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_FILTERED])
        mime = "image/png"
    else:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality),
                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
        mime = "image/jpeg"
    if not ok:
        raise Photo3DError("web export: could not encode the texture atlas")
    return data.tobytes(), mime


def web_glb_bytes(geometry: WebGeometry, intrinsics: Intrinsics, paths: dict[str, list[CameraFrame]],
                  fps: float = 40.0, autoplay: str | None = "swing", jpeg_quality: int | None = None,
                  uv_float: bool = True) -> bytes:
    """Encode ``geometry`` as a GLB (see module doc); ``paths`` and ``autoplay`` go into
    ``asset.extras.photo3d`` for the viewer; the atlas as PNG, or JPEG at ``jpeg_quality``."""
    buf = _Buffer()
    image_bytes, mime = encode_atlas(geometry.atlas, jpeg_quality)
    image_view = buf.view(image_bytes)
    meshes, nodes = [], []
    main_nearest = np.asarray(geometry.nearest, bool)
    if len(main_nearest) != len(geometry.faces):
        main_nearest = np.zeros(len(geometry.faces), bool)
    gv, guv, gf = geometry.guard_vertices, geometry.guard_uv, np.asarray(geometry.guard_faces, np.int64)
    nearest = np.asarray(geometry.guard_nearest, bool)
    if len(nearest) != len(gf):
        nearest = np.zeros(len(gf), bool)
    skirt = _beyond(np.asarray(gv, np.float64), np.asarray(geometry.vertices, np.float64))[gf].any(1)
    cut_part, skirt_part = _node_part(gv, guv, gf[~skirt]), _node_part(gv, guv, gf[skirt])
    # the mesh node: the mesh (materials 0, 1), then the soft rim (2, 3: blended, the rim atlas)
    n = len(geometry.vertices)
    blend_near = np.asarray(geometry.blend_nearest, bool)
    main_v = np.concatenate([geometry.vertices, geometry.blend_vertices]).reshape(-1, 3)
    main_uv = np.concatenate([geometry.uv, geometry.blend_uv]).reshape(-1, 2)
    main_f = np.concatenate([geometry.faces, np.asarray(geometry.blend_faces, np.int64) + n]).reshape(-1, 3)
    groups = np.concatenate([main_nearest.astype(np.int64), 2 + blend_near.astype(np.int64)])
    (q_main, q_cut), grid, q_skirt, m, j = _quantised_nodes([main_v, cut_part[0]], skirt_part[0])
    main_prims = _primitives(buf, q_main, main_uv, main_f, groups, uv_float)
    meshes.append({"name": "photo3d", "primitives": main_prims})
    nodes.append({"name": "photo3d", "mesh": 0, **grid.transform()})
    if len(gf) or len(geometry.blend_faces):
        # the guard: its quads at the cuts on the mesh's grid; its border skirt in a child node
        # (hidden with it) on a coarser grid whose points are the mesh's grid's points
        guard = {"name": GUARD_NODE, "extras": {"photo3d": "hole guard: draw behind everything"}, **grid.transform()}
        nodes.append(guard)
        # the soft rim once more, opaque (materials 4, 5: its atlas's colours, alpha ignored), last
        # in the guard: where nothing else lies behind the rim it blends over that, not over the
        # clear colour (as photo3d's renderer). The rim's own accessors: the guard's quads are on
        # the mesh's grid, so the same stored positions are the same points in both nodes.
        backing = [{**p, "material": p["material"] + 2} for p in main_prims if p["material"] >= 2]
        cut_prims = _primitives(buf, q_cut, cut_part[1], cut_part[2], nearest[~skirt].astype(np.int64), uv_float)
        if cut_prims or backing:
            meshes.append({"name": GUARD_NODE, "primitives": cut_prims + backing})
            guard["mesh"] = len(meshes) - 1
        if len(skirt_part[2]):
            meshes.append({"name": SKIRT_NODE, "primitives": _primitives(buf, q_skirt, skirt_part[1], skirt_part[2],
                                                                          nearest[skirt].astype(np.int64), uv_float)})
            guard["children"] = [len(nodes)]
            nodes.append({"name": SKIRT_NODE, "mesh": len(meshes) - 1, "translation": (-j).astype(float).tolist(),
                          "scale": m.astype(float).tolist()})
    kinds = 2 if main_nearest.any() or (len(geometry.guard_faces) and np.asarray(geometry.guard_nearest, bool).any()) else 1
    rim_view = None
    if len(geometry.blend_faces):  # the soft rim's atlas: PNG (its alpha), small
        kinds = 6
        rim_view = buf.view(encode_atlas(geometry.rim_atlas, None)[0])
    centres = np.concatenate([[f.center for f in frames] for frames in paths.values()] or [np.zeros((1, 3))])
    k = intrinsics
    extras = {
        "image_size": [k.width, k.height], "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy,
        "photo3d": {
            "axes": "camera frame (x right, y down, z forward) stored as (x, -y, -z)",
            "fps": float(fps),
            # the mesh's uv are affine in the input image per triangle: photo3d's viewer and
            # renderer interpolate them there (projective texturing); the guard's are not (but
            # for primitives marked extras.photo3d.projective: earlier versions' guard strips)
            "texture": {"projective": True, "nodes": ["photo3d"], "jpeg_quality": jpeg_quality},
            "autoplay": None if autoplay in (None, "none") else (autoplay if autoplay in paths else next(iter(paths), None)),
            "bounds": [centres.min(0).round(6).tolist(), centres.max(0).round(6).tolist()],
            "paths": {name: {"centers": np.round([f.center for f in frames], 6).tolist(),
                             "focal_scales": np.round([f.focal_scale for f in frames], 6).tolist()}
                      for name, frames in paths.items()},
        },
    }
    gltf = {
        "asset": {"version": "2.0", "generator": "photo3d (web)", "extras": extras},
        "extensionsUsed": ["KHR_mesh_quantization", "KHR_materials_unlit"],
        "extensionsRequired": ["KHR_mesh_quantization"],
        "scene": 0,
        "scenes": [{"nodes": [i for i, n in enumerate(nodes) if n["name"] != SKIRT_NODE]}],  # roots
        "nodes": nodes,
        "meshes": meshes,
        # material 1 (where the guard has flat grid quads): the same atlas read without filtering;
        # 2 and 3 (the soft rim): the rim's RGBA atlas, blended, bilinear and without filtering;
        # 4 and 5: the same, opaque (the rim's backing in the guard)
        "materials": [{"name": name, "pbrMetallicRoughness": {"baseColorTexture": {"index": i},
                       "metallicFactor": 0.0, "roughnessFactor": 1.0}, "doubleSided": True,
                       **({"alphaMode": "BLEND"} if i in (2, 3) else {}),
                       "extensions": {"KHR_materials_unlit": {}}}
                      for i, name in enumerate(("photo", "photo_nearest", "soft_rim", "soft_rim_nearest", "soft_rim_backing",
                                                "soft_rim_backing_nearest")[:kinds])],
        "samplers": [{"magFilter": f, "minFilter": f, "wrapS": 33071, "wrapT": 33071} for f in (9729, 9728)[:min(kinds, 2)]],
        "images": [{"bufferView": image_view, "mimeType": mime}] + ([{"bufferView": rim_view, "mimeType": "image/png"}]
                                                                    if kinds == 6 else []),
        "textures": [{"sampler": i % 2, "source": min(i // 2, 1)} for i in range(kinds)],
        "buffers": [{"byteLength": buf.length}],
        "bufferViews": buf.views,
        "accessors": buf.accessors,
    }
    return glb_container(gltf, buf.bytes())


def glb_container(gltf: dict, binary: bytes) -> bytes:
    """A GLB file: header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    json_chunk = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    json_chunk += b" " * (-len(json_chunk) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(binary)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(json_chunk), b"JSON") + json_chunk
            + struct.pack("<I4s", len(binary), b"BIN\0") + binary)


MAX_BYTES = 7_500_000  # the default budget: 8 MB for any 960 px photo, with a margin
JPEG_QUALITIES = (95, 92, 88, 84, 80)  # tried in turn where the PNG atlas makes the file too large
ERROR_FACTORS = (1.0, 2.0, 4.0)  # then coarser simplifications (times max_error_px)


def web_glb(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None, *, fps: float = 40.0,
            autoplay: str | None = "swing", max_error_px: float = 0.5, max_bytes: int | None = MAX_BYTES) -> bytes:
    """The web-sized GLB of ``mesh`` (module doc) as bytes. ``paths``: the camera paths the
    viewer may play and that bound its motion (default the reference's four).

    ``max_bytes``: the size budget (None: none). The atlas is PNG (lossless) where the file
    fits; else JPEG at the first of ``JPEG_QUALITIES`` that fits (on the 960 px photos measured,
    quality 95 costs ~4 dB of the ~49 dB at the input camera); else the same with the
    simplification's bound doubled, then quadrupled; the smallest result, with a warning, where
    none fits."""
    paths = default_path_frames(mesh) if paths is None else paths
    best = None
    for factor in ERROR_FACTORS if max_bytes else ERROR_FACTORS[:1]:
        geometry = web_geometry(mesh, paths, max_error_px * factor)
        for quality in (None, *JPEG_QUALITIES) if max_bytes else (None,):
            data = web_glb_bytes(geometry, mesh.intrinsics, paths, fps, autoplay, jpeg_quality=quality)
            if best is None or len(data) < len(best):
                best = data
            if not max_bytes or len(data) <= max_bytes:
                if quality is not None or factor != 1.0:
                    log.info("web GLB: %.2f MB with a JPEG atlas (quality %s) and the simplification's bound at "
                             "%.2f px, to fit %.2f MB", len(data) / 1e6, quality, max_error_px * factor, max_bytes / 1e6)
                return data
    log.warning("web GLB: %.2f MB, over the budget of %.2f MB even at JPEG quality %d and a %.2f px bound",
                len(best) / 1e6, max_bytes / 1e6, JPEG_QUALITIES[-1], max_error_px * ERROR_FACTORS[-1])
    return best


def write_web_glb(mesh: Mesh, path, paths: dict[str, list[CameraFrame]] | None = None, *, fps: float = 40.0,
                  autoplay: str | None = "swing", max_error_px: float = 0.5, max_bytes: int | None = MAX_BYTES) -> Path:
    """Write :func:`web_glb` of ``mesh`` to ``path`` atomically; returns the path."""
    data = web_glb(mesh, paths, fps=fps, autoplay=autoplay, max_error_px=max_error_px, max_bytes=max_bytes)
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return path


def parse_glb(data: bytes) -> tuple[dict, bytes]:
    """(glTF JSON, BIN chunk) of GLB bytes; Photo3DError when they are not a GLB."""
    if len(data) < 20 or data[:4] != b"glTF":
        raise Photo3DError("not a binary glTF (.glb) file")
    json_len = struct.unpack_from("<I", data, 12)[0]
    gltf = json.loads(data[20:20 + json_len].decode("utf-8"))
    rest = 20 + json_len
    binary = data[rest + 8:rest + 8 + struct.unpack_from("<I", data, rest)[0]] if len(data) > rest + 8 else b""
    return gltf, binary


def _read_accessor(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    """An accessor's values as float64 (normalised ones scaled to [0, 1]) or integers."""
    acc = gltf["accessors"][index]
    view = gltf["bufferViews"][acc["bufferView"]]
    dtype = np.dtype({5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}[acc["componentType"]])
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc["type"]]
    stride = view.get("byteStride", dtype.itemsize * width)
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    count = acc["count"]
    raw = np.frombuffer(binary, np.uint8, count=(count - 1) * stride + dtype.itemsize * width if count else 0, offset=start)
    values = np.lib.stride_tricks.as_strided(raw, (count, dtype.itemsize * width), (stride, 1)).copy().view(dtype)
    values = values.reshape(count, width)
    if acc.get("normalized"):
        return values.astype(np.float64) / float(np.iinfo(dtype).max)
    return values


def _node_transforms(gltf: dict):
    """(node, scale (3,), translation (3,), in the guard) of every node reachable from the
    scenes, its ancestors' scales and translations composed (all photo3d writes)."""
    nodes = gltf.get("nodes", [])
    roots = [i for scene in gltf.get("scenes", [{"nodes": list(range(len(nodes)))}]) for i in scene.get("nodes", [])]
    stack = [(i, np.ones(3), np.zeros(3), False) for i in reversed(roots)]
    out = []
    while stack:
        i, scale, translation, in_guard = stack.pop()
        node = nodes[i]
        s = np.asarray(node.get("scale", [1, 1, 1]), np.float64)
        t = np.asarray(node.get("translation", [0, 0, 0]), np.float64)
        scale, translation = scale * s, translation + scale * t
        in_guard = in_guard or node.get("name") == GUARD_NODE
        out.append((node, scale, translation, in_guard))
        stack.extend((c, scale, translation, in_guard) for c in reversed(node.get("children", [])))
    return out


def read_web_glb(path) -> tuple[RenderMesh, Intrinsics, dict]:
    """What photo3d's renderer draws of a web GLB: (RenderMesh with the textured mesh and the
    hole guard, the input camera, ``asset.extras``). Inverse of :func:`write_web_glb` up to
    quantisation; lets photo3d render exactly what the web viewer shows."""
    gltf, binary = parse_glb(Path(path).read_bytes())

    def image(index: int) -> np.ndarray:  # RGB, or RGBA (the soft rim's atlas)
        view = gltf["bufferViews"][gltf["images"][index]["bufferView"]]
        data = np.frombuffer(binary, np.uint8, count=view["byteLength"], offset=view.get("byteOffset", 0))
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        decoded = decoded[..., None].repeat(3, 2) if decoded.ndim == 2 else decoded
        return np.ascontiguousarray(decoded[..., [2, 1, 0, 3][:decoded.shape[2]]])

    atlas = image(0)[..., :3]
    materials = gltf.get("materials", [])
    nearest_materials = {i for i, m in enumerate(materials)
                         if gltf["samplers"][gltf["textures"][m["pbrMetallicRoughness"]["baseColorTexture"]["index"]]
                                             .get("sampler", 0)].get("magFilter") == 9728}
    blend_materials = {i for i, m in enumerate(materials) if m.get("alphaMode") == "BLEND"}
    source = [gltf["textures"][m["pbrMetallicRoughness"]["baseColorTexture"]["index"]]["source"] for m in materials]
    images = {i: atlas if i == 0 else image(i) for i in sorted(set(source) | {0})}
    parts: dict[str, list] = {}
    for node, scale, translation, in_guard in _node_transforms(gltf):
        if "mesh" not in node:
            continue
        points, uvs, faces, nearest, projective, blended, sources, offset = [], [], [], [], [], [], [], 0
        for prim in gltf["meshes"][node["mesh"]]["primitives"]:
            q = _read_accessor(gltf, binary, prim["attributes"]["POSITION"]).astype(np.float64)
            points.append((q * scale + translation) * _FLIP)
            uvs.append(_read_accessor(gltf, binary, prim["attributes"]["TEXCOORD_0"]))
            f = _read_accessor(gltf, binary, prim["indices"]).reshape(-1, 3).astype(np.int64) + offset
            faces.append(f)
            nearest.append(np.full(len(f), prim.get("material") in nearest_materials))
            projective.append(np.full(len(f), bool((prim.get("extras") or {}).get("photo3d", {}).get("projective"))))
            blended.append(np.full(len(f), prim.get("material") in blend_materials))
            sources.append(np.full(len(f), source[prim["material"]] if "material" in prim else 0))
            offset += len(q)
        part = [np.concatenate(points).astype(np.float32), np.concatenate(uvs).astype(np.float32),
                np.concatenate(faces).astype(np.uint32), np.concatenate(nearest), np.concatenate(projective),
                np.concatenate(blended), np.concatenate(sources)]
        name = GUARD_NODE if in_guard else node["name"]
        if name in parts:  # the guard's skirt: one part with the guard's quads
            have = parts[name]
            part[2] = part[2] + len(have[0])
            part = [np.concatenate([x, y]) for x, y in zip(have, part)]
        parts[name] = part

    def flat(v, uv, f, texture=atlas):  # nearest-sampled strips: the renderer's FlatPart (projective, nearest)
        used, local = np.unique(f, return_inverse=True)
        return FlatPart(v[used], uv[used], local.reshape(-1, 3).astype(np.uint32), texture)

    def texel_colors(texture, uv, f, near):  # each corner's texel (read without filtering: the centre's)
        h, w = texture.shape[:2]
        corner_uv = uv[f].astype(np.float64)  # (K, 3, 2)
        corner_uv[near] = corner_uv[near].mean(1, keepdims=True)
        tx = np.clip(np.floor(corner_uv[..., 0] * w), 0, w - 1).astype(int)
        ty = np.clip(np.floor(corner_uv[..., 1] * h), 0, h - 1).astype(int)
        return texture[ty, tx].reshape(-1, texture.shape[2])

    v, uv, f, near, _, blended, _ = parts["photo3d"]
    mine = ~blended
    out = RenderMesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.uint32),
                     v, uv, f[mine & ~near], atlas)
    if (mine & near).any():
        out.flat = flat(v, uv, f[mine & near])
    if blended.any():  # the soft rim: strips (nearest) and vertex colours from the rim atlas's texels
        rim = images[source[min(blend_materials)]]
        if (blended & near).any():
            out.blend_flat = flat(v, uv, f[blended & near], rim)
        cells = f[blended & ~near]
        out.blend_vertices = v[cells].reshape(-1, 3)
        out.blend_colors = texel_colors(rim, uv, cells, np.zeros(len(cells), bool)).astype(np.uint8)
        out.blend_faces = np.arange(3 * len(cells), dtype=np.uint32).reshape(-1, 3)
    out.tex_projective = bool(gltf["asset"].get("extras", {}).get("photo3d", {}).get("texture", {}).get("projective"))
    if GUARD_NODE in parts:
        # the renderer draws the guard's strips first (as for the full mesh), then the rest with
        # vertex colours: each triangle gets its own three vertices, coloured by the texel under
        # each (bilinear cells: texel centres) or, read without filtering, by the one texel under
        # its centre
        gv, guv, gf, near, strip, _, src = parts[GUARD_NODE]
        if strip.any():
            out.hole_flat = flat(gv, guv, gf[strip])
        gf, near, src = gf[~strip], near[~strip], src[~strip]
        out.hole_vertices = gv[gf].reshape(-1, 3)
        colors = np.zeros((len(gf), 3, 3), np.uint8)
        for i in np.unique(src):  # the guard's own atlas; the rim's backing reads the rim's (its RGB)
            colors[src == i] = texel_colors(images[i], guv, gf[src == i], near[src == i])[:, :3].reshape(-1, 3, 3)
        out.hole_colors = colors.reshape(-1, 3)
        out.hole_faces = np.arange(3 * len(gf), dtype=np.uint32).reshape(-1, 3)
    extras = gltf["asset"].get("extras", {})
    k = Intrinsics(float(extras["fx"]), float(extras["fy"]), float(extras["cx"]), float(extras["cy"]),
                   int(extras["image_size"][0]), int(extras["image_size"][1]))
    return out, k, extras
