"""photo3d.depth.saved: the depth a run used (``--save-depth``) read back as a depth file.

Regression: ``--save-depth`` recorded the value mapping and the kind in the PNG's text chunks,
but reading the PNG back ignored them, so depth 2..8 came back as the stored integers
16384..65535, taken for disparity.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from photo3d.depth import read_depth_file, resolve_depth, save_depth
from photo3d.depth.saved import PNG_KEY_KIND, PNG_KEY_SCALE, PNG_MAX
from scenes import synthetic_rgbd


def depth_2_to_8(h: int = 36, w: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (2.0 + 6.0 * (xx + yy * w) / (h * w - 1)).astype(np.float32)


def png_scale(path) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return float(im.text[PNG_KEY_SCALE])


def test_saved_png_read_back_gives_the_depth_and_its_kind(tmp_path):
    depth = depth_2_to_8()
    png, npy = save_depth(tmp_path / "photo_depth", depth, "depth")
    scale = png_scale(png)
    assert scale == pytest.approx(PNG_MAX / 8.0)  # offset 0: stored = value * scale

    values, kind = read_depth_file(png)
    assert kind == "depth"
    assert values.shape == depth.shape and values.dtype == np.float32
    assert values.max() < 9  # not the stored integers (..65535)
    np.testing.assert_allclose(values, depth, rtol=0, atol=0.5 / scale + 1e-6)
    np.testing.assert_array_equal(read_depth_file(npy)[0], depth)  # the .npy is exact

    # as --depth: the recorded kind wins over the default "disparity"
    image = np.zeros((36, 48, 3), np.uint8)
    found = resolve_depth(None, image, depth_path=png)
    assert found.kind == "depth" and found.source == "file"
    np.testing.assert_allclose(found.values, depth, rtol=0, atol=0.5 / scale + 1e-6)


def test_saved_disparity_keeps_its_kind(tmp_path):
    disparity = 1.0 / depth_2_to_8()
    png, _ = save_depth(tmp_path / "d", disparity, "disparity")
    values, kind = read_depth_file(png)
    assert kind == "disparity"
    np.testing.assert_allclose(values, disparity, rtol=0, atol=0.5 / png_scale(png) + 1e-7)
    found = resolve_depth(None, np.zeros((36, 48, 3), np.uint8), depth_path=png, depth_kind="depth")
    assert found.kind == "disparity"  # what the file says it holds


def test_a_plain_16_bit_png_is_read_as_stored(tmp_path):
    stored = (np.arange(36 * 48).reshape(36, 48) * 30).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "plain.png"), stored)
    values, kind = read_depth_file(tmp_path / "plain.png")
    assert kind is None
    np.testing.assert_array_equal(values, stored.astype(np.float32))
    found = resolve_depth(None, np.zeros((36, 48, 3), np.uint8), depth_path=tmp_path / "plain.png", depth_kind="depth")
    assert found.kind == "depth"  # no record: the user's --depth-kind


def test_cli_save_depth_then_depth_reproduces_the_depth(tmp_path, capsys):
    """photo3d --save-depth, then the saved PNG passed back as --depth: the same depth (to
    the PNG's quantisation) and the same kind, without repeating --depth-kind."""
    from photo3d.cli import main

    image, _ = synthetic_rgbd(36, 48)
    depth = depth_2_to_8()
    image_path, depth_path = tmp_path / "photo.png", tmp_path / "photo.npy"
    cv2.imwrite(str(image_path), image[..., ::-1])
    np.save(depth_path, depth)
    common = ["--longer-side", "48", "--paths", "none", "--inpaint", "fill", "--quiet", "--save-depth"]
    assert main(["--image", str(image_path), "--depth", str(depth_path), "--depth-kind", "depth",
                 "--out", str(tmp_path / "a"), *common]) == 0
    saved_png = tmp_path / "a" / "photo" / "photo_depth.png"
    np.testing.assert_array_equal(np.load(tmp_path / "a" / "photo" / "photo_depth.npy"), depth)

    assert main(["--image", str(image_path), "--depth", str(saved_png), "--out", str(tmp_path / "b"), *common]) == 0
    capsys.readouterr()
    again = np.load(tmp_path / "b" / "photo" / "photo_depth.npy")  # the depth the second run used
    np.testing.assert_allclose(again, depth, rtol=0, atol=0.5 / png_scale(saved_png) + 1e-6)
    from PIL import Image

    with Image.open(tmp_path / "b" / "photo" / "photo_depth.png") as im:
        assert im.text[PNG_KEY_KIND] == "depth"
    run = yaml.safe_load((tmp_path / "b" / "photo" / "config.yml").read_text())["_run"]
    assert run["depth"] == str(saved_png) and run["depth_source"] == "file"
    # the same scene: the meshes' centre depth (PLY header) agrees to the quantisation
    centre = [next(float(ln.split()[2]) for ln in (tmp_path / r / "photo" / "photo.ply").read_bytes()
                   .split(b"end_header")[0].decode("ascii").splitlines() if ln.startswith("comment center_depth"))
              for r in ("a", "b")]
    assert centre[0] == pytest.approx(centre[1], rel=1e-3)
