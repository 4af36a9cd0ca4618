"""OnnxDepthModel against the torch model it was exported from."""
from __future__ import annotations

import warnings

import cv2
import numpy as np
import pytest

from photo3d.depth.onnx_model import OnnxDepthModel, network_size
from photo3d.errors import Photo3DError

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


class TinyDepthNet(torch.nn.Module):
    """Conv -> ReLU -> stride-2 conv -> output (1, H/2, W/2) or (1, 1, H/2, W/2)."""

    def __init__(self, keep_channel: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(6, 1, 3, stride=2, padding=1)
        self.keep_channel = keep_channel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.softplus(self.conv2(torch.relu(self.conv1(x))))
        return y if self.keep_channel else y[:, 0]


def export(model: TinyDepthNet, path, size: tuple[int, int], dynamic: bool) -> None:
    x = torch.zeros(1, 3, *size)
    axes = None
    if dynamic:
        out_axes = {2: "oh", 3: "ow"} if model.keep_channel else {1: "oh", 2: "ow"}
        axes = {"image": {2: "height", 3: "width"}, "depth": out_axes}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(model, (x,), str(path), opset_version=17, input_names=["image"],
                              output_names=["depth"], dynamic_axes=axes, dynamo=False)
    except ImportError as exc:  # the exporter wants a package we lack (test_onnx_helper_built_model still runs)
        pytest.skip(f"torch.onnx.export needs a missing package: {exc}")


def reference(model: torch.nn.Module, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The conventions written out independently: cubic resize, /255, ImageNet norm, bilinear back."""
    h, w = size
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    x = torch.from_numpy(((resized - MEAN) / STD).transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        out = model(x).numpy().reshape(model(x).shape[-2:])
    return cv2.resize(out, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)


def test_network_size():
    assert network_size(50, 70, 28, 14, True) == (28, 42)     # 70 * 28 / 50 = 39.2 -> 42
    assert network_size(480, 640, 518, 14, True) == (518, 686)
    assert network_size(50, 70, 32, 14, False) == (28, 28)
    assert network_size(10, 10, 3, 14, True) == (14, 14)       # never below one multiple


@pytest.mark.parametrize("keep_channel", [False, True])
def test_dynamic_onnx_matches_torch(tmp_path, keep_channel):
    model = TinyDepthNet(keep_channel).eval()
    path = tmp_path / "tiny.onnx"
    export(model, path, (28, 28), dynamic=True)
    image = np.random.default_rng(3).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    onnx_model = OnnxDepthModel(path, input_size=28, multiple=14)
    out = onnx_model.estimate(image)
    assert out.shape == (50, 70) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference(model, image, (28, 42)), rtol=1e-4, atol=1e-5)
    assert onnx_model.kind == "disparity" and onnx_model.name == "onnx:tiny.onnx"


def test_fixed_size_model_gets_its_size(tmp_path):
    model = TinyDepthNet(True).eval()
    path = tmp_path / "fixed.onnx"
    export(model, path, (42, 56), dynamic=False)
    image = np.random.default_rng(4).integers(0, 256, (30, 90, 3), dtype=np.uint8)
    onnx_model = OnnxDepthModel(path, input_size=518, output="depth")
    assert onnx_model.fixed_size == (42, 56)
    np.testing.assert_allclose(onnx_model.estimate(image), reference(model, image, (42, 56)), rtol=1e-4, atol=1e-5)
    assert onnx_model.kind == "depth"


def test_onnx_helper_built_model(tmp_path):
    """A model built with the onnx helper API: output = mean over channels of the normalised input."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["depth"], axes=[1], keepdims=1)],
        "channel_mean",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("depth", TensorProto.FLOAT, [1, 1, "h", "w"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / "mean.onnx"
    onnx.save(model, str(path))
    image = np.random.default_rng(5).integers(0, 256, (28, 42, 3), dtype=np.uint8)
    out = OnnxDepthModel(path, input_size=28, multiple=14, mean=(0, 0, 0), std=(1, 1, 1)).estimate(image)
    np.testing.assert_allclose(out, image.astype(np.float32).mean(axis=2) / 255.0, rtol=1e-5, atol=1e-6)


def test_bad_arguments(tmp_path):
    with pytest.raises(Photo3DError, match="not found"):
        OnnxDepthModel(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx file")
    with pytest.raises(Photo3DError, match="junk.onnx.*cannot load"):
        OnnxDepthModel(junk)
    with pytest.raises(Photo3DError, match="output"):
        OnnxDepthModel(junk, output="inverse")
