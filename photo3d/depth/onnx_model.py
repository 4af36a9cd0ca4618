"""Any monocular depth network exported to ONNX, run with onnxruntime.

Conventions the model must follow (the usual ones for MiDaS / DPT / Depth Anything
exports; adjust with the keyword arguments of :class:`OnnxDepthModel`):

* Input: the model's first input, ``(1, 3, H, W)`` float32, RGB, values ``x / 255``
  normalised per channel with ``(x - mean) / std``. When the model declares a fixed
  H and W they are used; otherwise the image is resized (bicubic) so that its shorter
  side is ``input_size`` (``keep_aspect=True``) or to ``input_size x input_size``
  (``keep_aspect=False``), each side rounded to a multiple of ``multiple``.
* Output: the model's first output, ``(1, H', W')``, ``(1, 1, H', W')`` or ``(H', W')``,
  any resolution; it is resized back to the image bilinearly. ``output="disparity"``
  means larger = nearer (MiDaS, Depth Anything relative models); ``"depth"`` means
  larger = farther (metric models).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ..checks import check_rgb_image
from ..errors import Photo3DError

OUTPUT_KINDS = ("disparity", "depth")


def network_size(height: int, width: int, input_size: int, multiple: int, keep_aspect: bool) -> tuple[int, int]:
    """(h, w) of the network input for an image of ``height`` x ``width``.

    keep_aspect: the shorter side becomes ``input_size`` and the other keeps the aspect
    ratio; both are then rounded to the nearest multiple of ``multiple`` (at least one).
    """
    if keep_aspect:
        scale = input_size / min(height, width)
        h, w = height * scale, width * scale
    else:
        h = w = float(input_size)
    h_out = max(multiple, int(round(h / multiple)) * multiple)
    w_out = max(multiple, int(round(w / multiple)) * multiple)
    return h_out, w_out


class OnnxDepthModel:
    """A depth/disparity network in an ONNX file (conventions in the module docstring).

    Args:
        path: the ``.onnx`` file.
        input_size: shorter side (or side, without ``keep_aspect``) of the network input.
        multiple: both input sides are rounded to a multiple of this (14 for ViT patches).
        mean, std: per-channel RGB normalisation of values in [0, 1].
        output: "disparity" (larger = nearer) or "depth" (larger = farther).
        keep_aspect: keep the image's aspect ratio when resizing for the network.
        providers: onnxruntime execution providers; default CUDA when available, then CPU.

    Raises:
        Photo3DError: missing or unloadable file, bad options.
    """

    def __init__(self, path: str | Path, *, input_size: int = 518, multiple: int = 14,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 output: str = "disparity", keep_aspect: bool = True,
                 providers: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        if output not in OUTPUT_KINDS:
            raise Photo3DError(f"{self.path}: ONNX output must be one of {OUTPUT_KINDS}, got {output!r}")
        if input_size < 1 or multiple < 1:
            raise Photo3DError(f"{self.path}: input_size and multiple must be positive")
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise Photo3DError(f"{self.path}: mean and std need 3 values each, std positive")
        if not self.path.is_file():
            raise Photo3DError(f"{self.path}: ONNX model file not found")
        self.input_size = int(input_size)
        self.multiple = int(multiple)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
        self.output = output
        self.keep_aspect = bool(keep_aspect)

        import onnxruntime as ort

        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            self.session = ort.InferenceSession(str(self.path), providers=list(providers))
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise Photo3DError(f"{self.path}: cannot load ONNX model ({exc.__class__.__name__}: {exc})") from None
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        shape = list(model_input.shape)
        if len(shape) != 4:
            raise Photo3DError(f"{self.path}: ONNX model input must be 4-D NCHW, declared {shape}")
        # A model exported with a fixed size must get exactly that size.
        self.fixed_size = (shape[2], shape[3]) if all(isinstance(s, int) for s in shape[2:]) else None

    @property
    def kind(self) -> str:
        """"disparity" or "depth": what :meth:`estimate` returns."""
        return self.output

    @property
    def name(self) -> str:
        return f"onnx:{self.path.name}"

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (1, 3, h, w) float32 normalised network input."""
        check_rgb_image(image, self.name)
        height, width = image.shape[:2]
        if self.fixed_size is not None:
            h, w = self.fixed_size
        else:
            h, w = network_size(height, width, self.input_size, self.multiple, self.keep_aspect)
        resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_CUBIC) if (h, w) != (height, width) else image
        x = resized.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        return np.ascontiguousarray((x - self.mean) / self.std, dtype=np.float32)

    def estimate(self, image: np.ndarray) -> np.ndarray:
        """Depth or disparity (see :attr:`kind`) of an RGB image.

        Args:
            image: (H, W, 3) uint8 RGB.
        Returns:
            (H, W) float32, resized back to the image bilinearly.
        """
        x = self.preprocess(image)
        try:
            raw = self.session.run(None, {self.input_name: x})[0]
        except Exception as exc:
            raise Photo3DError(f"{self.path}: ONNX model failed on a {x.shape} input "
                               f"({exc.__class__.__name__}: {exc})") from None
        prediction = np.asarray(raw, dtype=np.float32)
        while prediction.ndim > 2 and prediction.shape[0] == 1:
            prediction = prediction[0]
        if prediction.ndim != 2:
            raise Photo3DError(f"{self.path}: ONNX output must be (1, H, W) or (1, 1, H, W), got {raw.shape}")
        height, width = image.shape[:2]
        if prediction.shape != (height, width):
            prediction = cv2.resize(prediction, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(prediction, dtype=np.float32)
