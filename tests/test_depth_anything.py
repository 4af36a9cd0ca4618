"""Depth Anything V2 Small: published key layout, reference vectors, pre/post-processing.

The vectors file under tests/data is a reduced copy of shared/compat's (input 0 with its
output, every 5th backbone patch token and all class tokens, plus the schema's keys and
shapes); the full file's second (portrait, 518 x 392) case runs when shared/compat exists.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from photo3d.depth.depth_anything import (
    DepthAnythingV2Small,
    IMAGENET_MEAN,
    IMAGENET_STD,
    WEIGHTS_NAME,
    estimate,
    load_depth_anything,
    network_input_size,
    preprocess,
    resize_to_image,
)
from photo3d.errors import Photo3DError

from photo3d.depth.recipe_weights import recipe_state_dict

VECTORS = Path(__file__).resolve().parent / "data" / "depth_anything_v2_vits_vectors.npz"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FULL_VECTORS = SHARED / "compat" / "depth_anything_v2_vits_vectors.npz"
MOTORCYCLE = SHARED / "data" / "middlebury2014_motorcycle_skimage"


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    with np.load(VECTORS) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def schema(vectors) -> list[tuple[str, tuple[int, ...]]]:
    shapes = json.loads(str(vectors["schema_shapes_json"]))
    return [(str(k), tuple(s)) for k, s in zip(vectors["schema_keys"], shapes)]


@pytest.fixture(scope="module")
def recipe_weights(schema):
    return recipe_state_dict(schema)


@pytest.fixture(scope="module")
def model(recipe_weights) -> DepthAnythingV2Small:
    net = DepthAnythingV2Small()
    net.load_state_dict(recipe_weights, strict=True)
    return net.eval()


# --- the published state_dict layout ------------------------------------------------------

def test_state_dict_keys_order_and_shapes_match_published_schema(schema):
    state = DepthAnythingV2Small().state_dict()
    assert list(state) == [k for k, _ in schema]
    assert [tuple(v.shape) for v in state.values()] == [s for _, s in schema]
    assert all(v.dtype == torch.float32 for v in state.values())
    assert sum(v.numel() for v in state.values()) == 24_785_089


# --- reference vectors ----------------------------------------------------------------------

def test_backbone_matches_reference_intermediate_outputs(model, vectors):
    x = torch.from_numpy(vectors["input_0"])
    with torch.inference_mode():
        features = model.pretrained(x)
    assert len(features) == 4
    token_index = torch.from_numpy(vectors["backbone_token_index"])
    for j, (patch, cls) in enumerate(features):
        assert patch.shape == (1, (266 // 14) * (350 // 14), 384)
        np.testing.assert_allclose(patch[:, token_index].numpy(), vectors[f"backbone_0_{j}_patch_subset"],
                                   rtol=0, atol=1e-4)
        np.testing.assert_allclose(cls.numpy(), vectors[f"backbone_0_{j}_cls"], rtol=0, atol=1e-4)


def test_output_matches_reference(model, vectors):
    with torch.inference_mode():
        out = model(torch.from_numpy(vectors["input_0"])).numpy()
    expected = vectors["output_0"]
    assert out.shape == expected.shape == (1, 266, 350)
    assert (expected > 0).mean() > 0.1  # the comparison is not between two zero maps
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3)


@pytest.mark.skipif(not FULL_VECTORS.is_file(), reason=f"{FULL_VECTORS} missing (full compat vectors)")
def test_portrait_518_output_matches_reference(model):
    # 37 patch rows but a non-square input: the position grid is still resampled (37.1/37).
    with np.load(FULL_VECTORS) as z:
        x, expected = z["input_1"], z["output_1"]
    assert x.shape == (1, 3, 518, 392)
    with torch.inference_mode():
        out = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3)


def test_square_518_uses_stored_position_embedding(model):
    backbone = model.pretrained
    assert backbone.position_embedding(518, 518) is backbone.pos_embed
    resampled = backbone.position_embedding(518, 392)
    assert resampled.shape == (1, 1 + 37 * 28, 384)
    torch.testing.assert_close(resampled[:, 0], backbone.pos_embed[:, 0], rtol=0, atol=0)


def test_load_depth_anything_from_file_strictly(tmp_path, model, recipe_weights, vectors):
    path = tmp_path / f"{WEIGHTS_NAME}.pth"
    torch.save(recipe_weights, path)
    loaded = load_depth_anything(path)
    assert not loaded.training
    x = torch.from_numpy(vectors["input_0"][:, :, :56, :84].copy())
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=1e-5)  # loaded: channels_last

    incomplete = dict(recipe_weights)
    del incomplete["pretrained.mask_token"]
    bad_path = tmp_path / "incomplete.pth"
    torch.save(incomplete, bad_path)
    with pytest.raises(Photo3DError, match="mask_token"):
        load_depth_anything(bad_path)


def test_load_depth_anything_device_names(tmp_path, recipe_weights):
    """Regression: "auto" (the config's default device) reached torch.device and crashed."""
    path = tmp_path / f"{WEIGHTS_NAME}.pth"
    torch.save(recipe_weights, path)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(load_depth_anything(path, "auto").parameters()).device.type == expected
    with pytest.raises(Photo3DError, match="device 'tpu'"):
        load_depth_anything(path, "tpu")


# --- pre- and post-processing -----------------------------------------------------------

@pytest.mark.parametrize(
    ("height", "width", "input_size", "expected"),
    [
        (480, 640, 518, (518, 686)),     # 690.7 rounds down to 49 patches
        (640, 480, 518, (686, 518)),     # portrait: same, transposed
        (1080, 1920, 518, (518, 924)),   # 920.9 rounds up to 66 patches
        (333, 501, 518, (518, 784)),     # odd sizes, upscaled
        (518, 518, 518, (518, 518)),
        (510, 700, 510, (518, 700)),     # 510 would round to 504 < 510: rounded up instead
        (504, 511, 504, (504, 504)),     # 511 / 14 = 36.5 rounds half to even, like numpy
    ],
)
def test_network_input_size(height, width, input_size, expected):
    assert network_input_size(height, width, input_size) == expected


def test_network_input_size_keeps_aspect_and_bounds():
    for height, width in [(97, 1013), (1013, 97), (321, 481), (555, 698), (1, 2)]:
        net_h, net_w = network_input_size(height, width)
        assert net_h % 14 == 0 and net_w % 14 == 0
        assert min(net_h, net_w) >= 518
        assert abs(net_w / net_h - width / height) <= 14 / min(net_h, net_w) * (width / height + 1)


def test_preprocess_normalises_a_flat_image_exactly():
    colour = np.array([200, 100, 30], np.uint8)
    image = np.broadcast_to(colour, (45, 61, 3)).copy()
    x = preprocess(image, input_size=56)
    assert x.shape == (1, 3, 56, 70) and x.dtype == torch.float32  # 56 x 75.9 -> 56 x 70
    expected = (colour / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(x[0].numpy(), np.broadcast_to(expected[:, None, None], (3, 56, 70)), atol=1e-5)


def test_resize_to_image_keeps_corners_and_size():
    disparity = torch.arange(12.0).reshape(1, 3, 4)
    out = resize_to_image(disparity, 7, 9)
    assert out.shape == (1, 7, 9)
    # align_corners=True: the corner samples are the corner pixels, the centre row is interpolated
    assert out[0, 0, 0] == 0 and out[0, -1, -1] == 11 and out[0, 0, -1] == 3 and out[0, -1, 0] == 8
    torch.testing.assert_close(out[0, 3], torch.linspace(4.0, 7.0, 9))


@pytest.mark.parametrize(("height", "width"), [(37, 53), (53, 37), (29, 29), (1, 90)])
def test_estimate_returns_image_sized_nonnegative_float32(model, height, width):
    rng = np.random.default_rng(height * 100 + width)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    disparity = estimate(image, model, input_size=42)
    assert disparity.shape == (height, width)
    assert disparity.dtype == np.float32
    assert np.isfinite(disparity).all() and (disparity >= 0).all()


def test_estimate_equals_network_output_when_no_resize_is_needed(model):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (42, 56, 3), dtype=np.uint8)
    disparity = estimate(image, model, input_size=42)
    with torch.inference_mode():
        direct = model(preprocess(image, input_size=42))[0].numpy()
    np.testing.assert_allclose(disparity, direct, rtol=0, atol=1e-6)


def test_estimate_rejects_bad_images(model):
    with pytest.raises(Photo3DError, match="uint8"):
        estimate(np.zeros((20, 20, 3), np.float32), model)
    with pytest.raises(Photo3DError, match="H x W x 3"):
        estimate(np.zeros((20, 20), np.uint8), model)
    with pytest.raises(Photo3DError, match="empty"):
        estimate(np.zeros((0, 20, 3), np.uint8), model)
    with pytest.raises(Photo3DError, match="input size"):
        estimate(np.zeros((20, 20, 3), np.uint8), model, input_size=10)


def test_estimate_without_weights_says_how_to_get_them(tmp_path, monkeypatch):
    from photo3d.weights import find_weights

    monkeypatch.delenv("PHOTO3D_CHECKPOINTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if find_weights(WEIGHTS_NAME, tmp_path) is not None:
        pytest.skip("Depth Anything weights are installed in the project checkpoints directory")
    with pytest.raises(Photo3DError, match=f"photo3d weights download {WEIGHTS_NAME}"):
        estimate(np.zeros((20, 20, 3), np.uint8), checkpoints_dir=tmp_path)
    with pytest.raises(Photo3DError, match="not found"):
        estimate(np.zeros((20, 20, 3), np.uint8), weights=tmp_path / "nowhere.pth")


# --- the published weights, where installed -----------------------------------------------

@pytest.mark.shared_data
def test_published_weights_rank_motorcycle_depth_like_ground_truth():
    from scipy.stats import spearmanr

    from photo3d.weights import find_weights

    path = find_weights(WEIGHTS_NAME)
    if path is None:
        pytest.skip(f"{WEIGHTS_NAME}.pth not installed (photo3d weights download {WEIGHTS_NAME})")
    if not MOTORCYCLE.is_dir():
        pytest.skip(f"{MOTORCYCLE} missing")
    import cv2

    image = cv2.cvtColor(cv2.imread(str(MOTORCYCLE / "im0.png")), cv2.COLOR_BGR2RGB)
    truth = np.load(MOTORCYCLE / "disp0.npy")
    disparity = estimate(image, load_depth_anything(path))
    known = np.isfinite(truth) & (truth > 0)
    rho = spearmanr(disparity[known][::7], truth[known][::7]).statistic
    assert rho > 0.7  # relative disparity: monotone agreement with the true disparity
