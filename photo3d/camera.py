"""Camera paths for the rendered videos, per-frame intrinsics and border crops.

The four default paths are those of the reference implementation (Shih et al.,
``argument.yml``): ``circle``, ``swing``, ``zoom-in`` and ``dolly-zoom-in``, 240
frames at 40 fps, with shifts in the reference's normalised depth units (depth in
about [1/3, 20]).

Sign conventions. The reference plans "shifts" ``s = (sx, sy, sz)`` per frame and
renders each frame with the camera centre at ``-s`` in the mesh frame, whose axes
are ours (+x right, +y down, +z forward). Its ``z_shift_range`` is therefore
negative for a camera that moves *forward* (towards the scene). ``ranges`` below
take the reference's numbers unchanged (so ``argument.yml`` values can be passed
through); the returned poses are ordinary camera-to-world matrices with the
camera centre at ``-s * shift_scale``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .checks import check_crop
from .core.data import Intrinsics
from .errors import Photo3DError

PATH_NAMES = ("circle", "swing", "zoom-in", "dolly-zoom-in")

DEFAULT_NUM_FRAMES = 240


@dataclass(frozen=True)
class PathSpec:
    """One reference camera path.

    trajectory: ``"circle"`` or ``"double-straight-line"`` (reference ``traj_types``).
    x, y, z: the reference's shift ranges (``x/y/z_shift_range``), reference signs.
    dolly: keep the plane at the centre depth at a constant image size by changing
        the focal length (a dolly zoom).
    """

    trajectory: str
    x: float
    y: float
    z: float
    dolly: bool = False


DEFAULT_PATHS: dict[str, PathSpec] = {
    "circle": PathSpec("circle", -0.015, -0.015, -0.05),
    "swing": PathSpec("circle", -0.015, 0.0, -0.05),
    "zoom-in": PathSpec("double-straight-line", 0.0, 0.0, -0.05),
    "dolly-zoom-in": PathSpec("double-straight-line", 0.0, 0.0, -0.05, dolly=True),
}


@dataclass(frozen=True)
class CameraFrame:
    """One video frame's camera.

    pose: (4, 4) float64 camera-to-world matrix (world = the input camera's frame).
    focal_scale: factor applied to fx and fy (about the principal point) for this frame.
    """

    pose: np.ndarray
    focal_scale: float = 1.0

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates."""
        return self.pose[:3, 3]


def _check_path_name(name: str) -> PathSpec:
    if name not in DEFAULT_PATHS:
        raise Photo3DError(f"unknown camera path {name!r}; valid paths: {', '.join(PATH_NAMES)}")
    return DEFAULT_PATHS[name]


def reference_shifts(trajectory: str, num_frames: int, x: float, y: float, z: float) -> np.ndarray:
    """The reference's per-frame shifts (its ``path_planning``), reference signs.

    Returns:
        (num_frames, 3) float64 shifts s; the camera centre is at -s.
    """
    if trajectory == "double-straight-line":
        # The reference fits a quadratic through -r, 0, +r at t = 0, 0.5, 1; through
        # three equally spaced collinear points that quadratic is the straight line.
        t = np.linspace(0.0, 1.0, num_frames)[:, None]
        r = np.array([x, y, z], dtype=np.float64)[None, :]
        return -r + 2.0 * r * t
    if trajectory == "straight-line":
        # The reference's single straight line: from no shift to the full range.
        t = np.linspace(0.0, 1.0, num_frames)[:, None]
        return t * np.array([x, y, z], dtype=np.float64)[None, :]
    if trajectory == "circle":
        # Two turns in x/y while z goes -z -> +z -> -z (phase in [-2, 2), step 4/N).
        phase = -2.0 + 4.0 * np.arange(num_frames, dtype=np.float64) / num_frames
        return np.stack(
            [np.cos(np.pi * phase) * x, np.sin(np.pi * phase) * y, np.cos(np.pi * phase / 2.0) * z],
            axis=1,
        )
    raise Photo3DError(f"unknown trajectory type {trajectory!r}; valid: circle, double-straight-line, straight-line")


def camera_path(
    name: str,
    num_frames: int = DEFAULT_NUM_FRAMES,
    *,
    center_depth: float | None = None,
    shift_scale: float = 1.0,
    ranges: dict | None = None,
    spec: PathSpec | None = None,
) -> list[CameraFrame]:
    """Camera frames of one of the reference's video paths.

    Args:
        name: one of ``PATH_NAMES``.
        num_frames: number of frames (reference: 240).
        center_depth: depth of the image centre (the reference's ``mean_loc_depth``),
            in the scene's units; required for ``dolly-zoom-in``.
        shift_scale: multiplies every translation, for scenes whose depth units differ
            from the reference's normalised depth (1 = reference units).
        ranges: optional overrides ``{"x": .., "y": .., "z": ..}`` of the path's shift
            ranges, in the reference's sign convention (negative z = forward).
        spec: a path of one's own (e.g. from the reference's ``traj_types`` keys) instead
            of the named default; ``name`` then only names it.

    Returns:
        ``num_frames`` CameraFrames; the camera centre is ``-shift * shift_scale``.
    """
    spec = _check_path_name(name) if spec is None else spec
    if int(num_frames) != num_frames or num_frames < 1:
        raise Photo3DError(f"camera path {name!r}: num_frames must be a positive integer, got {num_frames}")
    if not np.isfinite(shift_scale) or shift_scale < 0:
        raise Photo3DError(f"camera path {name!r}: shift_scale must be finite and >= 0, got {shift_scale}")
    if ranges:
        unknown = set(ranges) - {"x", "y", "z"}
        if unknown:
            raise Photo3DError(f"camera path {name!r}: unknown range keys {sorted(unknown)}; use x, y, z")
        spec = replace(spec, **{k: float(v) for k, v in ranges.items()})
    # + 0.0 turns the -0.0 of negated zero shifts into 0.0.
    centers = -reference_shifts(spec.trajectory, int(num_frames), spec.x, spec.y, spec.z) * shift_scale + 0.0

    focal_scales = np.ones(len(centers))
    if spec.dolly:
        if center_depth is None or not np.isfinite(center_depth) or center_depth <= 0:
            raise Photo3DError(f"camera path {name!r} needs a positive center_depth, got {center_depth}")
        distance = center_depth - centers[:, 2]
        if np.any(distance <= 0):
            raise Photo3DError(
                f"camera path {name!r}: the camera passes the centre depth {center_depth}; reduce the z range"
            )
        # The centre plane's image size goes as f / distance: keep it at f / center_depth.
        focal_scales = distance / center_depth

    frames = []
    for center, focal_scale in zip(centers, focal_scales):
        pose = np.eye(4)
        pose[:3, 3] = center
        frames.append(CameraFrame(pose=pose, focal_scale=float(focal_scale)))
    return frames


def frame_intrinsics(intrinsics: Intrinsics, frame: CameraFrame) -> Intrinsics:
    """Intrinsics of ``frame``: focal lengths scaled by ``frame.focal_scale``, same centre and size."""
    s = frame.focal_scale
    return replace(intrinsics, fx=intrinsics.fx * s, fy=intrinsics.fy * s)


def _crop_pixels(width: int, height: int, crop: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixels cut at (top, left, bottom, right), truncated like the reference."""
    top, left, bottom, right = check_crop(crop)
    return int(height * top), int(width * left), int(height * bottom), int(width * right)


def crop_border(image: np.ndarray, crop: tuple[float, float, float, float]) -> np.ndarray:
    """Cut ``crop`` = (top, left, bottom, right) fractions off and resize back, as the reference.

    The reference truncates the pixel counts, crops and resizes back to the input size
    with bicubic interpolation (so the video keeps the image size).

    Args:
        image: (H, W, C) or (H, W) array.
    Returns:
        (H, W, C) or (H, W) array of the same dtype.
    """
    height, width = image.shape[:2]
    top, left, bottom, right = _crop_pixels(width, height, crop)
    if top == left == bottom == right == 0:
        return image
    cropped = image[top : height - bottom, left : width - right]
    return cv2.resize(cropped, (width, height), interpolation=cv2.INTER_CUBIC)


def crop_intrinsics(intrinsics: Intrinsics, crop: tuple[float, float, float, float]) -> Intrinsics:
    """Intrinsics that render directly what ``crop_border`` makes of a full render.

    Rendering with these gives the reference's framing without the bicubic upsampling
    (sharper, and no pixels are rendered only to be thrown away).
    """
    width, height = intrinsics.width, intrinsics.height
    top, left, bottom, right = _crop_pixels(width, height, crop)
    inner_w, inner_h = width - left - right, height - top - bottom
    cropped = intrinsics.shifted(-left, -top, inner_w, inner_h)
    scaled = cropped.scaled(width / inner_w, height / inner_h)
    return replace(scaled, width=width, height=height)


def even_size(intrinsics: Intrinsics) -> Intrinsics:
    """Drop the last column/row where the size is odd (H.264 yuv420p needs even sizes), as the reference."""
    return replace(intrinsics, width=intrinsics.width - intrinsics.width % 2, height=intrinsics.height - intrinsics.height % 2)
