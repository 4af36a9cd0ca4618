"""Input preparation: resizing, the reference's disparity normalisation, the sparse
weighted-median clean-up, the border canvas, and depth-discontinuity detection.

Depth vs. disparity: ``depth`` is the camera z; ``disparity = 1 / depth``. After the
reference normalisation, disparity lies in [min_disparity, disp_rescale] = [0.05, 3]
and depth in [1/3, 20]. Discontinuity thresholds always act on a *detection disparity*
in those normalised units, also when the caller keeps its own depth units.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .config import Config
from .errors import Photo3DError
from .types import Intrinsics


@dataclass
class PreparedRGBD:
    """The photo at working resolution with cleaned depth.

    image: (H, W, 3) uint8 RGB.
    depth: (H, W) float32 camera z (normalised units, or the caller's when not normalised).
    detect_disparity: (H, W) float32 disparity in normalised units (max ~ disp_rescale),
        used for every threshold.
    intrinsics: camera of the working image.
    center_depth: depth at the image centre (the reference's mean_loc_depth).
    depth_scale: caller depth units per normalised unit (1.0 when normalised); camera
        path shifts are multiplied by it.
    """

    image: np.ndarray
    depth: np.ndarray
    detect_disparity: np.ndarray
    intrinsics: Intrinsics
    center_depth: float
    depth_scale: float = 1.0


def working_size(width: int, height: int, longer_side: int) -> tuple[int, int]:
    """(w, h) with the longer side equal to ``longer_side`` (truncated, as the reference)."""
    scale = longer_side / max(width, height)
    return max(1, int(width * scale)), max(1, int(height * scale))


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area interpolation when shrinking (as the reference), cubic when enlarging."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    shrink = size[0] < image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def fill_invalid(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Replace invalid entries by the nearest valid value. (H, W) -> (H, W)."""
    if valid.all():
        return values
    _, (iy, ix) = ndimage.distance_transform_edt(~valid, return_indices=True)
    return values[iy, ix]


def check_and_fill(values: np.ndarray, kind: str, source: str) -> np.ndarray:
    """Validate a raw depth/disparity map and fill NaN/inf (and zero depth) holes.

    Raises Photo3DError (naming ``source``) for empty, all-invalid, constant maps and
    negative depth.
    """
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.size == 0:
        raise Photo3DError(f"{source}: depth map is empty or not 2-D (shape {values.shape})")
    finite = np.isfinite(values)
    if not finite.any():
        raise Photo3DError(f"{source}: depth map has no finite values (all NaN/inf)")
    if kind == "depth":
        if (values[finite] < 0).any():
            raise Photo3DError(f"{source}: depth map has negative values (is it disparity? use --depth-kind disparity)")
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
    return fill_invalid(values, valid)


def normalize_disparity(disparity: np.ndarray, size: tuple[int, int], disp_rescale: float, min_disparity: float) -> np.ndarray:
    """The reference's ``read_MiDaS_depth``: shift to min 0, 3x3 box blur, scale to max
    ``disp_rescale``, bilinear resize to ``size`` (w, h; anti-aliased when shrinking, as
    skimage's resize), clamp at ``min_disparity``.
    Returns (h, w) float32 disparity.
    """
    disp = disparity.astype(np.float32) - float(disparity.min())
    top = float(disp.max())
    disp = cv2.blur(disp / top, (3, 3)) * top  # OpenCV's default border (reflect-101), as the reference
    disp = disp / float(disp.max()) * disp_rescale
    disp = _resize_bilinear(disp, size)
    return np.maximum(disp, min_disparity).astype(np.float32)


def _resize_bilinear(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) -> (h, w) for ``size`` = (w, h): skimage's ``resize(order=1)``, the reference's
    call (a Gaussian anti-aliasing prefilter when shrinking, mirrored borders)."""
    from skimage.transform import resize

    if values.shape == (size[1], size[0]):
        return values
    return resize(values, (size[1], size[0]), order=1, mode="reflect", anti_aliasing=None).astype(np.float32)


def discontinuity_map(depth: np.ndarray, threshold: float) -> np.ndarray:
    """Pixels whose disparity differs from a 4-neighbour by more than ``threshold``.

    As the reference, the outermost ring is never flagged. (H, W) float -> (H, W) bool.
    """
    disp = 1.0 / depth
    out = np.zeros(depth.shape, dtype=bool)
    dv = np.abs(np.diff(disp, axis=0)) > threshold  # (H-1, W): between rows y and y+1
    dh = np.abs(np.diff(disp, axis=1)) > threshold  # (H, W-1)
    inner = np.zeros_like(out)
    inner[:-1] |= dv
    inner[1:] |= dv
    inner[:, :-1] |= dh
    inner[:, 1:] |= dh
    out[1:-1, 1:-1] = inner[1:-1, 1:-1]
    return out


def _copy_inner_ring(values: np.ndarray) -> np.ndarray:
    """(H, W) -> (H, W): the outermost ring replaced by the edge-replicated inner part."""
    return np.pad(values[1:-1, 1:-1], 1, mode="edge")


def sparse_median_filter(depth: np.ndarray, threshold: float, window_sizes: list[int]) -> np.ndarray:
    """The reference's sparse bilateral (weighted-median) clean-up, vectorised.

    Each pass flags discontinuity pixels (disparity jump > ``threshold``); every pixel whose
    window holds a flagged pixel takes the median of the window's unflagged depths; others
    keep their depth. This sharpens depth edges into clean steps. (H, W) -> (H, W).
    """
    depth = depth.astype(np.float32).copy()
    if min(depth.shape) < 3:
        return depth  # no interior: nothing can be flagged
    for size in window_sizes:
        r = size // 2
        # As the reference: flag on the depth as it is, then replace the outer ring of both
        # the depth and the flags by their inner neighbours (the border pixels copy ring 1).
        flagged = _copy_inner_ring(discontinuity_map(depth, threshold))
        depth = _copy_inner_ring(depth)
        if not flagged.any():
            continue
        pad_depth = np.pad(depth, r, mode="edge")
        pad_flag = np.pad(flagged, r, mode="edge")
        near = cv2.dilate(pad_flag.astype(np.uint8), np.ones((size, size), np.uint8))[r:-r, r:-r] > 0
        ys, xs = np.nonzero(near)
        win_d = np.lib.stride_tricks.sliding_window_view(pad_depth, (size, size))[ys, xs].reshape(len(ys), -1)
        win_w = ~np.lib.stride_tricks.sliding_window_view(pad_flag, (size, size))[ys, xs].reshape(len(ys), -1)
        order = np.argsort(win_d, axis=1, kind="stable")
        sorted_d = np.take_along_axis(win_d, order, axis=1)
        cum = np.cumsum(np.take_along_axis(win_w, order, axis=1), axis=1, dtype=np.float32)
        total = cum[:, -1]
        # first index whose cumulative weight exceeds half (np.digitize(0.5, cum) in the reference)
        idx = np.minimum((cum <= 0.5 * total[:, None]).sum(axis=1), size * size - 1)
        med = sorted_d[np.arange(len(ys)), idx]
        out = depth.copy()
        keep = total > 0
        out[ys[keep], xs[keep]] = med[keep]
        depth = out
    return depth


def prepare(
    image: np.ndarray,
    depth_values: np.ndarray,
    config: Config,
    *,
    kind: str = "disparity",
    intrinsics: Intrinsics | None = None,
    normalize: bool = True,
    source: str = "depth",
) -> PreparedRGBD:
    """Resize to the working resolution, normalise and clean the depth.

    Args:
        image: (H0, W0, 3) uint8 RGB.
        depth_values: (Hd, Wd) raw map; any size (resized to the image).
        kind: "disparity" (larger = nearer, any scale/offset) or "depth" (z, > 0).
        intrinsics: of the input image; default focal max(H, W), centre (W//2, H//2).
        normalize: apply the reference normalisation (depth in [1/3, 20]); when False
            the depth keeps the caller's units (``kind`` must be "depth").
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise Photo3DError(f"image: expected HxWx3 uint8, got {image.dtype} {image.shape}")
    h0, w0 = image.shape[:2]
    values = check_and_fill(depth_values, kind, source)
    # Deliberate difference: the working size follows the image (the reference takes it from
    # the depth map's shape); they agree when both have the same aspect ratio.
    size = working_size(w0, h0, int(config.longer_side))
    work_image = resize_image(image, size)
    if intrinsics is None:
        intrinsics = Intrinsics.default(w0, h0)
    work_k = intrinsics.scaled(size[0] / w0, size[1] / h0)
    threshold = float(config.depth_threshold)
    passes = list(config.filter_size[: max(int(config.sparse_iter) - 1, 0)])  # reference keeps the 2nd-to-last

    if normalize:
        disparity = 1.0 / values if kind == "depth" else values
        disparity = normalize_disparity(disparity, size, float(config.disp_rescale), float(config.min_disparity))
        depth = sparse_median_filter(1.0 / disparity, threshold, passes)
        detect = 1.0 / depth
        depth_scale = 1.0
    else:
        if kind != "depth":
            raise Photo3DError(f"{source}: normalize=False needs metric depth (kind='depth')")
        depth = cv2.resize(values, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        # thresholds act on disparity scaled so that the nearest point has disparity_rescale
        to_norm = float(config.disp_rescale) * float(depth.min())
        depth = sparse_median_filter(depth / to_norm, threshold, passes) * to_norm
        detect = to_norm / depth
        depth_scale = to_norm
    h, w = depth.shape
    center_depth = float(depth[h // 2, w // 2])
    return PreparedRGBD(work_image, depth.astype(np.float32), detect.astype(np.float32), work_k, center_depth, depth_scale)


@dataclass
class Canvas:
    """The working image on a canvas padded by ``pad`` pixels on every side.

    color: (Hc, Wc, 3) uint8; depth, detect_disparity: (Hc, Wc) float32;
    image_mask: (Hc, Wc) bool, True on the original image's pixels (False in the band,
    which the border fill extends); intrinsics: of the canvas (principal point + pad).
    """

    color: np.ndarray
    depth: np.ndarray
    detect_disparity: np.ndarray
    image_mask: np.ndarray
    pad: int
    intrinsics: Intrinsics
    depth_scale: float = 1.0  # depth * detect_disparity everywhere

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape


def make_canvas(prepared: PreparedRGBD, pad: int) -> Canvas:
    """Pad the prepared image by ``pad`` pixels; the band is filled later by the border fill
    (until then it holds edge-replicated values so that every array is finite)."""
    h, w = prepared.depth.shape
    mode = "edge"
    color = np.pad(prepared.image, ((pad, pad), (pad, pad), (0, 0)), mode=mode)
    depth = np.pad(prepared.depth, pad, mode=mode)
    detect = np.pad(prepared.detect_disparity, pad, mode=mode)
    mask = np.zeros(depth.shape, dtype=bool)
    mask[pad : pad + h, pad : pad + w] = True
    k = prepared.intrinsics.shifted(pad, pad, w + 2 * pad, h + 2 * pad)
    return Canvas(color, depth, detect, mask, pad, k, prepared.depth_scale)


@dataclass
class Discontinuities:
    """Links of the front layer and the depth edges that cut them.

    link_right: (Hc, Wc-1) bool, True where pixel (x, y) and (x+1, y) stay connected.
    link_down:  (Hc-1, Wc) bool, True where (x, y) and (x, y+1) stay connected.
    near_edge / far_edge: (Hc, Wc) bool, pixels on the near (foreground) / far (background)
        side of at least one cut link.
    segment: (Hc, Wc) int32, the discontinuity segment (1..S) of each far-edge pixel, 0 elsewhere.
    num_segments: S.
    """

    link_right: np.ndarray
    link_down: np.ndarray
    near_edge: np.ndarray
    far_edge: np.ndarray
    segment: np.ndarray
    num_segments: int


def _edge_sides(detect: np.ndarray, link_right: np.ndarray, link_down: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    near = np.zeros(detect.shape, dtype=bool)
    far = np.zeros(detect.shape, dtype=bool)
    cut_r = ~link_right
    left_nearer = detect[:, :-1] > detect[:, 1:]
    near[:, :-1] |= cut_r & left_nearer
    far[:, 1:] |= cut_r & left_nearer
    near[:, 1:] |= cut_r & ~left_nearer
    far[:, :-1] |= cut_r & ~left_nearer
    cut_d = ~link_down
    up_nearer = detect[:-1] > detect[1:]
    near[:-1] |= cut_d & up_nearer
    far[1:] |= cut_d & up_nearer
    near[1:] |= cut_d & ~up_nearer
    far[:-1] |= cut_d & ~up_nearer
    return near, far


def pixel_components(link_right: np.ndarray, link_down: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the pixel grid through the kept links. Returns (count, (H, W) labels)."""
    h, w = link_down.shape[0] + 1, link_right.shape[1] + 1
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1][link_right], idx[:-1][link_down]])
    cols = np.concatenate([idx[:, 1:][link_right], idx[1:][link_down]])
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(h * w, h * w))
    count, labels = connected_components(graph, directed=False)
    return count, labels.reshape(h, w)


def detect_discontinuities(detect_disparity: np.ndarray, config: Config) -> Discontinuities:
    """Cut links where disparity jumps by more than ``depth_threshold``; heal short edge
    fragments (fewer than ``min_edge_length`` cut links) and re-attach pixel islands smaller
    than ``min_island_size``; group far-side edge pixels into segments.
    """
    thr = float(config.depth_threshold)
    d = detect_disparity
    link_right = np.abs(d[:, 1:] - d[:, :-1]) <= thr
    link_down = np.abs(d[1:] - d[:-1]) <= thr

    # Short fragments: components (8-connected) of pixels touching a cut link.
    touched = np.zeros(d.shape, dtype=bool)
    touched[:, :-1] |= ~link_right
    touched[:, 1:] |= ~link_right
    touched[:-1] |= ~link_down
    touched[1:] |= ~link_down
    if touched.any():
        n, lab, stats, _ = cv2.connectedComponentsWithStats(touched.astype(np.uint8), connectivity=8)
        # a fragment of L cut links touches about 2L pixels
        small = stats[:, cv2.CC_STAT_AREA] < 2 * int(config.min_edge_length)
        small[0] = False
        heal = small[lab]
        link_right |= heal[:, :-1] & heal[:, 1:]
        link_down |= heal[:-1] & heal[1:]

    # Floating islands: pixel components too small to stand on their own are re-attached.
    if int(config.min_island_size) > 1 and not (link_right.all() and link_down.all()):
        _, comp = pixel_components(link_right, link_down)
        sizes = np.bincount(comp.ravel())
        island = sizes[comp] < int(config.min_island_size)
        if island.any():
            link_right |= island[:, :-1] | island[:, 1:]
            link_down |= island[:-1] | island[1:]

    near, far = _edge_sides(d, link_right, link_down)
    num, seg = edge_segments(far, d, thr)
    return Discontinuities(link_right, link_down, near, far, seg, num)


def edge_segments(far: np.ndarray, disparity: np.ndarray, threshold: float) -> tuple[int, np.ndarray]:
    """Group far-side edge pixels into segments: 8-connected runs on one surface.

    Two far pixels join when they are 8-neighbours and their disparities differ by at most
    ``threshold``; so the background of a thin middle layer and the background behind it
    stay separate segments (each gets its own context and synthesis region).
    Returns (S, (H, W) int32 labels 1..S, 0 elsewhere).
    """
    h, w = far.shape
    idx = np.full((h, w), -1, dtype=np.int64)
    ys, xs = np.nonzero(far)
    idx[ys, xs] = np.arange(ys.size)
    rows, cols = [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = idx[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        da = disparity[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
        db = disparity[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
        b = idx[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
        ok = (a >= 0) & (b >= 0) & (np.abs(da - db) <= threshold)
        rows.append(a[ok])
        cols.append(b[ok])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(ys.size, ys.size))
    num, comp = connected_components(graph, directed=False)
    labels = np.zeros((h, w), dtype=np.int32)
    labels[ys, xs] = comp + 1
    return int(num), labels
