"""One checker per concept, used at every boundary (the API, the CLI, the config, the stages).

Each raises :class:`photo3d.errors.Photo3DError` with one line that starts with ``what``
(a file name, an argument or a config key), so the message says where the problem is.
"""
from __future__ import annotations

import math
import re
from typing import Any, Sequence

import numpy as np

from .errors import Photo3DError


def is_number(value: Any) -> bool:
    """A real number (int or float, not bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def is_int(value: Any) -> bool:
    """A number with an integer value (3 or 3.0)."""
    return is_number(value) and math.isfinite(float(value)) and float(value).is_integer()


def _bounds_text(low, high, low_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    return " and ".join(parts)


def check_float_range(value: Any, name: str, source: str, *, low: float | None = None, high: float | None = None,
                      low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] with ``low_open``)."""
    ok = is_number(value) and math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        bounds = _bounds_text(low, high, low_open)
        raise Photo3DError(f"{source}: {name} must be a finite number{' ' + bounds if bounds else ''}, got {value!r}")
    return float(value)


def check_int_range(value: Any, name: str, source: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in [low, high]."""
    if not is_int(value) or (low is not None and int(value) < low) or (high is not None and int(value) > high):
        bounds = _bounds_text(low, high, False)
        raise Photo3DError(f"{source}: {name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}")
    return int(value)


def check_choice(value: Any, name: str, source: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise Photo3DError(f"{source}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(value: Any, name: str, source: str) -> str:
    """A torch device name: auto, cpu, mps, cuda or cuda:N."""
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise Photo3DError(f"{source}: {name} must be auto, cpu, cuda or cuda:N, got {value!r}")
    return value


def crop_fractions(crop: Any) -> tuple[float, float, float, float]:
    """A border crop, one number or [top, left, bottom, right], as four fractions (checked)."""
    if is_number(crop):
        fractions = (float(crop),) * 4
    elif isinstance(crop, (list, tuple)) and len(crop) == 4 and all(is_number(v) for v in crop):
        fractions = tuple(float(v) for v in crop)
    else:
        raise Photo3DError(f"crop_border must be one number or four [top, left, bottom, right], got {crop!r}")
    return check_crop(fractions)


def check_crop(crop: Sequence[float]) -> tuple[float, float, float, float]:
    """Four fractions (top, left, bottom, right), each in [0, 0.5), that leave part of the frame."""
    top, left, bottom, right = (float(v) for v in crop)
    if (not all(math.isfinite(v) and 0.0 <= v < 0.5 for v in (top, left, bottom, right))
            or top + bottom >= 1.0 or left + right >= 1.0):
        raise Photo3DError(f"crop_border fractions must be in [0, 0.5), got {list(crop)!r}")
    return top, left, bottom, right


def check_output_name(name: Any, what: str) -> str:
    """One safe path component: no separators, not '.', '..' or empty, no leading dot."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\0" in name or name.startswith(".")):
        raise Photo3DError(f"{what}: must be a plain file name (no folders, not starting with '.'), got {name!r}")
    return name


def check_rgb_image(image: Any, what: str, *, uint8: bool = True) -> tuple[int, int]:
    """(H, W) of a non-empty (H, W, 3) RGB array (uint8 unless ``uint8=False``)."""
    ok = (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
          and (image.dtype == np.uint8 or not uint8))
    if not ok:
        desc = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                else type(image).__name__)
        raise Photo3DError(f"{what}: expected an H x W x 3 {'uint8 ' if uint8 else ''}RGB image, got {desc}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise Photo3DError(f"{what}: image size {image.shape[1]}x{image.shape[0]} is empty")
    return int(image.shape[0]), int(image.shape[1])


def as_rgb_image(image: Any, what: str) -> np.ndarray:
    """An API image as contiguous (H, W, 3) uint8: greyscale is repeated, alpha dropped."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    check_rgb_image(image, what)
    return np.ascontiguousarray(image)


def depth_valid_mask(values: np.ndarray, kind: str, source: str) -> np.ndarray:
    """The valid entries of a raw depth/disparity map, after checking it can be used.

    Invalid: NaN/inf, and zero depth (for ``kind="depth"``). Raises for empty, not 2-D,
    all-invalid, almost-all-invalid and constant maps, and for negative depth.
    """
    if values.ndim != 2 or values.size == 0:
        raise Photo3DError(f"{source}: depth map is empty or not 2-D (shape {values.shape})")
    finite = np.isfinite(values)
    if not finite.any():
        raise Photo3DError(f"{source}: depth map has no finite values (all NaN/inf)")
    if kind == "depth":
        if (values[finite] < 0).any():
            raise Photo3DError(f"{source}: depth map has negative values (is it disparity rather than depth?)")
        valid = finite & (values > 0)  # zero depth = hole
        if not valid.any():
            raise Photo3DError(f"{source}: depth map is all zero")
    else:
        valid = finite
    good = values[valid]
    if float(good.max() - good.min()) <= 1e-12 * max(1.0, abs(float(good.max()))):
        raise Photo3DError(f"{source}: depth map is constant ({float(good.max()):g}); no 3D structure to show")
    if valid.mean() < 0.01:
        raise Photo3DError(f"{source}: depth map is almost entirely invalid ({valid.mean():.1%} valid)")
    return valid


def check_pose(pose: Any, what: str = "pose") -> np.ndarray:
    """A finite 4x4 camera-to-world matrix, as float64."""
    pose = np.asarray(pose, dtype=np.float64) if not isinstance(pose, np.ndarray) else pose.astype(np.float64)
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise Photo3DError(f"{what}: expected a finite 4x4 camera-to-world matrix, got shape {pose.shape}")
    return pose


def check_intrinsics_values(fx: Any, fy: Any, cx: Any, cy: Any, what: str = "intrinsics") -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) in pixels: finite, focal lengths positive."""
    values = (fx, fy, cx, cy)
    if not all(is_number(v) and math.isfinite(float(v)) for v in values):
        raise Photo3DError(f"{what}: fx, fy, cx, cy must be finite numbers, got {values!r}")
    if float(fx) <= 0 or float(fy) <= 0:
        raise Photo3DError(f"{what}: focal lengths must be positive, got fx={fx}, fy={fy}")
    return float(fx), float(fy), float(cx), float(cy)


def check_aspect(aspect: Any, what: str = "aspect") -> float:
    """An aspect ratio, "W:H" (e.g. "9:16") or a positive number, as width / height."""
    value = float("nan")
    if isinstance(aspect, str) and ":" in aspect:
        w, _, h = aspect.partition(":")
        try:
            value = float(w) / float(h)
        except (ValueError, ZeroDivisionError):
            pass
    elif is_number(aspect) or isinstance(aspect, str):
        try:
            value = float(aspect)
        except ValueError:
            pass
    if not math.isfinite(value) or value <= 0:
        raise Photo3DError(f"{what}: expected W:H (e.g. 16:9) or a positive number, got {aspect!r}")
    return value


def check_size(width: Any, height: Any, what: str, *, even: bool = False) -> tuple[int, int]:
    """A positive integer (width, height) (both even when ``even``, as video encoders need)."""
    ok = is_int(width) and is_int(height) and int(width) >= 1 and int(height) >= 1
    if ok and even:
        ok = int(width) % 2 == 0 and int(height) % 2 == 0 and int(width) >= 2 and int(height) >= 2
    if not ok:
        rule = "even and >= 2" if even else "positive integers"
        raise Photo3DError(f"{what}: size must be {rule}, got {width}x{height}")
    return int(width), int(height)
