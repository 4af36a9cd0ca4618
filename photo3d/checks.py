"""One checker per concept, used at every boundary (the API, the CLI, the config, the stages).

Each raises :class:`photo3d.errors.Photo3DError` with one line that starts with ``what``
(a file name, an argument or a config key), so the message says where the problem is.
"""
from __future__ import annotations

import math
import os
import re
import reprlib
from typing import Any, Sequence

import numpy as np

from .errors import Photo3DError

MAX_ECHO_CHARS = 100  # an echoed value is cut to about this many characters
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 8, 8, 8
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = MAX_ECHO_CHARS


def short(value: Any, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for echoing user values in messages.

    Nested containers are abbreviated while the text is built (:mod:`reprlib`), so a huge
    (or YAML-alias-expanded) value never becomes one huge string first.
    """
    if isinstance(value, np.ndarray) and value.size > 16:
        return f"<{value.dtype} array of shape {value.shape}>"
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_list(items: Sequence[Any], limit: int = MAX_ECHO_CHARS) -> str:
    """Items joined by ", " (as ``str``), cut to about ``limit`` characters."""
    text = ", ".join(str(v)[:limit] for v in list(items)[:limit])
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        raise Photo3DError(f"{source}: {name} must be a finite number{' ' + bounds if bounds else ''}, got {short(value)}")
    return float(value)


def check_int_range(value: Any, name: str, source: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer in [low, high]."""
    if not is_int(value) or (low is not None and int(value) < low) or (high is not None and int(value) > high):
        bounds = _bounds_text(low, high, False)
        raise Photo3DError(f"{source}: {name} must be an integer{' ' + bounds if bounds else ''}, got {short(value)}")
    return int(value)


def check_choice(value: Any, name: str, source: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise Photo3DError(f"{source}: {name} must be one of {', '.join(map(repr, choices))}, got {short(value)}")
    return str(value)


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(value: Any, name: str, source: str) -> str:
    """A torch device name: auto, cpu, mps, cuda or cuda:N."""
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise Photo3DError(f"{source}: {name} must be auto, cpu, cuda or cuda:N, got {short(value)}")
    return value


def crop_fractions(crop: Any) -> tuple[float, float, float, float]:
    """A border crop, one number or [top, left, bottom, right], as four fractions (checked)."""
    if is_number(crop):
        fractions = (float(crop),) * 4
    elif isinstance(crop, (list, tuple)) and len(crop) == 4 and all(is_number(v) for v in crop):
        fractions = tuple(float(v) for v in crop)
    else:
        raise Photo3DError(f"crop_border must be one number or four [top, left, bottom, right], got {short(crop)}")
    return check_crop(fractions)


def check_crop(crop: Sequence[float]) -> tuple[float, float, float, float]:
    """Four fractions (top, left, bottom, right), each in [0, 0.5), that leave part of the frame."""
    top, left, bottom, right = (float(v) for v in crop)
    if (not all(math.isfinite(v) and 0.0 <= v < 0.5 for v in (top, left, bottom, right))
            or top + bottom >= 1.0 or left + right >= 1.0):
        raise Photo3DError(f"crop_border fractions must be in [0, 0.5), got {short(list(crop))}")
    return top, left, bottom, right


MAX_NAME_BYTES = 150  # output names; file names (<name>_<path>.mp4 and temporary names) stay below 255


def check_output_name(name: Any, what: str, *, limit: int = MAX_NAME_BYTES) -> str:
    """One safe path component: no separators, not '.', '..' or empty, no leading dot, no
    control characters, at most ``limit`` bytes (UTF-8) so that every file made from it has
    a valid name."""
    ok = (isinstance(name, str) and bool(name) and name not in (".", "..") and "/" not in name
          and "\\" not in name and not name.startswith(".") and name.isprintable())
    if not ok:
        raise Photo3DError(f"{what}: must be a plain file name (no folders, not starting with '.'), got {short(name)}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise Photo3DError(f"{what}: not a valid file name (unencodable characters), got {short(name)}") from None
    if size > limit:
        raise Photo3DError(f"{what}: name is {size} bytes long, at most {limit}")
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


def as_depth_map(depth: Any, what: str) -> np.ndarray:
    """An API depth map as (H, W) float32 (NaN/inf kept: they are holes the pipeline fills)."""
    try:
        values = np.asarray(depth)
    except Exception:
        values = None
    if values is None or values.dtype.kind not in "fiub":
        kind = values.dtype if values is not None else type(depth).__name__
        raise Photo3DError(f"{what}: expected an H x W numeric depth array, got {kind}")
    if values.ndim != 2 or min(values.shape) < 2:
        raise Photo3DError(f"{what}: expected an H x W depth array (at least 2x2), got shape {values.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(np.float32)


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
    if float(good.max()) - float(good.min()) <= 1e-12 * max(1.0, abs(float(good.max()))):
        raise Photo3DError(f"{source}: depth map is constant ({float(good.max()):g}); no 3D structure to show")
    if valid.mean() < 0.01:
        raise Photo3DError(f"{source}: depth map is almost entirely invalid ({valid.mean():.1%} valid)")
    return valid


MAX_POSE_CONDITION = 1e9  # condition number above which a pose is treated as singular
MAX_CAMERA_VALUE = 1e7  # |fx|, |fy|, |cx|, |cy| in pixels: beyond this a camera is nonsense


def check_pose(pose: Any, what: str = "pose") -> np.ndarray:
    """A finite, invertible 4x4 camera-to-world matrix, as float64."""
    try:
        pose = np.array(pose, dtype=np.float64)
    except (TypeError, ValueError):
        raise Photo3DError(f"{what}: expected a finite 4x4 camera-to-world matrix, got {short(pose)}") from None
    if pose.shape != (4, 4) or not np.isfinite(pose).all():
        raise Photo3DError(f"{what}: expected a finite 4x4 camera-to-world matrix, got shape {pose.shape}")
    if not np.allclose(pose[3], (0.0, 0.0, 0.0, 1.0), atol=1e-6) or not np.linalg.cond(pose[:3, :3]) < MAX_POSE_CONDITION:
        raise Photo3DError(f"{what}: not an invertible rigid transform (expected [[R, t], [0, 0, 0, 1]] "
                           "with an invertible R)")
    return pose


def check_intrinsics_values(fx: Any, fy: Any, cx: Any, cy: Any, what: str = "intrinsics") -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) in pixels: finite, focal lengths positive, all below MAX_CAMERA_VALUE."""
    values = (fx, fy, cx, cy)
    if not all(is_number(v) and math.isfinite(float(v)) for v in values):
        raise Photo3DError(f"{what}: fx, fy, cx, cy must be finite numbers, got {short(values)}")
    if float(fx) <= 0 or float(fy) <= 0:
        raise Photo3DError(f"{what}: focal lengths must be positive, got fx={short(fx)}, fy={short(fy)}")
    if max(abs(float(v)) for v in values) > MAX_CAMERA_VALUE:
        raise Photo3DError(f"{what}: fx, fy, cx, cy must be at most {MAX_CAMERA_VALUE:g} pixels, got {short(values)}")
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


def check_size_pair(size: Any, what: str, *, even: bool = False) -> tuple[int, int]:
    """A (width, height) pair of positive integers (see :func:`check_size`)."""
    if isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 2:
        raise Photo3DError(f"{what}: size must be (width, height), got {short(size)}")
    return check_size(size[0], size[1], what, even=even)


# -- memory bounds ------------------------------------------------------------------------
# Peak bytes per canvas pixel of building a scene (prepare to mesh, PLY write included):
# README "Speed and memory" measures 6.31 GB for a 3840x2560 photo (+ its 60 px border),
# about 620 B/px; rounded up.
BYTES_PER_SCENE_PIXEL = 800
# Largest image side any stage accepts (OpenCV's resize and remap take sides below 2**15).
MAX_SIDE = 32767
# Largest side of a render target: GL_MAX_TEXTURE_SIZE of Mesa's llvmpipe, the smallest of
# the renderers photo3d runs on (the renderer also asks its GL context).
MAX_RENDER_SIDE = 16384
_FALLBACK_MEMORY = 8 << 30


def memory_bytes() -> int:
    """This machine's physical memory in bytes (8 GiB where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return _FALLBACK_MEMORY


def max_scene_pixels() -> int:
    """Canvas pixels (image + border) whose scene fits in this machine's memory."""
    return max(1, memory_bytes() // BYTES_PER_SCENE_PIXEL)


def max_scene_side() -> int:
    """Upper bound of any size-like setting in pixels (a side, a border width): the side of
    the largest square canvas that fits in memory, and never above :data:`MAX_SIDE`."""
    return min(MAX_SIDE, int(math.isqrt(max_scene_pixels())))


def check_memory(pixels: int, bytes_per_pixel: int, what: str) -> None:
    """Refuse, before allocating, work on ``pixels`` pixels of ``bytes_per_pixel`` bytes each
    that would need more than this machine's physical memory."""
    need, have = int(pixels) * int(bytes_per_pixel), memory_bytes()
    if need > have:
        raise Photo3DError(f"{what}: needs about {need / 2**30:.1f} GiB, more than this machine's "
                           f"{have / 2**30:.1f} GiB of memory; use a smaller size")


def check_finite(values: np.ndarray, what: str, problem: str) -> np.ndarray:
    """``values`` unchanged when every entry is finite; else one-line error ``what: problem``.

    The one finite-check of a stage boundary: a non-finite result (an overflow from extreme
    input values, a degenerate camera) is reported naming the input, never written.
    """
    if not np.isfinite(values).all():
        raise Photo3DError(f"{what}: {problem} (values overflow to NaN or inf)")
    return values
