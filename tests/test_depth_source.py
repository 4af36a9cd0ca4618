"""The depth-source resolver: order of sources, errors for missing explicit sources, saving."""
from __future__ import annotations

import base64
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from photo3d.depth import DepthResult, read_saved_depth_png, resolve_depth, save_depth
from photo3d.depth.prior import prior_disparity
from photo3d.errors import Photo3DError
from photo3d.io import read_depth

NEAR, FAR = 1.0, 4.0


@pytest.fixture
def no_installed_weights(monkeypatch, tmp_path):
    """Point the weight search at empty folders; skip when the project folder has the weights."""
    from photo3d.weights import find_weights

    monkeypatch.delenv("PHOTO3D_CHECKPOINTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if find_weights("depth_anything_v2_vits", tmp_path / "empty") is not None:
        pytest.skip("Depth Anything weights are installed in the project; the no-model paths are unreachable")
    return tmp_path / "empty"


def photo(height: int = 36, width: int = 48) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def gdepth_png(path: Path, image: np.ndarray, depth_v: np.ndarray) -> None:
    """A PNG photo whose XMP (iTXt) carries a GDepth RangeLinear depth image."""
    from PIL import Image, PngImagePlugin

    ok, buf = cv2.imencode(".png", depth_v)
    data = base64.b64encode(buf.tobytes()).decode()
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" '
              f'GDepth:Format="RangeLinear" GDepth:Near="{NEAR}" GDepth:Far="{FAR}" GDepth:Mime="image/png" '
              f'GDepth:Data="{data}"/></rdf:RDF></x:xmpmeta>')
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    Image.fromarray(image).save(path, pnginfo=info)


def channel_mean_onnx(path: Path) -> Path:
    """A tiny ONNX model: output = mean over channels of its (normalised) input."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["depth"], axes=[1], keepdims=1)], "mean",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 1, "h", "w"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


NEUTRAL = {"mean": (0, 0, 0), "std": (1, 1, 1), "input_size": 14, "multiple": 1}


# ---------------------------------------------------------------------------------------
# Order of sources in "auto"
# ---------------------------------------------------------------------------------------

def test_auto_prefers_file_over_embedded(tmp_path):
    image = photo()
    gdepth_png(tmp_path / "p.png", image, np.full((9, 12), 128, np.uint8))
    depth = np.linspace(1, 2, 18 * 24, dtype=np.float32).reshape(18, 24)  # half size, same aspect
    np.save(tmp_path / "d.npy", depth)
    result = resolve_depth(tmp_path / "p.png", image, depth_path=tmp_path / "d.npy", depth_kind="depth")
    assert isinstance(result, DepthResult)
    assert result.source == "file" and result.kind == "depth" and result.warning is None
    # A depth file keeps its own size (the pipeline resizes it once, to the working size).
    assert result.values.shape == (18, 24) and result.values.dtype == np.float32
    np.testing.assert_array_equal(result.values, depth)


def test_auto_uses_embedded_before_models(tmp_path):
    image = photo()
    v = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (36, 1))
    gdepth_png(tmp_path / "p.png", image, v)
    onnx_path = channel_mean_onnx(tmp_path / "m.onnx")
    result = resolve_depth(tmp_path / "p.png", image, onnx_model=onnx_path)
    assert result.source == "embedded (GDepth XMP)" and result.kind == "depth"
    np.testing.assert_allclose(result.values, v / 255.0 * (FAR - NEAR) + NEAR, rtol=1e-6)


def test_auto_uses_onnx_when_nothing_embedded(tmp_path):
    image = photo(28, 42)
    cv2.imwrite(str(tmp_path / "plain.png"), image)
    onnx_path = channel_mean_onnx(tmp_path / "m.onnx")
    result = resolve_depth(tmp_path / "plain.png", image, onnx_model=onnx_path,
                           onnx_options={**NEUTRAL, "input_size": 28, "output": "depth"})
    assert result.source == "onnx:m.onnx" and result.kind == "depth"
    np.testing.assert_allclose(result.values, image.mean(axis=2) / 255.0, atol=1e-5)


def test_auto_falls_back_to_prior_with_warning(tmp_path, no_installed_weights):
    image = photo(60, 80)
    result = resolve_depth(None, image, checkpoints_dir=no_installed_weights)
    assert result.source == "prior" and result.kind == "disparity"
    assert "photo3d weights download depth_anything_v2_vits" in result.warning
    assert "\n" not in result.warning
    assert result.values.shape == (60, 80) and np.isfinite(result.values).all()
    assert float(result.values.std()) > 0.01


def test_model_source_skips_embedded(tmp_path):
    image = photo(28, 42)
    gdepth_png(tmp_path / "p.png", image, np.full((9, 12), 128, np.uint8))
    onnx_path = channel_mean_onnx(tmp_path / "m.onnx")
    result = resolve_depth(tmp_path / "p.png", image, source="model", onnx_model=onnx_path,
                           onnx_options={**NEUTRAL, "input_size": 28})
    assert result.source == "onnx:m.onnx" and result.kind == "disparity"


def test_auto_runs_depth_anything_when_weights_are_found(tmp_path, no_installed_weights):
    """Weights in the checkpoints folder (random, in the published layout) select Depth Anything."""
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    from photo3d.depth.depth_anything import DepthAnythingV2Small, estimate, load_depth_anything

    torch.manual_seed(0)
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    weights = checkpoints / "depth_anything_v2_vits.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in DepthAnythingV2Small().state_dict().items()},
                                str(weights))
    image = photo(42, 56)
    cv2.imwrite(str(tmp_path / "plain.png"), image)
    result = resolve_depth(tmp_path / "plain.png", image, checkpoints_dir=checkpoints, model_input_size=56)
    assert result.source == "Depth Anything V2 Small" and result.kind == "disparity" and result.warning is None
    assert result.values.shape == (42, 56) and np.isfinite(result.values).all()
    direct = estimate(image, load_depth_anything(weights), input_size=56)
    np.testing.assert_allclose(result.values, direct, rtol=1e-4, atol=1e-5)


def test_depth_anything_when_weights_present(tmp_path):
    from photo3d.weights import find_weights

    if find_weights("depth_anything_v2_vits") is None:
        pytest.skip("Depth Anything V2 Small weights not installed (photo3d weights download depth_anything_v2_vits)")
    image = photo(56, 70)
    result = resolve_depth(None, image, source="model", model_input_size=140)
    assert result.source == "Depth Anything V2 Small" and result.kind == "disparity"
    assert result.values.shape == (56, 70) and np.isfinite(result.values).all()


# ---------------------------------------------------------------------------------------
# Explicit sources that are missing
# ---------------------------------------------------------------------------------------

def test_explicit_sources_missing(tmp_path, no_installed_weights):
    image = photo()
    cv2.imwrite(str(tmp_path / "plain.png"), image)
    with pytest.raises(Photo3DError, match="plain.png: no embedded depth"):
        resolve_depth(tmp_path / "plain.png", image, source="embedded")
    with pytest.raises(Photo3DError, match="needs a depth file"):
        resolve_depth(tmp_path / "plain.png", image, source="file")
    with pytest.raises(Photo3DError, match="not found"):
        resolve_depth(tmp_path / "plain.png", image, source="file", depth_path=tmp_path / "none.npy")
    with pytest.raises(Photo3DError, match="photo3d weights download depth_anything_v2_vits"):
        resolve_depth(tmp_path / "plain.png", image, source="model", checkpoints_dir=no_installed_weights)
    with pytest.raises(Photo3DError, match="depth source must be"):
        resolve_depth(None, image, source="guess")
    with pytest.raises(Photo3DError, match="depth kind"):
        resolve_depth(None, image, depth_kind="inverse")


def test_embedded_source_broken_raises(tmp_path, caplog):
    from PIL import Image, PngImagePlugin

    image = photo()
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" GDepth:Near="1" '
              'GDepth:Far="2" GDepth:Data="aGVsbG8="/></rdf:RDF></x:xmpmeta>')  # base64 of "hello"
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    Image.fromarray(image).save(tmp_path / "bad.png", pnginfo=info)
    with pytest.raises(Photo3DError, match="bad.png.*does not decode"):
        resolve_depth(tmp_path / "bad.png", image, source="embedded")
    with caplog.at_level(logging.WARNING, logger="photo3d"):  # auto: warn and move on
        result = resolve_depth(tmp_path / "bad.png", image, onnx_model=channel_mean_onnx(tmp_path / "m.onnx"),
                               onnx_options=NEUTRAL)
    assert result.source == "onnx:m.onnx"
    assert any("bad.png" in r.getMessage() for r in caplog.records if r.name == "photo3d"), caplog.messages


def test_stretched_depth_file_is_reported(tmp_path):
    np.save(tmp_path / "square.npy", np.ones((20, 20), np.float32))
    result = resolve_depth(None, photo(36, 48), depth_path=tmp_path / "square.npy")
    assert result.values.shape == (20, 20)  # kept at the file's size; the pipeline stretches it
    assert "stretched" in result.warning and "square.npy" in result.warning


# ---------------------------------------------------------------------------------------
# Prior and saving
# ---------------------------------------------------------------------------------------

@pytest.mark.shared_data
def test_prior_on_a_real_photo_orders_near_and_far(shared_data):
    """On Middlebury Art the prior must at least rank depth better than chance."""
    scene = shared_data / "middlebury_2005_2006_half" / "Art"
    if not (scene / "view1.png").is_file():
        pytest.skip(f"test data missing: {scene}")
    image = cv2.imread(str(scene / "view1.png"))[..., ::-1].copy()
    truth = cv2.imread(str(scene / "disp1.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    guess = prior_disparity(image)
    assert guess.shape == truth.shape and np.isfinite(guess).all()
    assert guess.min() >= 0.1 - 1e-6 and guess.max() <= 1.0 + 1e-6
    valid = truth > 0
    from scipy.stats import spearmanr

    assert spearmanr(guess[valid], truth[valid])[0] > 0.5  # measured 0.72


def test_prior_degenerate_images():
    flat = np.full((40, 30, 3), 128, np.uint8)
    guess = prior_disparity(flat)
    assert np.isfinite(guess).all() and guess.std() > 0.01
    assert guess[-1].mean() > guess[0].mean()  # bottom is nearer
    with pytest.raises(Photo3DError):
        prior_disparity(np.zeros((4, 4), np.uint8))
    with pytest.raises(Photo3DError, match="prior depth: image size 5x0 is empty"):  # was a cv2.error
        prior_disparity(np.zeros((0, 5, 3), np.uint8))


def test_save_depth_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    values = rng.uniform(0.05, 3.0, (37, 53)).astype(np.float32)
    png, npy = save_depth(tmp_path / "scene_depth", values, "disparity")
    assert png.name == "scene_depth.png" and npy.name == "scene_depth.npy"
    np.testing.assert_array_equal(read_depth(npy), values)  # exact
    again = resolve_depth(None, photo(37, 53), depth_path=npy)
    np.testing.assert_array_equal(again.values, values)
    decoded, kind = read_saved_depth_png(png)
    assert kind == "disparity"
    assert np.abs(decoded - values).max() <= 0.5 * 3.0 / 65535 + 1e-7
    raw = read_depth(png)  # a reader that ignores the text chunks: proportional values
    np.testing.assert_allclose(raw / raw.max(), values / values.max(), atol=1e-4)


def test_save_depth_negative_values_and_errors(tmp_path):
    values = np.array([[-1.0, 0.0], [1.0, 2.0]], np.float32)
    png, _ = save_depth(tmp_path / "neg", values, "depth")
    decoded, kind = read_saved_depth_png(png)
    assert kind == "depth"
    np.testing.assert_allclose(decoded, values, atol=3.0 / 65535)
    with pytest.raises(Photo3DError, match="NaN"):
        save_depth(tmp_path / "nan", np.array([[np.nan, 1.0]], np.float32), "depth")
    with pytest.raises(Photo3DError, match="kind"):
        save_depth(tmp_path / "k", values, "inverse")
