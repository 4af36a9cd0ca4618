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

Beyond the reference's four, five presets (``PRESET_NAMES``): ``horizontal`` and
``vertical`` (a sine sway), ``orbit`` (a circle around the input camera, always aiming at
the centre of the photo), ``dolly-out`` (moving back while zooming in, so the centre keeps
its size) and ``ken-burns`` (moving toward a point of the photo, which keeps its place in
the frame while the rest grows around it). A motion is a sum of such components, each with
an amplitude and a phase (:class:`MotionComponent`, :func:`motion_frames`): centres and
angles add, focal scales multiply.

Timing. A path is sampled at ``loops`` cycles over its frames. Periodic paths (``circle``,
``swing``, ``horizontal``, ``vertical``, ``orbit``) exclude the end point, so the frame after
the last is the first: the video loops seamlessly. Straight paths play ``loops`` passes,
there and back alternately (an even count loops seamlessly).

Output framing (:func:`output_intrinsics`): the border crop (the reference's), then the
largest centred window of the asked aspect ratio, then a uniform scale to the asked size;
never a squash.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from .checks import check_crop
from .core.data import Intrinsics
from .errors import Photo3DError

PATH_NAMES = ("circle", "swing", "zoom-in", "dolly-zoom-in")
PRESET_NAMES = ("horizontal", "vertical", "orbit", "dolly-out", "ken-burns")
ALL_PATH_NAMES = PATH_NAMES + PRESET_NAMES
PERIODIC_PATHS = ("circle", "swing", "horizontal", "vertical", "orbit")

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
        raise Photo3DError(f"unknown camera path {name!r}; valid paths: {', '.join(ALL_PATH_NAMES)}")
    return DEFAULT_PATHS[name]


def frame_positions(num_frames: int, loops: float = 1.0, periodic: bool = True) -> np.ndarray:
    """Where each frame sits on a path, in cycles: (num_frames,) float64 from 0 to ``loops``.

    Periodic paths leave out the end point (the next frame would be the first one again);
    straight paths keep it for an odd number of passes (the reference's single pass ends on
    its last position) and leave it out for an even number (back at the start: a loop).
    """
    loops = float(loops)
    if periodic:
        return loops * np.arange(num_frames, dtype=np.float64) / num_frames
    endpoint = int(round(loops)) % 2 == 1 or not float(loops).is_integer()
    return np.linspace(0.0, loops, num_frames, endpoint=endpoint) if num_frames > 1 else np.zeros(1)


def bounce(u: np.ndarray) -> np.ndarray:
    """Passes there and back: 0 -> 1 on [0, 1], 1 -> 0 on [1, 2], and so on (a triangle wave)."""
    m = np.mod(u, 2.0)
    # keep the end of an odd pass (u = 1, 3, ...) at 1 rather than wrapping it to 0
    return np.where(m <= 1.0, m, 2.0 - m)


def reference_shifts(trajectory: str, num_frames: int, x: float, y: float, z: float,
                     positions: np.ndarray | None = None) -> np.ndarray:
    """The reference's per-frame shifts (its ``path_planning``), reference signs.

    Args:
        positions: (N,) where each frame sits, in cycles (default: the reference's single
            pass, :func:`frame_positions` with one loop).
    Returns:
        (num_frames, 3) float64 shifts s; the camera centre is at -s.
    """
    r = np.array([x, y, z], dtype=np.float64)[None, :]
    if trajectory in ("double-straight-line", "straight-line"):
        u = frame_positions(num_frames, 1.0, periodic=False) if positions is None else bounce(positions)
        t = u[:, None]
        if trajectory == "double-straight-line":
            # The reference fits a quadratic through -r, 0, +r at t = 0, 0.5, 1; through
            # three equally spaced collinear points that quadratic is the straight line.
            return -r + 2.0 * r * t
        # The reference's single straight line: from no shift to the full range.
        return t * r
    if trajectory == "circle":
        u = frame_positions(num_frames, 1.0) if positions is None else positions
        # Two turns in x/y while z goes -z -> +z -> -z (phase in [-2, 2), step 4/N).
        phase = -2.0 + 4.0 * u
        return np.stack(
            [np.cos(np.pi * phase) * x, np.sin(np.pi * phase) * y, np.cos(np.pi * phase / 2.0) * z],
            axis=1,
        )
    raise Photo3DError(f"unknown trajectory type {trajectory!r}; valid: circle, double-straight-line, straight-line")


@dataclass(frozen=True)
class MotionComponent:
    """One term of a camera motion (a motion is the sum of its components).

    path: one of ``ALL_PATH_NAMES`` (the reference's four and the presets).
    amplitude: multiplies the path's range (its translations).
    phase: a shift along the path in cycles (0.25 = a quarter turn later).
    target: ken-burns only: the point moved toward, (x, y) as fractions of the image's
        width and height ((0.5, 0.5) = the centre).
    spec: a reference-style path of one's own (``traj_types`` keys) instead of the named one.
    """

    path: str
    amplitude: float = 1.0
    phase: float = 0.0
    target: tuple[float, float] = (0.5, 0.5)
    spec: PathSpec | None = None

    @property
    def periodic(self) -> bool:
        """Whether the path comes back to its start after one cycle."""
        if self.spec is not None:
            return self.spec.trajectory == "circle"
        return self.path in PERIODIC_PATHS


# The presets' ranges, in the reference's normalised depth units (like its 0.015 / 0.05).
SWAY_RANGE = 0.02  # horizontal, vertical: peak sideways shift
ORBIT_RADIUS = 0.015  # orbit: radius of the circle around the input camera
DOLLY_OUT_RANGE = 0.1  # dolly-out: distance moved back
KEN_BURNS_RANGE = 0.1  # ken-burns: distance moved forward (z) toward the target point


def _look_at_angles(centers: np.ndarray, pivot_depth: float) -> np.ndarray:
    """(N, 2) yaw, pitch (radians) that aim cameras at ``centers`` (N, 3) at the point (0, 0, pivot_depth).

    With R = R_y(yaw) R_x(pitch) the camera's +z axis points from the centre to the pivot.
    """
    d = pivot_depth - centers[:, 2]
    yaw = np.arctan2(-centers[:, 0], d)
    pitch = np.arctan2(centers[:, 1] * np.cos(yaw), d)
    return np.stack([yaw, pitch], axis=1)


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """(3, 3) R_y(yaw) @ R_x(pitch); the identity for zero angles (exactly)."""
    if yaw == 0.0 and pitch == 0.0:
        return np.eye(3)
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    r_y = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    r_x = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    return r_y @ r_x


def _need_depth(name: str, center_depth: float | None) -> float:
    if center_depth is None or not np.isfinite(center_depth) or center_depth <= 0:
        raise Photo3DError(f"camera path {name!r} needs a positive center_depth, got {center_depth}")
    return float(center_depth)


def _dolly_scales(name: str, centers: np.ndarray, center_depth: float | None) -> np.ndarray:
    """Focal scales keeping the plane at ``center_depth`` at a constant image size."""
    depth = _need_depth(name, center_depth)
    distance = depth - centers[:, 2]
    if np.any(distance <= 0):
        raise Photo3DError(f"camera path {name!r}: the camera passes the centre depth {depth}; reduce the z range")
    # The centre plane's image size goes as f / distance: keep it at f / center_depth.
    return distance / depth


def _component_terms(c: MotionComponent, u: np.ndarray, center_depth: float | None, shift_scale: float,
                     intrinsics: Intrinsics | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres (N, 3), angles (N, 2), focal scales (N,)) of one component at positions ``u``."""
    n = len(u)
    a = float(c.amplitude)
    u = u + float(c.phase)
    angles = np.zeros((n, 2))
    focal = np.ones(n)
    if c.spec is not None or c.path in DEFAULT_PATHS:
        spec = c.spec or DEFAULT_PATHS[c.path]
        # + 0.0 turns the -0.0 of negated zero shifts into 0.0.
        centers = -reference_shifts(spec.trajectory, n, spec.x * a, spec.y * a, spec.z * a, positions=u) * shift_scale + 0.0
        if spec.dolly:
            focal = _dolly_scales(c.path, centers, center_depth)
        return centers, angles, focal
    centers = np.zeros((n, 3))
    if c.path in ("horizontal", "vertical"):
        centers[:, 0 if c.path == "horizontal" else 1] = SWAY_RANGE * a * shift_scale * np.sin(2 * np.pi * u)
    elif c.path == "orbit":
        r = ORBIT_RADIUS * a * shift_scale
        centers[:, 0], centers[:, 1] = r * np.sin(2 * np.pi * u), -r * np.cos(2 * np.pi * u)
        angles = _look_at_angles(centers, _need_depth(c.path, center_depth))
    elif c.path == "dolly-out":
        centers[:, 2] = -DOLLY_OUT_RANGE * a * shift_scale * bounce(u)
        focal = _dolly_scales(c.path, centers, center_depth)
    elif c.path == "ken-burns":
        depth = _need_depth(c.path, center_depth)
        tx, ty = (float(v) for v in c.target)
        k = intrinsics or Intrinsics.default(1000, 1000)
        # the target pixel's ray: moving along it keeps the target at its pixel
        point = k.unproject(np.float64(tx * k.width - 0.5), np.float64(ty * k.height - 0.5), np.float64(depth))
        direction = np.asarray(point) / float(point[2])  # unit forward step along the target's ray
        centers = KEN_BURNS_RANGE * a * shift_scale * bounce(u)[:, None] * direction[None, :]
    else:
        _check_path_name(c.path)
    return centers, angles, focal


def motion_frames(
    components: list[MotionComponent],
    num_frames: int = DEFAULT_NUM_FRAMES,
    *,
    center_depth: float | None = None,
    shift_scale: float = 1.0,
    loops: float = 1.0,
    intrinsics: Intrinsics | None = None,
    name: str = "motion",
) -> list[CameraFrame]:
    """Camera frames of a sum of motions: centres and angles add, focal scales multiply.

    Args:
        components: the terms (at least one).
        num_frames: frames of the whole video.
        center_depth: depth of the image centre (needed by dolly paths, orbit, ken-burns).
        shift_scale: multiplies every translation (scene depth units per reference unit).
        loops: cycles over the video (see the module docs: periodic motions loop seamlessly).
        intrinsics: the photo's camera (ken-burns aims at a pixel of it).
    """
    if int(num_frames) != num_frames or num_frames < 1:
        raise Photo3DError(f"camera path {name!r}: num_frames must be a positive integer, got {num_frames}")
    if not np.isfinite(shift_scale) or shift_scale < 0:
        raise Photo3DError(f"camera path {name!r}: shift_scale must be finite and >= 0, got {shift_scale}")
    if not np.isfinite(loops) or loops <= 0:
        raise Photo3DError(f"camera path {name!r}: loops must be > 0, got {loops}")
    if not components:
        raise Photo3DError(f"camera path {name!r}: a motion needs at least one component")
    periodic = all(c.periodic for c in components)
    u = frame_positions(int(num_frames), loops, periodic)
    centers = np.zeros((len(u), 3))
    angles = np.zeros((len(u), 2))
    focal = np.ones(len(u))
    for c in components:
        dc, da, df = _component_terms(c, u, center_depth, float(shift_scale), intrinsics)
        centers, angles, focal = centers + dc, angles + da, focal * df
    frames = []
    for center, (yaw, pitch), focal_scale in zip(centers, angles, focal):
        pose = np.eye(4)
        pose[:3, :3] = _rotation(float(yaw), float(pitch))
        pose[:3, 3] = center
        frames.append(CameraFrame(pose=pose, focal_scale=float(focal_scale)))
    return frames


def camera_path(
    name: str,
    num_frames: int = DEFAULT_NUM_FRAMES,
    *,
    center_depth: float | None = None,
    shift_scale: float = 1.0,
    ranges: dict | None = None,
    spec: PathSpec | None = None,
    motion: float = 1.0,
    loops: float = 1.0,
    intrinsics: Intrinsics | None = None,
) -> list[CameraFrame]:
    """Camera frames of one named video path (the reference's or a preset).

    Args:
        name: one of ``ALL_PATH_NAMES``.
        num_frames: number of frames (reference: 240).
        center_depth: depth of the image centre (the reference's ``mean_loc_depth``),
            in the scene's units; required for the dolly paths, orbit and ken-burns.
        shift_scale: multiplies every translation, for scenes whose depth units differ
            from the reference's normalised depth (1 = reference units).
        ranges: optional overrides ``{"x": .., "y": .., "z": ..}`` of a reference path's
            shift ranges, in the reference's sign convention (negative z = forward).
        spec: a path of one's own (e.g. from the reference's ``traj_types`` keys) instead of
            the named default; ``name`` then only names it.
        motion: multiplies the path's range (1 = as defined).
        loops: cycles over the frames (see the module docs).
        intrinsics: the photo's camera (ken-burns aims at a pixel of it).

    Returns:
        ``num_frames`` CameraFrames.
    """
    if spec is None and name not in ALL_PATH_NAMES:
        _check_path_name(name)
    if ranges:
        unknown = set(ranges) - {"x", "y", "z"}
        if unknown:
            raise Photo3DError(f"camera path {name!r}: unknown range keys {sorted(unknown)}; use x, y, z")
        if spec is None and name not in DEFAULT_PATHS:
            raise Photo3DError(f"camera path {name!r}: ranges apply to the reference paths only")
        spec = replace(spec or DEFAULT_PATHS[name], **{k: float(v) for k, v in ranges.items()})
    component = MotionComponent(name, amplitude=float(motion), spec=spec)
    return motion_frames([component], num_frames, center_depth=center_depth, shift_scale=shift_scale,
                         loops=loops, intrinsics=intrinsics, name=name)


def path_poses(
    name: str | list[MotionComponent],
    num_frames: int = DEFAULT_NUM_FRAMES,
    *,
    center_depth: float | None = None,
    shift_scale: float = 1.0,
    motion: float = 1.0,
    loops: float = 1.0,
    intrinsics: Intrinsics | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Any named path (or a list of :class:`MotionComponent`) as plain arrays, for the API.

    Returns:
        poses: (N, 4, 4) float64 camera-to-world matrices;
        focal_scales: (N,) float64 factors on the focal length per frame (1 except dolly paths).
    """
    if isinstance(name, str):
        frames = camera_path(name, num_frames, center_depth=center_depth, shift_scale=shift_scale,
                             motion=motion, loops=loops, intrinsics=intrinsics)
    else:
        scaled = [replace(c, amplitude=c.amplitude * float(motion)) for c in name]
        frames = motion_frames(scaled, num_frames, center_depth=center_depth, shift_scale=shift_scale,
                               loops=loops, intrinsics=intrinsics)
    return np.stack([f.pose for f in frames]), np.array([f.focal_scale for f in frames])


def stereo_poses(pose: np.ndarray, eye_separation: float) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) eye poses: ``pose`` moved by -/+ half the separation along its own x axis."""
    offset = np.eye(4)
    offset[0, 3] = 0.5 * float(eye_separation)
    return pose @ np.linalg.inv(offset), pose @ offset


def motion_extent(paths: dict[str, list[CameraFrame]] | list[list[CameraFrame]]) -> tuple[float, float, float]:
    """(largest sideways shift, largest shift along the axis, largest focal scale) of the
    camera centres of ``paths`` (name -> frames, or lists of frames): what bounds the parallax
    the renderer and the web viewer have to show (see ``render.simplify.disparity_tolerance``)."""
    runs = list(paths.values()) if isinstance(paths, dict) else list(paths)
    frames = [f for run in runs for f in run]
    if not frames:
        return 0.0, 0.0, 1.0
    centres = np.array([f.center for f in frames], np.float64)
    return (float(np.hypot(centres[:, 0], centres[:, 1]).max()), float(np.abs(centres[:, 2]).max()),
            float(max(f.focal_scale for f in frames)))


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


def frame_window(intrinsics: Intrinsics, size: tuple[int, int] | None = None,
                 aspect: float | None = None) -> Intrinsics:
    """The camera of an output of ``size`` (or ``aspect``) cut from ``intrinsics``' image.

    The largest centred window of the output's aspect ratio is scaled uniformly to the
    output size: the picture is cropped, never squashed. Without ``size`` the window keeps
    its native pixels (sides rounded down to even numbers); without either, nothing changes.
    """
    w0, h0 = intrinsics.width, intrinsics.height
    if size is None and aspect is None:
        return intrinsics
    ratio = size[0] / size[1] if size is not None else float(aspect)
    win_w = min(float(w0), h0 * ratio)
    if size is None:
        width = max(2, int(win_w) - int(win_w) % 2)
        height = max(2, int(win_w / ratio) - int(win_w / ratio) % 2)
    else:
        width, height = int(size[0]), int(size[1])
    scale = width / win_w
    win_h = height / scale
    ox, oy = 0.5 * (w0 - win_w), 0.5 * (h0 - win_h)
    return Intrinsics(intrinsics.fx * scale, intrinsics.fy * scale, (intrinsics.cx - ox + 0.5) * scale - 0.5,
                      (intrinsics.cy - oy + 0.5) * scale - 0.5, width, height)


def even_size(intrinsics: Intrinsics) -> Intrinsics:
    """Drop the last column/row where the size is odd (H.264 yuv420p needs even sizes), as the reference."""
    return replace(intrinsics, width=intrinsics.width - intrinsics.width % 2, height=intrinsics.height - intrinsics.height % 2)
