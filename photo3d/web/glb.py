"""Web-sized binary glTF of a 3D photo: simplified, textured, quantised, hole guard included.

What :func:`write_web_glb` writes (valid glTF 2.0 + ``KHR_mesh_quantization`` +
``KHR_materials_unlit``; trimesh, three.js, Blender and ``<model-viewer>`` show it in colour):

* Geometry: the renderer's simplification (:func:`photo3d.render.simplify.simplify_grid_mesh`)
  with a screen-space bound: a vertex may move by at most ``max_error_px`` pixels at the
  most extreme camera of the video paths (:func:`photo3d.render.simplify.disparity_tolerance`).
* Colour: all of it from one texture atlas (PNG, so sRGB and lossless), ``ATLAS_WIDTH``
  texels wide: the flat patches' cells, a 2x2 cell per remaining triangle (its three vertex
  colours at three texel centres, the fourth chosen so that bilinear filtering reproduces the
  vertex-colour interpolation), and a 2x1 cell per hole-guard quad.
* Attributes: positions as unsigned 16-bit integers dequantised by the node's scale and
  translation; texture coordinates as normalised unsigned 16-bit; 16-bit indices, the mesh
  split into primitives of at most 65536 vertices (views shared, accessors offset).
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
from ..render.simplify import RenderMesh, disparity_tolerance, render_mesh, simplify_grid_mesh

ATLAS_WIDTH = 2048
WEB_BLOCKS = (64, 32, 16, 8, 4, 2)
GUARD_NODE = "photo3d_hole_guard"
_FLIP = np.array([1.0, -1.0, -1.0])


@dataclass
class WebGeometry:
    """The web mesh before encoding: one textured part and the hole guard, sharing ``atlas``.

    vertices (V, 3) float64 camera-frame points; uv (V, 2) float64 in [0, 1]; faces (F, 3)
    int64. guard_vertices (G, 3), guard_uv (G, 2), guard_faces (K, 3): likewise for the hole
    guard. atlas (H, ATLAS_WIDTH, 3) uint8 RGB (sRGB).
    """

    vertices: np.ndarray
    uv: np.ndarray
    faces: np.ndarray
    guard_vertices: np.ndarray
    guard_uv: np.ndarray
    guard_faces: np.ndarray
    atlas: np.ndarray


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
    block (rows, ATLAS_WIDTH, 3) uint8, and faces (T, 3) into the returned vertices.
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
    block = np.zeros((used_rows, ATLAS_WIDTH, 3), np.uint8)
    # pairs: a = far corner of the first, p, q its edge, d = far corner of the second
    a, pp, qq, d = far[first], p[first], q[first], far[second]
    xs, ys = x0[:m], y0[:m]
    for vid, dx, dy in ((a, 0, 0), (pp, 1, 0), (qq, 0, 1), (d, 1, 1)):
        block[ys + dy, xs + dx] = colors[vid]
    pair_vertices = np.stack([a, pp, qq, d], 1).reshape(-1)
    pair_texels = np.stack([np.stack([xs + dx, ys + dy], 1) for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1))], 1).reshape(-1, 2)
    base = 4 * np.arange(m)[:, None]
    pair_faces = np.concatenate([base + [0, 1, 2], base + [3, 2, 1]])
    # singles
    c = colors[faces[singles]].astype(np.int32)  # (S, 3, 3)
    xs, ys = x0[m:], y0[m:]
    block[ys, xs], block[ys, xs + 1], block[ys + 1, xs] = c[:, 0], c[:, 1], c[:, 2]
    block[ys + 1, xs + 1] = np.clip(c[:, 1] + c[:, 2] - c[:, 0], 0, 255)
    single_vertices = faces[singles].reshape(-1)
    single_texels = np.stack([np.stack([xs, ys], 1), np.stack([xs + 1, ys], 1), np.stack([xs, ys + 1], 1)], 1).reshape(-1, 2)
    single_faces = 4 * m + np.arange(3 * s).reshape(s, 3)
    ids = np.concatenate([pair_vertices, single_vertices])
    return (vertices[ids], np.concatenate([pair_texels, single_texels]), block,
            np.concatenate([pair_faces, single_faces]))


def _quad_cells(colors: np.ndarray):
    """The guard's quads (4 vertices each, colours a, b, b, a) as 2x1 cells: texel a for
    vertices 0 and 3, b for 1 and 2. Returns texel (x, y) per vertex (4Q, 2) and the block."""
    q = len(colors) // 4
    x0, y0, rows = _cell_rows(q, 2, 1)
    block = np.zeros((rows, ATLAS_WIDTH, 3), np.uint8)
    c = colors.reshape(q, 4, 3)
    block[y0, x0], block[y0, x0 + 1] = c[:, 0], c[:, 1]
    texel = np.stack([np.stack([x0, y0], 1), np.stack([x0 + 1, y0], 1), np.stack([x0 + 1, y0], 1),
                      np.stack([x0, y0], 1)], 1)
    return texel.reshape(-1, 2), block


def web_geometry(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None, max_error_px: float = 0.5,
                 simplify: bool = True) -> WebGeometry:
    """The simplified, fully textured form of ``mesh`` and its hole guard (see module doc).

    Args:
        paths: the camera paths that bound the geometric error (default the reference's four).
        max_error_px: largest image displacement of a vertex the simplification may cause.
        simplify: False keeps every triangle (still textured).
    """
    paths = default_path_frames(mesh) if paths is None else paths
    if simplify:
        shift_xy, shift_z, focal = motion_extent(paths)
        allowed = disparity_tolerance(mesh, max_error_px, shift_xy, shift_z, focal)
        rm = simplify_grid_mesh(mesh, WEB_BLOCKS, allowed_error=allowed, atlas_width=ATLAS_WIDTH)
        rm.hole_vertices, rm.hole_colors, rm.hole_faces = render_mesh_guard(mesh)
    else:
        rm = render_mesh(dataclasses.replace(mesh, soft=None), simplify=False)  # opaque: the photo's colours
    blocks, verts, texels, faces = [], [], [], []
    top = 0
    if rm.texture is not None and len(rm.tex_faces):
        tex = rm.texture
        if tex.shape[1] < ATLAS_WIDTH:
            tex = np.pad(tex, ((0, 0), (0, ATLAS_WIDTH - tex.shape[1]), (0, 0)))
        blocks.append(tex)
        verts.append(rm.tex_vertices.astype(np.float64))
        texels.append(rm.tex_uv.astype(np.float64) * [rm.texture.shape[1], rm.texture.shape[0]] - 0.5)
        faces.append(rm.tex_faces.astype(np.int64))
        top = tex.shape[0]
    if len(rm.faces):
        tv, tt, block, tf = _triangle_cells(rm.vertices.astype(np.float64), rm.colors, rm.faces.astype(np.int64),
                                          mesh.intrinsics)
        offset = sum(len(v) for v in verts)
        verts.append(tv)
        texels.append(tt + [0, top])
        faces.append(tf + offset)
        blocks.append(block)
        top += block.shape[0]
    if not verts:
        raise Photo3DError("web export: the mesh has no triangles")
    vertices, texel, all_faces = np.concatenate(verts), np.concatenate(texels), np.concatenate(faces)
    guard_v = rm.hole_vertices.astype(np.float64)
    guard_texel = np.zeros((0, 2))
    if len(rm.hole_faces):
        guard_texel, block = _quad_cells(rm.hole_colors)
        guard_texel = guard_texel + [0, top]
        blocks.append(block)
    atlas = np.concatenate(blocks)
    size = np.array([atlas.shape[1], atlas.shape[0]], np.float64)
    return WebGeometry(vertices, (texel + 0.5) / size, all_faces, guard_v, (guard_texel + 0.5) / size,
                       rm.hole_faces.astype(np.int64), atlas)


def simplified_mesh(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None,
                    max_error_px: float = 0.3) -> Mesh:
    """``mesh`` simplified as the renderer draws it (:func:`web_geometry`: patches merged where no
    vertex moves by more than ``max_error_px`` pixels at the most extreme camera of ``paths``),
    as one textured Mesh (``Mesh.texture``: the atlas at full resolution) for mesh files; its
    vertex colours are the texels under its vertices. Without the hole guard."""
    geometry = web_geometry(mesh, paths, max_error_px)
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


CHUNK_STEP = 60000  # vertices between chunk starts; a chunk spans 65536 (16-bit indices)


def _chunks(faces: np.ndarray, num_vertices: int) -> list[tuple[int, np.ndarray]] | None:
    """Split ``faces`` into runs that each index at most 65536 consecutive vertices, starting
    every ``CHUNK_STEP`` vertices (the cells' triangles use nearby vertices). Returns
    [(first vertex, faces of the chunk)], or None when some triangle spans too far."""
    if num_vertices <= 65536:
        return [(0, faces)]
    chunk = faces.min(1) // CHUNK_STEP
    if ((faces.max(1) - chunk * CHUNK_STEP) >= 65536).any():
        return None
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(int(chunk.max()) + 2))
    return [(int(c) * CHUNK_STEP, faces[order[bounds[c]:bounds[c + 1]]])
            for c in range(int(chunk.max()) + 1) if bounds[c + 1] > bounds[c]]


def _primitives(buf: _Buffer, points: np.ndarray, uv: np.ndarray, faces: np.ndarray) -> tuple[list[dict], dict]:
    """The primitives of one node: shared position and uv views, split into chunks with 16-bit
    indices where possible (32-bit otherwise). Returns (primitives, node transform)."""
    p = points * _FLIP
    lo, hi = p.min(0), p.max(0)
    step = np.maximum(hi - lo, 1e-12) / 65535.0
    q = np.zeros((len(p), 4), "<u2")
    q[:, :3] = np.clip(np.round((p - lo) / step), 0, 65535)
    pos_view = buf.view(q.tobytes(), target=34962, stride=8)
    uv16 = np.ascontiguousarray(np.clip(np.round(uv * 65535.0), 0, 65535), "<u2")
    uv_view = buf.view(uv16.tobytes(), target=34962)
    chunks = _chunks(faces, len(points))
    wide = chunks is None
    if wide:
        chunks = [(0, faces)]
    prims = []
    for start, chunk_faces in chunks:
        count = len(points) - start if wide else min(65536, len(points) - start)
        qs = q[start:start + count, :3]
        pos = buf.accessor(pos_view, 5123, count, "VEC3", byteOffset=8 * start,
                           min=qs.min(0).tolist(), max=qs.max(0).tolist())
        tex = buf.accessor(uv_view, 5123, count, "VEC2", normalized=True, byteOffset=4 * start)
        idx = np.ascontiguousarray((chunk_faces - start).reshape(-1), "<u4" if wide else "<u2")
        ind = buf.accessor(buf.view(idx.tobytes(), target=34963), 5125 if wide else 5123, idx.size, "SCALAR")
        prims.append({"attributes": {"POSITION": pos, "TEXCOORD_0": tex}, "indices": ind, "mode": 4, "material": 0})
    return prims, {"translation": lo.tolist(), "scale": step.tolist()}


def encode_atlas(atlas: np.ndarray, jpeg_quality: int | None) -> tuple[bytes, str]:
    """(file bytes, MIME type) of the RGB atlas: PNG (lossless) when ``jpeg_quality`` is None,
    else JPEG at that quality with full-resolution chroma (4:4:4: the cells are 2 texels wide)."""
    bgr = np.ascontiguousarray(atlas[..., ::-1])
    if jpeg_quality is None:
        ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        mime = "image/png"
    else:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality),
                                              cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
        mime = "image/jpeg"
    if not ok:
        raise Photo3DError("web export: could not encode the texture atlas")
    return data.tobytes(), mime


def web_glb_bytes(geometry: WebGeometry, intrinsics: Intrinsics, paths: dict[str, list[CameraFrame]],
                  fps: float = 40.0, autoplay: str | None = "swing", jpeg_quality: int | None = None) -> bytes:
    """Encode ``geometry`` as a GLB (see module doc); ``paths`` and ``autoplay`` go into
    ``asset.extras.photo3d`` for the viewer; the atlas as PNG, or JPEG at ``jpeg_quality``."""
    buf = _Buffer()
    image_bytes, mime = encode_atlas(geometry.atlas, jpeg_quality)
    image_view = buf.view(image_bytes)
    meshes, nodes = [], []
    prims, transform = _primitives(buf, geometry.vertices, geometry.uv, geometry.faces)
    meshes.append({"name": "photo3d", "primitives": prims})
    nodes.append({"name": "photo3d", "mesh": 0, **transform})
    if len(geometry.guard_faces):
        prims, transform = _primitives(buf, geometry.guard_vertices, geometry.guard_uv, geometry.guard_faces)
        meshes.append({"name": GUARD_NODE, "primitives": prims})
        nodes.append({"name": GUARD_NODE, "mesh": 1, "extras": {"photo3d": "hole guard: draw behind everything"},
                      **transform})
    centres = np.concatenate([[f.center for f in frames] for frames in paths.values()] or [np.zeros((1, 3))])
    k = intrinsics
    extras = {
        "image_size": [k.width, k.height], "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy,
        "photo3d": {
            "axes": "camera frame (x right, y down, z forward) stored as (x, -y, -z)",
            "fps": float(fps),
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
        "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": meshes,
        "materials": [{"name": "photo", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                       "metallicFactor": 0.0, "roughnessFactor": 1.0}, "doubleSided": True,
                       "extensions": {"KHR_materials_unlit": {}}}],
        "samplers": [{"magFilter": 9729, "minFilter": 9729, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": image_view, "mimeType": mime}],
        "textures": [{"sampler": 0, "source": 0}],
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


def web_glb(mesh: Mesh, paths: dict[str, list[CameraFrame]] | None = None, *, fps: float = 40.0,
            autoplay: str | None = "swing", max_error_px: float = 0.5) -> bytes:
    """The web-sized GLB of ``mesh`` (module doc) as bytes. ``paths``: the camera paths the
    viewer may play and that bound its motion (default the reference's four)."""
    paths = default_path_frames(mesh) if paths is None else paths
    return web_glb_bytes(web_geometry(mesh, paths, max_error_px), mesh.intrinsics, paths, fps, autoplay)


def write_web_glb(mesh: Mesh, path, paths: dict[str, list[CameraFrame]] | None = None, *, fps: float = 40.0,
                  autoplay: str | None = "swing", max_error_px: float = 0.5) -> Path:
    """Write :func:`web_glb` of ``mesh`` to ``path`` atomically; returns the path."""
    data = web_glb(mesh, paths, fps=fps, autoplay=autoplay, max_error_px=max_error_px)
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


def read_web_glb(path) -> tuple[RenderMesh, Intrinsics, dict]:
    """What photo3d's renderer draws of a web GLB: (RenderMesh with the textured mesh and the
    hole guard, the input camera, ``asset.extras``). Inverse of :func:`write_web_glb` up to
    quantisation; lets photo3d render exactly what the web viewer shows."""
    gltf, binary = parse_glb(Path(path).read_bytes())
    image = gltf["images"][0]
    view = gltf["bufferViews"][image["bufferView"]]
    png = np.frombuffer(binary, np.uint8, count=view["byteLength"], offset=view.get("byteOffset", 0))
    atlas = cv2.imdecode(png, cv2.IMREAD_COLOR)[..., ::-1].copy()
    parts = {}
    for node in gltf["nodes"]:
        points, uvs, faces, offset = [], [], [], 0
        for prim in gltf["meshes"][node["mesh"]]["primitives"]:
            q = _read_accessor(gltf, binary, prim["attributes"]["POSITION"]).astype(np.float64)
            points.append((q * node.get("scale", [1, 1, 1]) + node.get("translation", [0, 0, 0])) * _FLIP)
            uvs.append(_read_accessor(gltf, binary, prim["attributes"]["TEXCOORD_0"]))
            faces.append(_read_accessor(gltf, binary, prim["indices"]).reshape(-1, 3).astype(np.int64) + offset)
            offset += len(q)
        parts[node["name"]] = (np.concatenate(points).astype(np.float32), np.concatenate(uvs).astype(np.float32),
                               np.concatenate(faces).astype(np.uint32))
    v, uv, f = parts["photo3d"]
    out = RenderMesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.uint32),
                     v, uv, f, atlas)
    if GUARD_NODE in parts:
        gv, guv, gf = parts[GUARD_NODE]
        h, w = atlas.shape[:2]
        tx = np.clip(np.floor(guv[:, 0] * w), 0, w - 1).astype(int)
        ty = np.clip(np.floor(guv[:, 1] * h), 0, h - 1).astype(int)
        out.hole_vertices, out.hole_colors, out.hole_faces = gv, atlas[ty, tx], gf
    extras = gltf["asset"].get("extras", {})
    k = Intrinsics(float(extras["fx"]), float(extras["fy"]), float(extras["cx"]), float(extras["cy"]),
                   int(extras["image_size"][0]), int(extras["image_size"][1]))
    return out, k, extras
