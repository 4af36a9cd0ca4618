"""Reading images and depth maps, writing meshes; every write is atomic.

Errors are :class:`~photo3d.errors.Photo3DError` with one line naming the file.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .checks import check_finite
from .core.data import Intrinsics, Mesh, MeshTexture, SoftEdge, file_colors
from .errors import Photo3DError
from .files import atomic_write as files_atomic_write
from .files import current_umask

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif")
DEPTH_SUFFIXES = (".npy", ".png", ".pfm", ".tif", ".tiff")

# EXIF orientation -> the operations that make the pixels upright.
_EXIF_FIX = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
    7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
    8: lambda a: np.swapaxes(a, 0, 1)[::-1, :],
}


def apply_exif_orientation(array: np.ndarray, path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Turn an (H, W, ...) array read from ``path`` upright by the file's EXIF orientation,
    as photos are turned (depth maps embedded in a photo use the same table).
    Returns (array, orientation tag 1..8)."""
    orientation = _exif_orientation(Path(path))
    fix = _EXIF_FIX.get(orientation)
    return (np.ascontiguousarray(fix(array)) if fix is not None else array), orientation


def _exif_orientation(path: Path) -> int:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # no EXIF or a format PIL does not know: leave as is
        return 1


def _check_file(path: Path, what: str) -> None:
    """A readable regular file, or one line saying what is wrong with ``path``."""
    try:
        path.stat()
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            raise Photo3DError(f"{path}: {what} path is a symbolic link loop") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and path.is_symlink():
            raise Photo3DError(f"{path}: {what} path is a broken symbolic link") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Photo3DError(f"{path}: {what} file not found") from None
        raise Photo3DError(f"{path}: cannot access {what} file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise Photo3DError(f"{path}: {what} path is not a file")
    if not os.access(path, os.R_OK):
        raise Photo3DError(f"{path}: {what} file is not readable (permission denied)")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a photo as upright RGB.

    Returns:
        (H, W, 3) uint8. EXIF orientation applied; grey repeated to 3 channels; alpha dropped;
        16-bit and float images scaled to 8 bits.
    """
    path = Path(path)
    _check_file(path, "image")
    if path.suffix.lower() in (".heic", ".heif"):
        return _read_heif(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise Photo3DError(f"{path}: cannot read image ({exc.strerror or exc})") from None
    try:
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:  # e.g. an image header claiming more pixels than OpenCV accepts
        raw = None
    if raw is None:
        raise Photo3DError(f"{path}: not a readable image (jpg, png, webp, tiff, heic expected)")
    if raw.ndim == 2:
        raw = raw[..., None]
    channels = raw.shape[2]
    if channels == 1:
        rgb = np.repeat(raw, 3, axis=2)
    elif channels == 2:  # grey + alpha
        rgb = np.repeat(raw[..., :1], 3, axis=2)
    else:
        rgb = raw[..., 2::-1] if channels >= 3 else raw  # BGR(A) -> RGB
    rgb, _ = apply_exif_orientation(_to_uint8(rgb), path)
    return np.ascontiguousarray(rgb)


def _read_heif(path: Path) -> np.ndarray:
    """HEIC/HEIF (iPhone photos) through pillow-heif; libheif applies the orientation."""
    try:
        import pillow_heif
    except ImportError:
        raise Photo3DError(f"{path}: reading HEIC needs pillow-heif (pip install pillow-heif)") from None
    try:
        heif = pillow_heif.open_heif(str(path), convert_hdr_to_8bit=True)
        rgb = np.asarray(heif.to_pillow().convert("RGB"))
    except Exception as exc:
        raise Photo3DError(f"{path}: not a readable HEIC/HEIF image ({exc})") from None
    return np.ascontiguousarray(rgb)


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.uint16:
        return (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    a = a.astype(np.float32)
    hi = float(np.nanmax(a)) if a.size else 1.0
    scale = 255.0 if hi <= 1.0 + 1e-6 else 255.0 / hi
    return np.clip(np.nan_to_num(a) * scale + 0.5, 0, 255).astype(np.uint8)


def read_pfm(path: str | os.PathLike) -> np.ndarray:
    """Read a PFM file (grey 'Pf' or colour 'PF'; first channel kept) as float32, top row first."""
    path = Path(path)
    _check_file(path, "PFM")
    with open(path, "rb") as f:
        header = f.readline().strip()
        if header not in (b"PF", b"Pf"):
            raise Photo3DError(f"{path}: not a PFM file (bad header)")
        dims = f.readline()
        while dims.startswith(b"#"):
            dims = f.readline()
        m = re.match(rb"^\s*(\d+)\s+(\d+)\s*$", dims)
        if not m:
            raise Photo3DError(f"{path}: malformed PFM size line")
        width, height = int(m.group(1)), int(m.group(2))
        try:
            scale = float(f.readline().strip())
        except ValueError:
            raise Photo3DError(f"{path}: malformed PFM scale line") from None
        endian = "<" if scale < 0 else ">"
        channels = 3 if header == b"PF" else 1
        count = width * height * channels
        raw = f.read(count * 4)
        if len(raw) < count * 4:
            raise Photo3DError(f"{path}: truncated PFM data")
    arr = np.frombuffer(raw, dtype=endian + "f4").reshape(height, width, channels)[..., 0]
    return np.ascontiguousarray(arr[::-1]).astype(np.float32)  # PFM stores bottom row first


def write_pfm(path: str | os.PathLike, values: np.ndarray) -> None:
    """Write a single-channel float32 PFM (little endian)."""
    values = np.asarray(values, dtype="<f4")
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(b"Pf\n%d %d\n-1.0\n" % (values.shape[1], values.shape[0]))
        f.write(np.ascontiguousarray(values[::-1]).tobytes())


def read_depth(path: str | os.PathLike) -> np.ndarray:
    """Read a depth or disparity map as float32 (H, W).

    Accepts .npy (any numeric array, squeezed to 2-D; never unpickled), .pfm, and grey
    8/16-bit or float PNG/TIFF (grey stored as RGB is accepted, a colour image is refused).
    Values are returned as stored; interpretation is the caller's.
    NaN/inf are kept (the pipeline fills them).
    """
    path = Path(path)
    _check_file(path, "depth")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            values = np.load(path, allow_pickle=False)
            if isinstance(values, np.lib.npyio.NpzFile):  # np.load sniffs the content, not the suffix
                values.close()
                raise Photo3DError(f"{path}: is an .npz archive, not a .npy array")
        elif suffix == ".pfm":
            values = read_pfm(path)
        else:
            data = np.fromfile(path, dtype=np.uint8)
            values = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
            if values is None:
                raise Photo3DError(f"{path}: not a readable depth map (.npy, .png, .pfm, .tiff expected)")
            if values.ndim == 3:
                values = _single_channel(values, path)
    except Photo3DError:
        raise
    except Exception as exc:  # numpy/pickle refusal, truncated files, ...
        raise Photo3DError(f"{path}: cannot read depth map ({exc.__class__.__name__}: {exc})") from None
    values = np.asarray(values)
    if values.dtype.kind not in "fiub":
        raise Photo3DError(f"{path}: depth map has non-numeric dtype {values.dtype}")
    values = np.squeeze(values)
    if values.ndim != 2:
        raise Photo3DError(f"{path}: depth map must be 2-D, got shape {values.shape}")
    if values.size == 0 or min(values.shape) < 2:
        raise Photo3DError(f"{path}: depth map is empty")
    return values.astype(np.float32)


def _single_channel(values: np.ndarray, path: Path) -> np.ndarray:
    """(H, W, C) decoded depth image -> (H, W). Grey stored as RGB(A) is accepted; a colour
    image (e.g. a colour-mapped depth visualisation) is refused: its values are not depth."""
    if values.shape[2] >= 3:
        colour = values[..., :3]
        if not ((colour == colour[..., :1]).all()):
            raise Photo3DError(f"{path}: depth image has colour (channels differ); expected a grey 8/16-bit depth map")
    return values[..., 0]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """:func:`photo3d.files.atomic_write` (a temporary file beside ``path``, renamed onto it
    only on success), with a system error (disk full, no permission, a folder in the way)
    reported as one :class:`Photo3DError` naming ``path``."""
    try:
        with files_atomic_write(path) as tmp:
            yield tmp
    except OSError as exc:
        raise Photo3DError(f"{path}: cannot write ({exc.strerror or exc})") from exc


# The format and property lines of the PLY files photo3d writes, in order.
_PLY_LAYOUT = [
    "format binary_little_endian 1.0",
    "property float x", "property float y", "property float z",
    "property uchar red", "property uchar green", "property uchar blue",
    "property list uchar int vertex_indices",
]
# A textured mesh (``Mesh.texture``, e.g. the simplified export): texture coordinates after the
# colours (v upwards, MeshLab's convention) and the image beside the PLY (``comment TextureFile``).
_PLY_TEXTURED_LAYOUT = _PLY_LAYOUT[:7] + ["property float texture_u", "property float texture_v"] + _PLY_LAYOUT[7:]


def ply_texture_path(path: str | os.PathLike) -> Path:
    """Where :func:`write_ply` puts a textured mesh's image: ``<stem>_texture.png`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}_texture.png")


def write_ply(mesh: Mesh, path: str | os.PathLike) -> Path:
    """Write ``mesh`` as binary little-endian PLY with per-vertex RGB and triangle faces.

    The header comments record the image size and intrinsics (pixels) and the axis convention,
    so the mesh can be re-projected. Vertices are in the input camera frame (+x right, +y down,
    +z forward). A textured mesh (``mesh.texture``) also gets per-vertex ``texture_u``,
    ``texture_v`` and its image as :func:`ply_texture_path` (``comment TextureFile``, as MeshLab
    and Blender read it); its vertex colours are the texels under its vertices, for viewers
    that ignore textures. A soft foreground rim (``Mesh.soft``) is written opaque, its facets in
    the colour freed of the background's share (``SoftEdge.opaque``): no alpha in the file.
    """
    path = Path(path)
    check_finite(mesh.vertices, str(path), "mesh vertices are not finite; not written")
    k = mesh.intrinsics
    textured = mesh.texture is not None
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")]
    vertex = np.empty(mesh.num_vertices, dtype=fields + ([("u", "<f4"), ("v", "<f4")] if textured else []))
    vertex["x"], vertex["y"], vertex["z"] = mesh.vertices[:, 0], mesh.vertices[:, 1], mesh.vertices[:, 2]
    colors = file_colors(mesh)  # a soft rim in its freed colour, opaque
    vertex["red"], vertex["green"], vertex["blue"] = colors[:, 0], colors[:, 1], colors[:, 2]
    face = np.empty(mesh.num_faces, dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face["n"] = 3
    face["v"] = mesh.faces
    comments = [
        "made by photo3d",
        f"image_size {k.width} {k.height}",
        f"intrinsics fx {k.fx:.6f} fy {k.fy:.6f} cx {k.cx:.6f} cy {k.cy:.6f}",
        "axes x right, y down, z forward (OpenCV camera frame of the input photo)",
    ] + [f"{key} {value}" for key, value in mesh.info.items()]
    layout = _PLY_TEXTURED_LAYOUT if textured else _PLY_LAYOUT
    if textured:
        uv = np.asarray(mesh.texture.uv, np.float32)
        vertex["u"], vertex["v"] = uv[:, 0], 1.0 - uv[:, 1]
        comments.insert(0, f"TextureFile {ply_texture_path(path).name}")
        if mesh.texture.projective:  # photo3d's renderer interpolates uv in the input image
            comments.append("texture_projective")
    header = (
        f"ply\n{layout[0]}\n"
        + "".join(f"comment {c}\n" for c in comments)
        + f"element vertex {mesh.num_vertices}\n"
        + "".join(f"{ln}\n" for ln in layout[1:-1])
        + f"element face {mesh.num_faces}\n"
        + f"{layout[-1]}\nend_header\n"
    )
    if textured:  # the image first: a PLY never names a texture that is not there
        ok, png = cv2.imencode(".png", np.ascontiguousarray(mesh.texture.image[..., ::-1]))
        if not ok:
            raise Photo3DError(f"{path}: could not encode the texture")
        with atomic_write(ply_texture_path(path)) as tmp:
            tmp.write_bytes(png.tobytes())
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(vertex.tobytes())
        f.write(face.tobytes())
    return path


def read_ply(path: str | os.PathLike) -> Mesh:
    """Read a PLY written by :func:`write_ply` (round trip; not a general PLY reader), with its
    texture when it has one.

    Any other layout (ASCII, other properties, no image_size/intrinsics comments) or a
    truncated file raises :class:`Photo3DError`.
    """

    path = Path(path)
    _check_file(path, "mesh")
    with open(path, "rb") as f:
        lines = []
        while True:
            line = f.readline()
            if not line or len(lines) > 1000:
                raise Photo3DError(f"{path}: PLY header has no end_header")
            line = line.decode("ascii", errors="replace").strip()
            lines.append(line)
            if line == "end_header":
                break
        body = f.read()
    layout = [ln for ln in lines if ln.startswith(("format", "property"))]
    textured = layout == _PLY_TEXTURED_LAYOUT
    if lines[0] != "ply" or not (textured or layout == _PLY_LAYOUT):
        raise Photo3DError(f"{path}: not a PLY written by photo3d (binary, xyz + rgb vertices, triangles expected)")
    try:
        counts = {ln.split()[1]: int(ln.split()[2]) for ln in lines if ln.startswith("element")}
        comments = [ln[len("comment ") :] for ln in lines if ln.startswith("comment ")]
        size = next(c.split()[1:3] for c in comments if c.startswith("image_size"))
        kv = next(c.split()[1:] for c in comments if c.startswith("intrinsics"))
        vals = dict(zip(kv[0::2], map(float, kv[1::2])))
        intr = Intrinsics(vals["fx"], vals["fy"], vals["cx"], vals["cy"], int(size[0]), int(size[1]))
        nv, nf = counts["vertex"], counts["face"]
    except (StopIteration, KeyError, ValueError, IndexError):
        raise Photo3DError(f"{path}: PLY header lacks photo3d's element counts, image_size or intrinsics") from None
    vdt = np.dtype([("p", "<f4", (3,)), ("c", "u1", (3,))] + ([("uv", "<f4", (2,))] if textured else []))
    fdt = np.dtype([("n", "u1"), ("v", "<i4", (3,))])
    if len(body) < nv * vdt.itemsize + nf * fdt.itemsize:
        raise Photo3DError(f"{path}: truncated PLY data")
    verts = np.frombuffer(body, dtype=vdt, count=nv)
    faces = np.frombuffer(body, dtype=fdt, count=nf, offset=nv * vdt.itemsize)
    texture = None
    if textured:
        name = next((c.split(maxsplit=1)[1] for c in comments if c.startswith("TextureFile ")), "")
        image_path = path.parent / Path(name).name  # beside the PLY, never elsewhere
        if not name or not image_path.is_file():
            raise Photo3DError(f"{path}: its texture {name or '(unnamed)'} is not beside it")
        uv = verts["uv"].copy()
        uv[:, 1] = 1.0 - uv[:, 1]
        texture = MeshTexture(uv, read_image(image_path), projective="texture_projective" in comments)
    return Mesh(verts["p"].copy(), verts["c"].copy(), faces["v"].astype(np.int32), intr, texture=texture)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (or [0, 1] floats) -> linear [0, 1] float64, the standard transfer curve."""
    c = np.asarray(rgb, dtype=np.float64)
    c = c / 255.0 if np.asarray(rgb).dtype == np.uint8 else c
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def read_glb(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Read a GLB written by :func:`write_glb`: positions (V, 3) in glTF axes, linear RGBA
    colours (V, 4) in [0, 1], faces (F, 3) of every primitive (the opaque one first, then the
    blended soft rim) and the glTF JSON (a round trip, not a general reader)."""
    import json
    import struct

    path = Path(path)
    data = path.read_bytes()
    if data[:4] != b"glTF" or len(data) < 20:
        raise Photo3DError(f"{path}: not a GLB file")
    json_len = struct.unpack("<I", data[12:16])[0]
    gltf = json.loads(data[20 : 20 + json_len])
    body = data[20 + json_len + 8 :]
    dtypes = {5126: "<f4", 5123: "<u2", 5125: "<u4", 5121: "u1"}
    sizes = {"VEC3": 3, "VEC4": 4, "SCALAR": 1}

    def accessor(i: int) -> np.ndarray:
        acc = gltf["accessors"][i]
        view = gltf["bufferViews"][acc["bufferView"]]
        arr = np.frombuffer(body, dtype=dtypes[acc["componentType"]], count=acc["count"] * sizes[acc["type"]],
                            offset=view.get("byteOffset", 0) + acc.get("byteOffset", 0)).reshape(acc["count"], -1)
        if acc.get("normalized"):
            arr = arr / float(np.iinfo(arr.dtype).max)
        return arr

    prims = gltf["meshes"][0]["primitives"]
    faces = np.concatenate([accessor(p["indices"]).reshape(-1, 3) for p in prims])
    return (accessor(prims[0]["attributes"]["POSITION"]), accessor(prims[0]["attributes"]["COLOR_0"]), faces, gltf)


def write_glb(mesh: Mesh, path: str | os.PathLike) -> Path:
    """Write ``mesh`` as binary glTF 2.0 (.glb) with per-vertex colours, for web viewers,
    Blender and game engines.

    glTF's axes are +y up and +z towards the viewer, so camera-frame points (x right, y down,
    z forward) are stored as (x, -y, -z): a glTF camera at the origin looking down -z sees
    the photo as the input camera did. Colours are stored linear (as glTF specifies, 16-bit)
    with an unlit material. Image size and intrinsics go into ``asset.extras``.

    A soft foreground rim (``Mesh.soft``) is written as photo3d's renderer draws it: the
    mesh in its soft colours (``SoftEdge.colors``), and the rim's facets (the faces whose three
    vertices have an alpha below 255) as a second primitive whose material blends
    (``alphaMode: BLEND``), their alpha in COLOR_0; viewers draw blended primitives after the
    opaque ones, so the rim mixes with the background actually behind it.
    """
    import json
    import struct

    path = Path(path)
    check_finite(mesh.vertices, str(path), "mesh vertices are not finite; not written")
    positions = np.ascontiguousarray(mesh.vertices * np.array([1, -1, -1], np.float32), dtype="<f4")
    soft = mesh.soft if mesh.soft is not None and mesh.soft.alpha.shape == (mesh.num_vertices,) else None
    colors = np.full((mesh.num_vertices, 4), 65535, "<u2")  # RGBA, linear (glTF's COLOR_0 is linear)
    colors[:, :3] = np.round(srgb_to_linear(mesh.colors if soft is None else soft.colors) * 65535)
    blended = np.zeros(mesh.num_faces, bool)
    if soft is not None:
        colors[:, 3] = np.round(soft.alpha.astype(np.float64) * (65535 / 255))
        blended = soft.blended(mesh.faces)
    parts = [np.ascontiguousarray(mesh.faces[~blended], dtype="<u4")]
    if blended.any():
        parts.append(np.ascontiguousarray(mesh.faces[blended], dtype="<u4"))
    blobs = [positions.tobytes(), colors.tobytes()] + [p.tobytes() for p in parts]
    offsets = np.cumsum([0] + [len(b) for b in blobs])
    k = mesh.intrinsics
    unlit = {"pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0, "roughnessFactor": 1.0},
             "extensions": {"KHR_materials_unlit": {}}}
    gltf = {
        "asset": {"version": "2.0", "generator": "photo3d",
                  "extras": {"image_size": [k.width, k.height], "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy}},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "photo3d"}],
        # Unlit, so viewers show the photo's colours as they are (glTF's default material is
        # lit and fully metallic: dark in most viewers).
        "extensionsUsed": ["KHR_materials_unlit"],
        "materials": [{"name": "photo", **unlit}, {"name": "soft_rim", "alphaMode": "BLEND", **unlit}][:len(parts)],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "COLOR_0": 1}, "indices": 2 + i, "mode": 4,
                                    "material": i} for i in range(len(parts))]}],
        "buffers": [{"byteLength": int(offsets[-1])}],
        "bufferViews": [{"buffer": 0, "byteOffset": int(offsets[i]), "byteLength": len(blobs[i]),
                         "target": 34962 if i < 2 else 34963} for i in range(len(blobs))],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": mesh.num_vertices, "type": "VEC3",
             "min": positions.min(0).tolist() if mesh.num_vertices else [0, 0, 0],
             "max": positions.max(0).tolist() if mesh.num_vertices else [0, 0, 0]},
            {"bufferView": 1, "componentType": 5123, "normalized": True, "count": mesh.num_vertices, "type": "VEC4"},
        ] + [{"bufferView": 2 + i, "componentType": 5125, "count": int(p.size), "type": "SCALAR"}
             for i, p in enumerate(parts)],
    }
    json_chunk = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk = b"".join(blobs)
    bin_chunk += b"\0" * (-len(bin_chunk) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(json_chunk), b"JSON") + json_chunk)
        f.write(struct.pack("<I4s", len(bin_chunk), b"BIN\0") + bin_chunk)
    return path


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] colours -> sRGB uint8 (the inverse of :func:`srgb_to_linear`)."""
    c = np.clip(np.asarray(linear, dtype=np.float64), 0.0, 1.0)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


def _center_depth_estimate(mesh: Mesh) -> float:
    """Depth of the front-most vertex that projects nearest the principal point."""
    k = mesh.intrinsics
    z = mesh.vertices[:, 2].astype(np.float64)
    front = z > 0
    u = k.fx * mesh.vertices[front, 0] / z[front] + k.cx
    v = k.fy * mesh.vertices[front, 1] / z[front] + k.cy
    dist = np.hypot(u - k.cx, v - k.cy)
    near = dist <= max(1.0, float(dist.min()) + 0.5)
    return float(z[front][near].min())


def read_mesh(path: str | os.PathLike) -> Mesh:
    """A photo3d mesh from its ``.ply`` or ``.glb`` file, with the camera it was made for.

    The intrinsics come from the PLY header comments (GLB: ``asset.extras``); so do the
    centre depth and depth scale the camera paths need (a GLB without them gets the
    centre depth from the geometry and depth scale 1). Without the render-only hole guard,
    which is not saved.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ply":
        mesh = read_ply(path)
        header = path.read_bytes()[:65536].split(b"end_header")[0].decode("ascii", "replace")
        for line in header.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "comment" and parts[1] in ("center_depth", "depth_scale", "layers"):
                value = float(parts[2])
                setattr(mesh.info, parts[1], int(value) if parts[1] == "layers" else value)
            elif len(parts) == 3 and parts[0] == "comment" and parts[1] == "inpaint":
                mesh.info.inpaint = parts[2]
    elif suffix == ".glb":
        _check_file(path, "mesh")
        try:
            positions, colors, faces, gltf = read_glb(path)
            extras = gltf["asset"]["extras"]
            width, height = extras["image_size"]
            k = Intrinsics(float(extras["fx"]), float(extras["fy"]), float(extras["cx"]), float(extras["cy"]),
                           int(width), int(height))
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise Photo3DError(f"{path}: not a GLB written by photo3d (no camera in asset.extras: {exc})") from None
        vertices = np.ascontiguousarray(positions * np.array([1, -1, -1]), dtype=np.float32)
        rgb = _linear_to_srgb(colors[:, :3])
        alpha = np.round(np.clip(colors[:, 3], 0, 1) * 255).astype(np.uint8)
        soft = SoftEdge(alpha, rgb) if (alpha < 255).any() else None  # the blended rim, drawn as written
        mesh = Mesh(vertices, rgb, faces.astype(np.int32), k, soft=soft)
        mesh.info.center_depth = extras.get("center_depth")
        mesh.info.depth_scale = extras.get("depth_scale")
    else:
        raise Photo3DError(f"{path}: not a mesh file (.ply or .glb expected)")
    if mesh.num_faces == 0:
        raise Photo3DError(f"{path}: the mesh has no triangles")
    if mesh.info.center_depth is None:
        mesh.info.center_depth = _center_depth_estimate(mesh)
    if mesh.info.depth_scale is None:
        mesh.info.depth_scale = 1.0
    return mesh
# ---------------------------------------------------------------------------------------
# The output transaction: every file of a run, committed together or not at all
# ---------------------------------------------------------------------------------------

STAGING_SUFFIX = ".partial"  # private folders of runs in progress: .<name>.XXXXXXXX.partial
LOCK_SUFFIX = ".lock"


def _own_output(entry: str, name: str) -> bool:
    """Whether a file name in a run's folder is one that a photo3d run named ``name`` writes."""
    return entry in ("config.yml", "manifest.json") or entry.startswith((f"{name}.", f"{name}_"))


class OutputTransaction:
    """The files of one run, built in a private folder and moved into ``folder`` together
    when everything succeeded; on any failure (an error, Ctrl-C, SIGTERM) nothing of the
    run stays and ``folder`` is left as it was found.

        with OutputTransaction(out / name, name, staging_parent=out, replace_set=True) as tmp:
            ...write every file into tmp...
        # committed here

    Args:
        folder: where the files go.
        name: the run's name (the lock and the private folder are named after it).
        staging_parent: where the private folder and the lock live (default ``folder``);
            the same file system as ``folder``, inside the caller's output folder.
        replace_set: ``folder`` belongs to this run's name: photo3d's files of an earlier
            run there that this run does not make (an old video) are removed at the commit,
            so the folder always holds the files of exactly one run.

    A lock (``.<name>.lock`` beside the private folder, removed afterwards) refuses a second
    run into the same name while one is in progress; private folders left by killed runs
    (SIGKILL) are removed by the next run of that name. When ``folder`` does not exist yet,
    the commit is one rename of the private folder.
    """

    def __init__(self, folder: str | os.PathLike, name: str, *, staging_parent: str | os.PathLike | None = None,
                 replace_set: bool = False):
        self.folder = Path(folder)
        self.name = name
        self.parent = Path(staging_parent) if staging_parent is not None else self.folder
        self.replace_set = replace_set
        self.staging: Path | None = None
        self._lock_fd: int | None = None
        self._created: list[Path] = []

    # -- lock ------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.parent / f".{self.name}{LOCK_SUFFIX}"

    def _lock(self) -> None:
        import fcntl

        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Photo3DError(f"{self.folder}: another photo3d run is writing these outputs; "
                                   "wait for it to finish or choose another name") from None
            try:  # the holder before us may have removed the file: lock the one that is there
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._lock_fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Path:
        return self.begin()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def begin(self) -> Path:
        """Take the lock and make the private folder; returns it."""
        try:
            missing = []
            p = self.parent
            while not p.exists() and p != p.parent:
                missing.append(p)
                p = p.parent
            self.parent.mkdir(parents=True, exist_ok=True)
            self._created = missing  # deepest first: removed again if the run fails
            self._lock()
            for stale in self.parent.glob(f".{glob_escape(self.name)}.*{STAGING_SUFFIX}"):
                if stale.is_dir():  # a killed run's; we hold the lock, so none is running
                    import shutil

                    shutil.rmtree(stale, ignore_errors=True)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.name}.", suffix=STAGING_SUFFIX, dir=self.parent))
            os.chmod(self.staging, 0o777 & ~current_umask())
        except OSError as exc:
            self.abort()
            raise Photo3DError(f"{self.parent}: cannot write outputs ({exc.strerror or exc})") from exc
        return self.staging

    def final_path(self, path: str | os.PathLike) -> Path:
        """Where a file written into the private folder lands after the commit."""
        return self.folder / Path(path).name

    def commit(self) -> Path:
        """Move the run's files into ``folder`` (see the class docs); returns ``folder``."""
        import shutil

        staging = self.staging
        try:
            if staging is None:
                raise Photo3DError(f"{self.folder}: output transaction was never begun")
            new = {p.name for p in staging.iterdir() if not p.name.startswith(".")}
            for hidden in (p for p in staging.iterdir() if p.name.startswith(".")):
                hidden.unlink()  # temporary files of writers that were interrupted
            if self.folder.exists() and not self.folder.is_dir():
                raise Photo3DError(f"{self.folder}: output path exists and is not a folder")
            if not self.folder.exists() and self.parent != self.folder:
                self.folder.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staging, self.folder)  # the whole set at once
                self.staging = None
            else:
                self.folder.mkdir(parents=True, exist_ok=True)
                for entry in self.folder.iterdir():
                    stale = self.replace_set and _own_output(entry.name, self.name) and entry.name not in new
                    if stale or (entry.name in new and entry.is_dir() and not entry.is_symlink()):
                        _remove(entry)  # an earlier run's file, or a frame folder replaced as a whole
                for entry in sorted(new):
                    os.replace(staging / entry, self.folder / entry)
                shutil.rmtree(staging, ignore_errors=True)
                self.staging = None
            self._created = []
        except OSError as exc:
            self.abort()
            raise Photo3DError(f"{self.folder}: cannot write outputs ({exc.strerror or exc})") from exc
        except BaseException:
            self.abort()
            raise
        finally:
            self._unlock()
        return self.folder

    def abort(self) -> None:
        """Remove the private folder (and the folders this run created), release the lock."""
        import shutil

        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self._unlock()
        for created in self._created:
            with contextlib.suppress(OSError):
                created.rmdir()  # only when empty
        self._created = []


def _remove(path: Path) -> None:
    """Delete a file or a whole folder."""
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def glob_escape(text: str) -> str:
    """``text`` with glob wildcards escaped, for Path.glob."""
    import glob

    return glob.escape(text)
