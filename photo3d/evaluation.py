"""Novel-view accuracy on real multi-view photographs (Middlebury 2005/2006).

A Middlebury 2005/2006 scene has seven rectified views equally spaced along x and the
ground-truth disparity of view1 (``disp1``) and view5 (``disp5``), both measured between
view1 and view5. With ``d1`` that disparity in pixels, the camera of view k sits at
``t = (k - 1) / 4`` view1-view5 baselines along +x, and a point at column x of view1 is at
column ``x - t * d1`` of view k. So a 3D photo built from view1 + d1 (depth ``Z = f / d1``
in baselines, any focal f, principal point at the image centre) rendered at pose
``[I | (t, 0, 0)]`` can be compared with the photograph of view k pixel by pixel.

Which target pixels are scored (:func:`reference_geometry`). View1's ground-truth surface is
rasterised, row by row, into the target: every view1 pixel covers its own unit footprint
and two horizontal neighbours whose disparities differ by at most ``link_threshold`` px are
joined by a linear segment; the nearest surface (largest disparity) wins at each target
pixel. Then a target pixel is

* *seen*: covered, and the winning surface comes from view1 pixels with known disparity;
* *gap*: not covered, with view1 pixels landing both left and right of it in its row: it
  looks behind a depth edge (revealed background);
* *outside*: not covered and beyond the row's warped extent: outside view1's field of view;
* neither: covered only by surface of unknown (filled) disparity: excluded.

*Disoccluded* = gap pixels that the other ground truth confirms as real surface: for
targets right of view1 (t > 0) they must be covered by view5's known-disparity surface,
rasterised the same way (view5 pixel x5 lands at ``x5 + (1 - t) d5``). Left of view1
(t < 0) no ground truth sees the revealed regions (they are left of foreground objects,
which view5 sees even less of), so all gap pixels count. *Valid* (the "all" score) =
seen | disoccluded. The photograph is the colour ground truth everywhere.

Scores: PSNR over the masked pixels' RGB values (MSE pooled over the mask), and SSIM
(``skimage.metrics.structural_similarity``, 7x7 window, ``channel_axis``) computed on the
whole image and averaged over the mask. Empty fraction: target pixels the render leaves
uncovered (mask False), over the whole frame.

Baselines: :func:`plain_mesh` (view1's pixel grid, every neighbour linked, triangles
stretched across depth edges) and :func:`warp_inpaint` (z-buffered nearest-pixel splat of
view1 into the target, holes filled by ``cv2.inpaint``).

Units: disparities are pixels of the working (resized) image; shifts ``t`` are in
view1-view5 baselines; images are (H, W, 3) uint8 RGB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import Photo3DError
from .preprocess import fill_invalid, working_size
from .types import Intrinsics, Mesh

TARGET_VIEWS = (0, 2, 3, 4, 5, 6)


def view_shift(view: int) -> float:
    """Camera position of Middlebury view ``view`` in view1-view5 baselines along +x."""
    return (view - 1) / 4.0


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

@dataclass
class StereoScene:
    """One Middlebury 2005/2006 scene at working resolution.

    views: {k: (H, W, 3) uint8 RGB} for k = 0..6.
    disp1, disp5: (H, W) float32 ground-truth disparity (view1-view5) in working pixels, 0 = unknown.
    scale: working size / stored size.
    """

    name: str
    views: dict[int, np.ndarray]
    disp1: np.ndarray
    disp5: np.ndarray
    scale: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the working images."""
        h, w = self.disp1.shape
        return w, h


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise Photo3DError(f"{path}: missing or not an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _read_disparity(path: Path) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 2:
        raise Photo3DError(f"{path}: missing or not a single-channel disparity image")
    return raw.astype(np.float32) / 2.0  # stored value = 2 x disparity in px (half-size set)


def load_middlebury_scene(folder: str | Path, max_size: int | None = None) -> StereoScene:
    """Read ``view0..6.png``, ``disp1.png`` and ``disp5.png`` of one scene, shrunk so that
    the longer side is at most ``max_size`` (area interpolation for photos; centre-aligned
    nearest for disparities, scaled by the same factor, so unknown stays 0)."""
    folder = Path(folder)
    views0 = {k: _read_rgb(folder / f"view{k}.png") for k in range(7)}
    disp1 = _read_disparity(folder / "disp1.png")
    disp5 = _read_disparity(folder / "disp5.png")
    h0, w0 = disp1.shape
    for k, v in views0.items():
        if v.shape[:2] != (h0, w0):
            raise Photo3DError(f"{folder / f'view{k}.png'}: size {v.shape[1]}x{v.shape[0]} differs from disp1's {w0}x{h0}")
    if disp5.shape != (h0, w0):
        raise Photo3DError(f"{folder / 'disp5.png'}: size differs from disp1's {w0}x{h0}")
    longer = max(h0, w0) if max_size is None else min(int(max_size), max(h0, w0))
    w, h = working_size(w0, h0, longer)
    scale = w / w0
    if (w, h) != (w0, h0):
        views = {k: cv2.resize(v, (w, h), interpolation=cv2.INTER_AREA) for k, v in views0.items()}
        disp1 = cv2.resize(disp1, (w, h), interpolation=cv2.INTER_NEAREST_EXACT) * scale
        disp5 = cv2.resize(disp5, (w, h), interpolation=cv2.INTER_NEAREST_EXACT) * scale
    else:
        views = views0
    return StereoScene(folder.name, views, disp1.astype(np.float32), disp5.astype(np.float32), float(scale))


def fill_unknown_disparity(disparity: np.ndarray) -> np.ndarray:
    """Fill unknown (<= 0) disparities with the farther (smaller) of the nearest known
    values to the left and right in the same row: Middlebury's unknown pixels are mostly
    background half-occluded by a nearer object, so the background side is the better
    guess. Rows without any known value take the nearest known value. (H, W) -> (H, W)."""
    disparity = np.asarray(disparity, dtype=np.float32)
    known = disparity > 0
    if not known.any():
        raise Photo3DError("disparity: no known (positive) values to fill from")
    if known.all():
        return disparity.copy()
    h, w = disparity.shape
    cols = np.arange(w)[None, :]
    rows = np.arange(h)[:, None]
    left = np.maximum.accumulate(np.where(known, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(known, cols, w)[:, ::-1], axis=1)[:, ::-1]
    from_left = np.where(left >= 0, disparity[rows, np.clip(left, 0, w - 1)], np.inf)
    from_right = np.where(right < w, disparity[rows, np.clip(right, 0, w - 1)], np.inf)
    filled = np.where(known, disparity, np.minimum(from_left, from_right))
    finite = np.isfinite(filled)
    return fill_invalid(filled, finite).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Reference geometry: which target pixels are seen, revealed, outside
# ---------------------------------------------------------------------------------------

@dataclass
class SurfaceWarp:
    """A disparity map's surface rasterised into a horizontally displaced camera.

    disparity: (H, W) float32 disparity of the front-most surface, 0 where uncovered.
    covered: (H, W) bool.
    known: (H, W) bool, the front-most surface comes from known-disparity source pixels.
    inside: (H, W) bool, source pixels of the same row land both left and right of the pixel.
    """

    disparity: np.ndarray
    covered: np.ndarray
    known: np.ndarray
    inside: np.ndarray


def warp_surface(disparity: np.ndarray, known: np.ndarray, shift: float, link_threshold: float = 1.0) -> SurfaceWarp:
    """Rasterise the surface of ``disparity`` into the camera where column x lands at
    ``x - shift * disparity`` (rows are unchanged by a horizontal camera move).

    Each source pixel covers the target pixel its centre lands in; horizontal neighbours
    whose disparities differ by at most ``link_threshold`` px are joined by a segment with
    linearly interpolated disparity, which covers every target pixel centre between their
    landing points (so slanted surfaces stretch without cracks, while a depth edge opens a
    gap). The largest disparity wins (z-buffer).

    Args:
        disparity: (H, W) float disparity in px (no unknowns: fill them first).
        known: (H, W) bool, which source disparities are ground truth.
        shift: camera displacement in units of the disparity's baseline.
        link_threshold: disparity step (px) above which neighbours are not joined.
    """
    d = np.asarray(disparity, dtype=np.float64)
    h, w = d.shape
    ys, xs = np.mgrid[0:h, 0:w]
    pos = xs - shift * d

    # footprints: the target pixel containing each landing point
    cand_c = [np.floor(pos + 0.5).astype(np.int64).ravel()]
    cand_y = [ys.ravel()]
    cand_d = [d.ravel()]
    cand_k = [np.asarray(known, bool).ravel()]

    # segments between linked horizontal neighbours
    p0, p1, d0, d1 = pos[:, :-1], pos[:, 1:], d[:, :-1], d[:, 1:]
    linked = np.abs(d1 - d0) <= link_threshold
    seg_known = (known[:, :-1] & known[:, 1:])[linked]
    p0, p1, d0, d1 = p0[linked], p1[linked], d0[linked], d1[linked]
    seg_y = ys[:, :-1][linked]
    lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
    span = p1 - p0
    steps = int(math.ceil(1.0 + abs(shift) * link_threshold)) + 1
    first = np.ceil(lo)
    for k in range(steps):
        c = first + k
        ok = c <= hi
        if not ok.any():
            break
        frac = np.where(np.abs(span) > 1e-9, (c - p0) / np.where(np.abs(span) > 1e-9, span, 1.0), 0.0)
        seg_d = np.where(np.abs(span) > 1e-9, d0 + frac * (d1 - d0), np.maximum(d0, d1))
        cand_c.append(c[ok].astype(np.int64))
        cand_y.append(seg_y[ok])
        cand_d.append(seg_d[ok])
        cand_k.append(seg_known[ok])

    c = np.concatenate(cand_c)
    y = np.concatenate(cand_y)
    dd = np.concatenate(cand_d)
    kk = np.concatenate(cand_k)
    ok = (c >= 0) & (c < w)
    flat = y[ok] * w + c[ok]
    dd, kk = dd[ok], kk[ok]
    zbuf = np.full(h * w, -np.inf)
    np.maximum.at(zbuf, flat, dd)
    winner = dd >= zbuf[flat] - 1e-9
    win_known = np.zeros(h * w, dtype=bool)
    win_known[flat[winner & kk]] = True  # a tie between known and unknown counts as known
    covered = np.isfinite(zbuf)

    row_min = np.floor(pos.min(axis=1) + 0.5)[:, None]
    row_max = np.floor(pos.max(axis=1) + 0.5)[:, None]
    inside = (xs > row_min) & (xs < row_max)
    shape = (h, w)
    return SurfaceWarp(
        np.where(covered, zbuf, 0.0).reshape(shape).astype(np.float32),
        covered.reshape(shape),
        win_known.reshape(shape),
        inside,
    )


@dataclass
class ViewGeometry:
    """Ground-truth visibility of one target view (see the module docstring).

    t: camera shift in baselines. All masks (H, W) bool.
    disparity: (H, W) float32 disparity of view1's surface in the target (0 uncovered).
    seen: covered by view1's known surface. gap: revealed behind a depth edge.
    outside: beyond view1's field of view. disoccluded: gap pixels confirmed real.
    valid: seen | disoccluded (the pixels of the "all" score).
    """

    t: float
    disparity: np.ndarray
    seen: np.ndarray
    gap: np.ndarray
    outside: np.ndarray
    disoccluded: np.ndarray
    valid: np.ndarray


def reference_geometry(disp1: np.ndarray, disp5: np.ndarray, t: float, link_threshold: float = 1.0) -> ViewGeometry:
    """Which pixels of the camera at ``t`` baselines view1 sees, which it cannot (revealed
    behind depth edges, confirmed by view5 for t > 0), and which lie outside its frame.

    Args:
        disp1, disp5: (H, W) ground-truth disparities in px, 0 = unknown.
        t: target camera position in view1-view5 baselines.
        link_threshold: disparity step (px) that separates surfaces (see :func:`warp_surface`).
    """
    known1 = disp1 > 0
    warp1 = warp_surface(fill_unknown_disparity(disp1), known1, t, link_threshold)
    seen = warp1.covered & warp1.known
    uncovered = ~warp1.covered
    gap = uncovered & warp1.inside
    outside = uncovered & ~warp1.inside
    if t > 0:
        known5 = disp5 > 0
        warp5 = warp_surface(fill_unknown_disparity(disp5), known5, t - 1.0, link_threshold)
        disoccluded = gap & warp5.covered & warp5.known
    else:
        disoccluded = gap.copy()
    return ViewGeometry(float(t), warp1.disparity, seen, gap, outside, disoccluded, seen | disoccluded)


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------

def masked_psnr(prediction: np.ndarray, target: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, peak 255) over the RGB values of the ``mask`` pixels; inf for a perfect
    match, NaN for an empty mask. (H, W, 3) uint8 x2, (H, W) bool."""
    if not mask.any():
        return float("nan")
    diff = prediction[mask].astype(np.float64) - target[mask].astype(np.float64)
    return psnr_from_mse(float(np.mean(diff * diff)))


def ssim_map(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (7x7 uniform window, data range 255) averaged over the RGB channels.
    (H, W, 3) uint8 x2 -> (H, W) float64."""
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(prediction, target, channel_axis=2, data_range=255, full=True)
    return full.mean(axis=2)


def psnr_from_mse(mse: float) -> float:
    """PSNR (dB, peak 255) of a mean squared error; inf for 0, NaN for NaN."""
    if math.isnan(mse):
        return float("nan")
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values`` over ``mask``; NaN for an empty mask."""
    return float(values[mask].mean()) if mask.any() else float("nan")


@dataclass
class RegionScore:
    """PSNR (dB), SSIM, mean squared error (per RGB value, for pooling) and pixel count of
    one region of one view."""

    psnr: float
    ssim: float
    pixels: int
    mse: float


@dataclass
class ViewScore:
    """Scores of one render against one target photograph."""

    view: int
    t: float
    regions: dict[str, RegionScore]
    empty_fraction: float


def score_view(render: np.ndarray, render_mask: np.ndarray, target: np.ndarray, geometry: ViewGeometry,
               view: int = -1) -> ViewScore:
    """Score a render of the camera at ``geometry.t`` against the photograph ``target``
    in the regions "all" (valid), "seen" (by view1), "disoccluded" and "outside" (view1's
    field of view left)."""
    if render.shape != target.shape:
        raise Photo3DError(f"render {render.shape} and target {target.shape} differ in size")
    ssim = ssim_map(render, target)
    squared_error = ((render.astype(np.float64) - target.astype(np.float64)) ** 2).mean(axis=2)  # (H, W)
    regions = {}
    for name, mask in (("all", geometry.valid), ("seen", geometry.seen), ("disoccluded", geometry.disoccluded),
                       ("outside", geometry.outside)):
        mse = masked_mean(squared_error, mask)  # every pixel has 3 values: the mean over the mask's RGB values
        regions[name] = RegionScore(psnr_from_mse(mse), masked_mean(ssim, mask), int(mask.sum()), mse)
    return ViewScore(view, geometry.t, regions, float(1.0 - render_mask.mean()))


# ---------------------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------------------

def forward_warp(image: np.ndarray, disparity: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffered nearest-pixel splat of ``image`` into the camera at ``t`` baselines
    (column x lands at round(x - t d); the largest disparity wins).

    Returns (H, W, 3) uint8 warped image (black in holes) and (H, W) bool hole mask.
    """
    h, w = disparity.shape
    ys, xs = np.mgrid[0:h, 0:w]
    c = np.floor(xs - t * disparity.astype(np.float64) + 0.5).astype(np.int64)
    ok = (c >= 0) & (c < w)
    flat = (ys * w + c)[ok]
    src = (ys * w + xs)[ok]
    d = disparity[ok].astype(np.float64)
    zbuf = np.full(h * w, -np.inf)
    np.maximum.at(zbuf, flat, d)
    win = d >= zbuf[flat]
    chosen = np.full(h * w, h * w, dtype=np.int64)
    np.minimum.at(chosen, flat[win], src[win])  # ties: the leftmost source pixel
    filled = chosen < h * w
    out = np.zeros((h * w, 3), np.uint8)
    out[filled] = image.reshape(-1, 3)[chosen[filled]]
    return out.reshape(h, w, 3), ~filled.reshape(h, w)


def warp_inpaint(image: np.ndarray, disparity: np.ndarray, t: float, radius: int = 5) -> np.ndarray:
    """The forward-warping baseline: :func:`forward_warp`, then ``cv2.inpaint`` (Telea) of
    every hole (cracks, disocclusions, the border). (H, W, 3) uint8 -> (H, W, 3) uint8."""
    warped, holes = forward_warp(image, disparity, t)
    if not holes.any():
        return warped
    return cv2.inpaint(warped, holes.astype(np.uint8), radius, cv2.INPAINT_TELEA)


def plain_mesh(image: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics) -> Mesh:
    """View1's single-layer mesh: a vertex per pixel at its depth, two triangles per 2x2
    block, every neighbour linked (so triangles stretch across depth edges), the outer
    vertices moved out by half a pixel so that the input camera sees every pixel covered.

    Args:
        image: (H, W, 3) uint8 RGB; depth: (H, W) float camera z; intrinsics: of the image.
    """
    h, w = depth.shape
    u = np.arange(w, dtype=np.float64)
    v = np.arange(h, dtype=np.float64)
    u[0], u[-1] = -0.5, w - 0.5
    v[0], v[-1] = -0.5, h - 0.5
    uu, vv = np.meshgrid(u, v)
    z = depth.astype(np.float64)
    verts = np.stack([(uu - intrinsics.cx) / intrinsics.fx * z, (vv - intrinsics.cy) / intrinsics.fy * z, z], -1)
    idx = np.arange(h * w).reshape(h, w)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int32)
    return Mesh(verts.reshape(-1, 3).astype(np.float32), image.reshape(-1, 3).copy(), faces, intrinsics,
                {"kind": "plain"})


# ---------------------------------------------------------------------------------------
# Methods: view1 + disparity -> renders at shifts t
# ---------------------------------------------------------------------------------------

def scene_camera(width: int, height: int) -> Intrinsics:
    """The benchmark camera: focal max(W, H) px (any focal works), principal point at the
    image centre ((W - 1) / 2, (H - 1) / 2 with pixel centres at integers)."""
    f = float(max(width, height))
    return Intrinsics(f, f, (width - 1) / 2.0, (height - 1) / 2.0, int(width), int(height))


def depth_from_disparity(disparity: np.ndarray, focal: float, min_disparity: float = 0.1) -> np.ndarray:
    """Depth z = f / d in view1-view5 baselines. (H, W) px -> (H, W) float32."""
    return (focal / np.maximum(disparity.astype(np.float64), min_disparity)).astype(np.float32)


def camera_pose(t: float) -> np.ndarray:
    """4x4 camera-to-world pose of the camera moved by ``t`` baselines along +x."""
    pose = np.eye(4)
    pose[0, 3] = t
    return pose


@dataclass
class MethodRenders:
    """What one method produced for one scene.

    renders: {view: ((H, W, 3) uint8 RGB, (H, W) bool covered)}. seconds: build and render time.
    info: method details (e.g. photo3d stage timings, the inpainter used).
    """

    renders: dict[int, tuple[np.ndarray, np.ndarray]]
    build_seconds: float
    render_seconds: float
    info: dict = field(default_factory=dict)
    scene: object | None = None  # photo3d's pipeline Scene, for diagnostics


def render_mesh_views(renderer, mesh: Mesh, views: tuple[int, ...]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Render ``mesh`` (input-camera frame, depth in baselines) at every view's shift with a
    :class:`photo3d.render.Renderer`, at the mesh's image size."""
    renderer.set_mesh(mesh)
    out = {}
    for k in views:
        rgb, mask = renderer.render(camera_pose(view_shift(k)), mesh.intrinsics)
        # "covered" = painted: the mask leaves out photo3d's hole guard, which does paint
        # the pixels it fills (the renderer's background is black)
        out[k] = (rgb, mask | (rgb.max(axis=-1) > 0))
    return out


def view1_input(scene: StereoScene) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    """What every method gets: view1, its disparity with unknowns filled, and the camera.
    Returns (H, W, 3) uint8, (H, W) float32 disparity px, Intrinsics."""
    w, h = scene.size
    return scene.views[1], fill_unknown_disparity(scene.disp1), scene_camera(w, h)


def photo3d_renders(scene: StereoScene, config, renderer, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """Build photo3d's 3D photo from view1 + filled disp1 (``normalize=False``: depth in
    baselines, so poses are real camera moves) and render it at each view's shift."""
    import time

    from .api import Photo3D

    image, disparity, k = view1_input(scene)
    start = time.perf_counter()
    p3d = Photo3D.from_rgbd(image, depth_from_disparity(disparity, k.fx), intrinsics=(k.fx, k.fy, k.cx, k.cy),
                            config=config, normalize=False)
    built = time.perf_counter()
    renders = render_mesh_views(renderer, p3d.mesh, views)
    done = time.perf_counter()
    info = {"inpaint": p3d.scene.inpaint_method, "layers": int(p3d.mesh.metadata.get("layers", 1)),
            "stages": {n: round(s, 3) for n, s in p3d.scene.timings.stages}}
    return MethodRenders(renders, built - start, done - built, info, p3d.scene)


def plain_mesh_renders(scene: StereoScene, renderer, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """The plain-mesh baseline (:func:`plain_mesh` of view1 + filled disp1) at each view's shift."""
    import time

    image, disparity, k = view1_input(scene)
    start = time.perf_counter()
    mesh = plain_mesh(image, depth_from_disparity(disparity, k.fx), k)
    built = time.perf_counter()
    renders = render_mesh_views(renderer, mesh, views)
    return MethodRenders(renders, built - start, time.perf_counter() - built, {"faces": mesh.num_faces})


def warp_inpaint_renders(scene: StereoScene, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """The forward-warping + OpenCV inpainting baseline at each view's shift (no mesh: the
    render is complete, its mask all True)."""
    import time

    image, disparity, _ = view1_input(scene)
    start = time.perf_counter()
    renders = {}
    for k in views:
        rgb = warp_inpaint(image, disparity, view_shift(k))
        renders[k] = (rgb, np.ones(rgb.shape[:2], bool))
    return MethodRenders(renders, 0.0, time.perf_counter() - start, {})


# ---------------------------------------------------------------------------------------
# Diagnostics: why a 3D photo misses revealed pixels
# ---------------------------------------------------------------------------------------

REVEAL_CAUSES = (
    "back layer, right depth",
    "back layer, wrong depth",
    "front layer is that surface",
    "synthesis region, no layer kept",
    "no synthesis region",
)


def reveal_breakdown(scene: StereoScene, p3d_scene, renders: dict[int, tuple[np.ndarray, np.ndarray]],
                     link_threshold: float = 1.0,
                     geometry: dict[int, ViewGeometry] | None = None) -> dict[str, dict[str, int]]:
    """Trace each disoccluded target pixel of the views right of view1 (t > 0, where view5
    gives the revealed surface's disparity d) back to the view1 position it needs,
    x = c + t d, and say what photo3d's layered depth image holds there:

    * "back layer, right depth": an inpainted pixel within max(1, 0.05 d) px of d;
    * "back layer, wrong depth": an inpainted pixel at another disparity;
    * "front layer is that surface": no inpainted pixel, but the (filtered) front layer
      there is at d (photo3d's depth edge lies elsewhere than the ground truth's);
    * "synthesis region, no layer kept": the position was to be filled but no pixel was kept
      (e.g. the fill came out not behind the front surface and was dropped);
    * "no synthesis region": nothing was to be filled there.

    Args:
        p3d_scene: :class:`photo3d.pipeline.Scene` built from this scene's view1 (one
            inpainted layer, canvas padded by ``canvas.pad``).
        renders: {view: (rgb, covered)} of that 3D photo.
        geometry: {view: :func:`reference_geometry` of that view with ``link_threshold``},
            when the caller has it already; computed here otherwise.
    Returns:
        {"all": {cause: pixels}, "empty": {cause: pixels left empty in the render}}.
    """
    canvas = p3d_scene.canvas
    pad = canvas.pad
    h, w = scene.disp1.shape
    crop = (slice(pad, pad + h), slice(pad, pad + w))
    to_px = p3d_scene.mesh.intrinsics.fx / canvas.depth_scale  # detection disparity -> px
    back = p3d_scene.fill.mask[crop]
    back_d = p3d_scene.fill.disparity[crop] * to_px
    front_d = canvas.detect_disparity[crop] * to_px
    synthesis = p3d_scene.regions.synthesis_label[crop] > 0
    known5 = scene.disp5 > 0
    filled5 = fill_unknown_disparity(scene.disp5)
    out = {"all": dict.fromkeys(REVEAL_CAUSES, 0), "empty": dict.fromkeys(REVEAL_CAUSES, 0)}
    for view, (_, covered) in renders.items():
        t = view_shift(view)
        if t <= 0:
            continue
        g = geometry[view] if geometry is not None else reference_geometry(scene.disp1, scene.disp5, t, link_threshold)
        revealed = warp_surface(filled5, known5, t - 1.0, link_threshold).disparity
        ys, cs = np.nonzero(g.disoccluded)
        d = revealed[ys, cs]
        xs = np.rint(cs + t * d).astype(np.int64)
        ok = (xs >= 0) & (xs < w)
        ys, cs, xs, d = ys[ok], cs[ok], xs[ok], d[ok]
        tol = np.maximum(1.0, 0.05 * d)
        has_back = back[ys, xs]
        right = has_back & (np.abs(back_d[ys, xs] - d) <= tol)
        front = ~has_back & (np.abs(front_d[ys, xs] - d) <= tol)
        rest = ~has_back & ~front
        causes = {
            REVEAL_CAUSES[0]: right,
            REVEAL_CAUSES[1]: has_back & ~right,
            REVEAL_CAUSES[2]: front,
            REVEAL_CAUSES[3]: rest & synthesis[ys, xs],
            REVEAL_CAUSES[4]: rest & ~synthesis[ys, xs],
        }
        empty = ~covered[ys, cs]
        for name, sel in causes.items():
            out["all"][name] += int(sel.sum())
            out["empty"][name] += int((sel & empty).sum())
    return out
