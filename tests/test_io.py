"""photo3d.io: images (formats, EXIF orientation, channels, bit depths), depth maps
(.npy, PNG, PFM, TIFF), refusals with one-line errors naming the file, PLY round trips
(also through trimesh) and atomic writes."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from photo3d.errors import Photo3DError
from photo3d.io import atomic_write, read_depth, read_image, read_pfm, read_ply, write_glb, write_pfm, write_ply
from photo3d.core.data import Intrinsics, Mesh, MeshInfo


def _rgb(height: int = 24, width: int = 40, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 noise: every pixel differs, so any flip, transpose or channel swap shows."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _blocks(height: int = 48, width: int = 80) -> np.ndarray:
    """(H, W, 3) uint8 of four flat quadrants of unequal size and distinct colours: JPEG keeps
    them within a few levels, and every orientation of it is different."""
    img = np.empty((height, width, 3), np.uint8)
    top, left = height // 3, width // 4
    img[:top, :left] = (230, 30, 30)
    img[:top, left:] = (30, 200, 30)
    img[top:, :left] = (30, 30, 220)
    img[top:, left:] = (240, 240, 40)
    return img


def _assert_names(exc: pytest.ExceptionInfo, path: Path, problem: str = "") -> None:
    """One line ``<path>: <problem ...>``; ``problem`` is looked for after the path only
    (pytest's tmp_path holds the test's name, which would match anything)."""
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert problem in message[len(str(path)):], message


# ---------------------------------------------------------------------------- images
@pytest.mark.parametrize("suffix, save_options", [
    (".png", {}),
    (".webp", {"lossless": True}),
    (".tiff", {}),
    (".bmp", {}),
])
def test_read_image_lossless_formats_are_exact(tmp_path, suffix, save_options):
    rgb = _rgb()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(rgb).save(path, **save_options)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)


def test_read_image_jpeg_close_to_source(tmp_path):
    rgb = _blocks()
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, quality=95)
    out = read_image(path)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 3.0


def test_read_image_suffix_does_not_matter(tmp_path):
    """The content decides the format (a PNG named .jpg still reads exactly)."""
    rgb = _rgb()
    path = tmp_path / "misnamed.jpg"
    Image.fromarray(rgb).save(path, format="PNG")
    np.testing.assert_array_equal(read_image(path), rgb)


@pytest.mark.parametrize("orientation, to_stored", [
    (3, lambda up: np.rot90(up, 2)),  # shown rotated 180 degrees
    (6, lambda up: np.rot90(up, 1)),  # shown rotated 90 degrees clockwise: stored counter-clockwise
    (8, lambda up: np.rot90(up, -1)),  # shown rotated 90 degrees counter-clockwise
])
def test_read_image_applies_jpeg_exif_orientation(tmp_path, orientation, to_stored):
    upright = _blocks()
    stored = np.ascontiguousarray(to_stored(upright))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    out = read_image(path)
    assert out.shape == upright.shape  # 48x80 upright even where the file holds 80x48
    assert np.abs(out.astype(int) - upright).mean() < 3.0
    # The top-left corner is the small red block in the upright image.
    np.testing.assert_allclose(out[2, 2], (230, 30, 30), atol=12)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_image_exif_orientations_match_pillow(tmp_path, orientation):
    """All eight orientations, losslessly (PNG with an eXIf chunk), against PIL's exif_transpose."""
    stored = _rgb(12, 20, seed=orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(stored).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    out = read_image(path)
    assert out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, expected)


def test_read_image_grey_is_repeated(tmp_path):
    grey = _rgb()[..., 0]
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)  # 2-D uint8: mode L
    out = read_image(path)
    assert out.shape == grey.shape + (3,)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


def test_read_image_grey_alpha_drops_alpha(tmp_path):
    grey = _rgb()[..., 0]
    alpha = np.full_like(grey, 7)  # nearly transparent: must not darken the colours
    path = tmp_path / "grey_alpha.png"
    Image.fromarray(np.dstack([grey, alpha])).save(path)  # mode LA
    out = read_image(path)
    np.testing.assert_array_equal(out, np.repeat(grey[..., None], 3, axis=2))


def test_read_image_rgba_drops_alpha(tmp_path):
    rgb = _rgb()
    alpha = np.random.default_rng(5).integers(0, 256, rgb.shape[:2], dtype=np.uint8)
    path = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb, alpha])).save(path)  # mode RGBA
    np.testing.assert_array_equal(read_image(path), rgb)


# 16-bit to 8-bit is round(v / 257): 257 * k -> k exactly; 128 -> 0 and 129 -> 1 (the midpoint
# 128.5); 65535 -> 255.
_V16 = np.array([[0, 128, 129, 257], [257 * 100, 257 * 200, 65534, 65535]], np.uint16)
_V16_AS_8 = np.array([[0, 0, 1, 1], [100, 200, 255, 255]], np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_read_image_16bit_grey_scaled(tmp_path, suffix):
    path = tmp_path / f"grey16{suffix}"
    assert cv2.imwrite(str(path), _V16)
    out = read_image(path)
    np.testing.assert_array_equal(out, np.repeat(_V16_AS_8[..., None], 3, axis=2))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_read_image_16bit_colour_scaled_and_rgb_order(tmp_path, suffix):
    rgb16 = np.stack([_V16, _V16[::-1], _V16[:, ::-1]], axis=2)
    rgb8 = np.stack([_V16_AS_8, _V16_AS_8[::-1], _V16_AS_8[:, ::-1]], axis=2)
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb16[..., ::-1]))  # OpenCV writes BGR
    np.testing.assert_array_equal(read_image(path), rgb8)


def test_read_image_float_tiff_in_unit_range(tmp_path):
    values = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    path = tmp_path / "float.tif"
    assert cv2.imwrite(str(path), values)
    out = read_image(path)
    np.testing.assert_array_equal(out[..., 0], [[0, 64], [128, 255]])


def test_read_image_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.jpg"
    with pytest.raises(Photo3DError) as exc:
        read_image(missing)
    _assert_names(exc, missing, "not found")

    with pytest.raises(Photo3DError) as exc:
        read_image(tmp_path)
    _assert_names(exc, tmp_path, "not a file")

    for name, content in [("garbage.png", b"\x89PNG but not really" * 20), ("empty.jpg", b""),
                          ("truncated.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 10)]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(Photo3DError) as exc:
            read_image(path)
        _assert_names(exc, path, "not a readable image")


# ---------------------------------------------------------------------------- depth maps
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint16, np.int64])
def test_read_depth_npy_numeric_dtypes(tmp_path, dtype):
    values = (np.arange(30).reshape(5, 6) * 3 - 7).astype(dtype) if dtype != np.uint16 else \
        np.arange(30, dtype=np.uint16).reshape(5, 6) * 1000
    path = tmp_path / "d.npy"
    np.save(path, values)
    out = read_depth(path)
    assert out.dtype == np.float32 and out.shape == (5, 6)
    np.testing.assert_array_equal(out, values.astype(np.float32))


def test_read_depth_npy_keeps_nan_and_squeezes_singleton_axes(tmp_path):
    values = np.linspace(1, 2, 12, dtype=np.float32).reshape(1, 3, 4, 1)
    values[0, 1, 2, 0] = np.nan
    path = tmp_path / "d.npy"
    np.save(path, values)
    out = read_depth(path)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, values[0, ..., 0])  # NaN compares equal here


def test_read_depth_png_8_and_16_bit_values_as_stored(tmp_path):
    v8 = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    v16 = np.arange(48, dtype=np.uint16).reshape(6, 8) * 1365
    for name, values in [("d8.png", v8), ("d16.png", v16), ("d16.tif", v16)]:
        path = tmp_path / name
        assert cv2.imwrite(str(path), values)
        out = read_depth(path)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, values.astype(np.float32))


def test_read_depth_float_tiff(tmp_path):
    values = np.random.default_rng(3).uniform(0.5, 20.0, (7, 9)).astype(np.float32)
    path = tmp_path / "d.tiff"
    assert cv2.imwrite(str(path), values)
    np.testing.assert_array_equal(read_depth(path), values)


def test_read_depth_grey_saved_as_rgb_accepted_colour_refused(tmp_path):
    grey = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000)
    path = tmp_path / "grey_rgb.png"
    assert cv2.imwrite(str(path), np.dstack([grey] * 3))
    np.testing.assert_array_equal(read_depth(path), grey.astype(np.float32))

    colour = tmp_path / "colormap.png"
    assert cv2.imwrite(str(colour), cv2.applyColorMap((grey // 256).astype(np.uint8), cv2.COLORMAP_JET))
    with pytest.raises(Photo3DError) as exc:
        read_depth(colour)
    _assert_names(exc, colour, "colour")


def test_pfm_round_trip(tmp_path):
    values = np.random.default_rng(1).normal(size=(5, 7)).astype(np.float32)
    values[0, 0], values[4, 6] = np.nan, np.inf
    path = tmp_path / "d.pfm"
    write_pfm(path, values)
    assert path.read_bytes().startswith(b"Pf\n7 5\n-1.0\n")
    np.testing.assert_array_equal(read_pfm(path), values)
    np.testing.assert_array_equal(read_depth(path), values)


def test_pfm_big_endian_written_by_hand(tmp_path):
    """A positive scale means big-endian; rows are stored bottom row first."""
    top_first = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], np.float32)
    path = tmp_path / "be.pfm"
    path.write_bytes(b"Pf\n3 2\n1.0\n" + top_first[::-1].astype(">f4").tobytes())
    out = read_depth(path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, top_first)


def test_pfm_colour_keeps_first_channel(tmp_path):
    rgb = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    path = tmp_path / "colour.pfm"
    path.write_bytes(b"PF\n3 2\n-1.0\n" + rgb[::-1].astype("<f4").tobytes())
    np.testing.assert_array_equal(read_depth(path), rgb[..., 0])


@pytest.mark.parametrize("content, problem", [
    (b"P6\n3 2\n255\n" + bytes(18), "not a PFM"),
    (b"Pf\nthree two\n-1.0\n" + bytes(24), "size line"),
    (b"Pf\n3 2\nscale\n" + bytes(24), "scale line"),
    (b"Pf\n3 2\n-1.0\n" + bytes(20), "truncated"),
    (b"Pf\n3 2\n-1.0\n" + bytes(21), "truncated"),  # not a whole number of floats either
])
def test_pfm_malformed(tmp_path, content, problem):
    path = tmp_path / "bad.pfm"
    path.write_bytes(content)
    with pytest.raises(Photo3DError) as exc:
        read_depth(path)
    _assert_names(exc, path, problem)


def test_read_depth_missing_directory_and_garbage(tmp_path):
    missing = tmp_path / "nope.npy"
    with pytest.raises(Photo3DError) as exc:
        read_depth(missing)
    _assert_names(exc, missing, "not found")

    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(Photo3DError) as exc:
        read_depth(folder)
    _assert_names(exc, folder, "not a file")

    for name in ("garbage.npy", "garbage.png", "garbage.tif", "empty.png"):
        path = tmp_path / name
        path.write_bytes(b"" if name.startswith("empty") else b"definitely not a depth map" * 7)
        with pytest.raises(Photo3DError) as exc:
            read_depth(path)
        _assert_names(exc, path)


@pytest.mark.parametrize("shape", [(3, 8, 9), (8, 9, 2), (8,), (1, 9), ()])
def test_read_depth_refuses_non_2d(tmp_path, shape):
    path = tmp_path / "d.npy"
    np.save(path, np.ones(shape, np.float32))
    with pytest.raises(Photo3DError) as exc:
        read_depth(path)
    _assert_names(exc, path)


class _Trap:
    """Unpickling this creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_read_depth_never_unpickles(tmp_path):
    marker = tmp_path / "unpickled.marker"
    obj_npy = tmp_path / "object.npy"
    np.save(obj_npy, np.array([_Trap(marker), 1], dtype=object), allow_pickle=True)
    raw_pickle = tmp_path / "pickle.npy"  # a bare pickle with an .npy name
    raw_pickle.write_bytes(pickle.dumps(_Trap(marker)))
    for path in (obj_npy, raw_pickle):
        with pytest.raises(Photo3DError) as exc:
            read_depth(path)
        _assert_names(exc, path)
    assert not marker.exists()


def test_read_depth_refuses_npz_behind_npy_name(tmp_path):
    path = tmp_path / "archive.npy"
    with open(path, "wb") as f:
        np.savez(f, depth=np.ones((4, 4)))
    with pytest.raises(Photo3DError) as exc:
        read_depth(path)
    _assert_names(exc, path, "is an .npz archive")


def test_read_depth_refuses_non_numeric(tmp_path):
    path = tmp_path / "strings.npy"
    np.save(path, np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(Photo3DError) as exc:
        read_depth(path)
    _assert_names(exc, path, "non-numeric")


# ---------------------------------------------------------------------------- PLY
def _mesh() -> Mesh:
    rng = np.random.default_rng(7)
    vertices = rng.normal(size=(50, 3)).astype(np.float32) + np.float32([0, 0, 5])
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    faces = rng.integers(0, 50, (80, 3)).astype(np.int32)
    faces[:, 1] = (faces[:, 0] + 1) % 50  # no degenerate triangles (trimesh keeps them anyway)
    faces[:, 2] = (faces[:, 0] + 2) % 50
    k = Intrinsics(fx=123.5, fy=124.25, cx=40.0, cy=29.5, width=81, height=60)
    return Mesh(vertices, colors, faces, k, info=MeshInfo(inpaint="fill", center_depth=1.25))


def test_ply_round_trip(tmp_path):
    mesh = _mesh()
    path = write_ply(mesh, tmp_path / "sub" / "scene.ply")
    assert path == tmp_path / "sub" / "scene.ply"
    back = read_ply(path)
    np.testing.assert_array_equal(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(back.colors, mesh.colors)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    assert back.intrinsics == mesh.intrinsics
    # Binary payload: 15 bytes per vertex, 13 per face, right after the header.
    data = path.read_bytes()
    header_end = data.index(b"end_header\n") + len(b"end_header\n")
    assert len(data) - header_end == 50 * 15 + 80 * 13


def test_ply_header_records_image_and_intrinsics(tmp_path):
    path = write_ply(_mesh(), tmp_path / "scene.ply")
    header = path.read_bytes().split(b"end_header\n")[0].decode("ascii").splitlines()
    assert header[:2] == ["ply", "format binary_little_endian 1.0"]
    assert "comment image_size 81 60" in header
    assert "comment intrinsics fx 123.500000 fy 124.250000 cx 40.000000 cy 29.500000" in header
    assert "comment inpaint fill" in header and "comment center_depth 1.25" in header
    assert "element vertex 50" in header and "element face 80" in header


def test_ply_opens_in_trimesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    mesh = _mesh()
    path = write_ply(mesh, tmp_path / "scene.ply")
    loaded = trimesh.load(path, process=False)
    assert len(loaded.vertices) == mesh.num_vertices
    assert len(loaded.faces) == mesh.num_faces
    np.testing.assert_allclose(loaded.vertices, mesh.vertices, rtol=0, atol=0)
    np.testing.assert_array_equal(loaded.faces, mesh.faces)
    np.testing.assert_array_equal(np.asarray(loaded.visual.vertex_colors)[:, :3], mesh.colors)


def test_ply_empty_mesh_round_trip(tmp_path):
    k = Intrinsics.default(8, 6)
    empty = Mesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.int32), k)
    back = read_ply(write_ply(empty, tmp_path / "empty.ply"))
    assert back.num_vertices == 0 and back.num_faces == 0 and back.intrinsics == k


def test_read_ply_errors(tmp_path):
    missing = tmp_path / "missing.ply"
    with pytest.raises(Photo3DError) as exc:
        read_ply(missing)
    _assert_names(exc, missing, "not found")

    good = write_ply(_mesh(), tmp_path / "good.ply").read_bytes()
    header, body = good.split(b"end_header\n")
    cases = {
        "headless.ply": (b"ply\nformat binary_little_endian 1.0\n", "no end_header"),
        "garbage.ply": (bytes(range(256)) * 4, "no end_header"),
        "ascii.ply": (header.replace(b"binary_little_endian", b"ascii") + b"end_header\n", "not a PLY written by photo3d"),
        "normals.ply": (header.replace(b"property float z\n", b"property float z\nproperty float nx\n")
                        + b"end_header\n" + body, "not a PLY written by photo3d"),
        "no_intrinsics.ply": (header.replace(b"comment intrinsics", b"comment other") + b"end_header\n" + body,
                              "lacks photo3d's element counts, image_size or intrinsics"),
        "truncated.ply": (good[:-5], "truncated PLY data"),
    }
    for name, (content, problem) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(Photo3DError) as exc:
            read_ply(path)
        _assert_names(exc, path, problem)


def test_ply_written_by_trimesh_is_refused_not_misread(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.Trimesh(vertices=np.eye(3), faces=[[0, 1, 2]], process=False)
    path = tmp_path / "other.ply"
    mesh.export(path)
    with pytest.raises(Photo3DError) as exc:
        read_ply(path)
    _assert_names(exc, path)


# ---------------------------------------------------------------------------- atomic writes
def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_success_replaces_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and ".partial" in tmp.name
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible until the block ends
    assert target.read_text() == "new"
    assert _listing(tmp_path) == ["out.txt"]


def test_atomic_write_exception_leaves_nothing(tmp_path):
    target = tmp_path / "deep" / "out.ply"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("writer failed")
    assert not target.exists()
    assert _listing(target.parent) == []


def test_atomic_write_exception_keeps_existing_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("complete")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert target.read_text() == "complete"
    assert _listing(tmp_path) == ["out.txt"]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    """Written files get 0666 less the umask, like any new file (not mkstemp's private 0600)."""
    old = os.umask(0o022)
    try:
        path = write_ply(_mesh(), tmp_path / "scene.ply")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o644


def test_heic_photo_is_read(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif not installed")
    from PIL import Image

    from photo3d.io import read_image

    yy, xx = np.mgrid[0:48, 0:64]
    img = np.stack([xx * 4, yy * 5, 255 - xx * 3], -1).clip(0, 255).astype(np.uint8)
    pillow_heif.register_heif_opener()
    path = tmp_path / "photo.heic"
    Image.fromarray(img).save(path, quality=95)
    out = read_image(path)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - img).mean() < 4
    (tmp_path / "bad.heic").write_bytes(b"not a heic")
    with pytest.raises(Exception, match="bad.heic"):
        read_image(tmp_path / "bad.heic")


def test_glb_opens_in_trimesh_with_glTF_axes_and_linear_colours(tmp_path):
    trimesh = pytest.importorskip("trimesh", reason="trimesh not installed")
    from photo3d.io import read_glb, srgb_to_linear

    rng = np.random.default_rng(3)
    vertices = rng.random((50, 3)).astype(np.float32) + [0, 0, 2]
    colors = rng.integers(0, 256, (50, 3)).astype(np.uint8)
    faces = rng.integers(0, 50, (30, 3)).astype(np.int32)
    mesh = Mesh(vertices, colors, faces, Intrinsics(100.0, 100.0, 32.0, 24.0, 64, 48))
    path = write_glb(mesh, tmp_path / "m.glb")
    data = path.read_bytes()
    assert data[:4] == b"glTF" and int.from_bytes(data[8:12], "little") == len(data) and len(data) % 4 == 0
    loaded = trimesh.load(path, force="mesh", process=False)
    np.testing.assert_allclose(loaded.vertices, vertices * [1, -1, -1], atol=1e-6)  # +y up, +z to the viewer
    assert np.array_equal(loaded.faces, faces)
    positions, rgba, tri, gltf = read_glb(path)
    assert np.array_equal(tri, faces)
    np.testing.assert_allclose(rgba[:, :3], srgb_to_linear(colors), atol=1e-4)  # linear, as glTF wants
    assert (rgba[:, 3] == 1).all()
    material = gltf["materials"][gltf["meshes"][0]["primitives"][0]["material"]]
    assert "KHR_materials_unlit" in material["extensions"]
    assert material["pbrMetallicRoughness"]["metallicFactor"] == 0
    assert gltf["asset"]["extras"]["image_size"] == [64, 48]


def test_srgb_to_linear_known_values():
    from photo3d.io import srgb_to_linear

    np.testing.assert_allclose(srgb_to_linear(np.array([0, 255, 188], np.uint8)), [0.0, 1.0, 0.5029], atol=1e-4)
