"""Input preparation: resizing to the working size, the reference's disparity normalisation
and its sparse weighted-median clean-up.

Depth vs. disparity: ``depth`` is the camera z; ``disparity = 1 / depth``. After the
reference normalisation, disparity lies in [min_disparity, disp_rescale] = [0.05, 3]
and depth in [1/3, 20]. Discontinuity thresholds always act on a *detection disparity*
in those normalised units, also when the caller keeps its own depth units.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np
from scipy import ndimage

from ..checks import check_rgb_image, depth_valid_mask
from ..config import PrepareConfig
from ..errors import Photo3DError
from .data import Intrinsics, PreparedRGBD

log = logging.getLogger("photo3d")


def working_size(width: int, height: int, longer_side: int, enlarge: bool = False) -> tuple[int, int]:
    """(w, h) with the longer side ``min(longer_side, max(width, height))`` (truncated, as the
    reference); with ``enlarge`` exactly ``longer_side``, also for smaller photos."""
    if not enlarge and longer_side >= max(width, height):
        return int(width), int(height)
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
    """Validate a raw depth/disparity map (:func:`photo3d.checks.depth_valid_mask`) and fill
    its NaN/inf (and zero depth) holes with the nearest valid value."""
    values = np.asarray(values, dtype=np.float32)
    return fill_invalid(values, depth_valid_mask(values, kind, source))


def normalize_disparity(disparity: np.ndarray, size: tuple[int, int], disp_rescale: float, min_disparity: float) -> np.ndarray:
    """The reference's ``read_MiDaS_depth``: shift to min 0, 3x3 box blur, scale to max
    ``disp_rescale``, bilinear resize to ``size`` (w, h; anti-aliased when shrinking, as
    skimage's resize), clamp at ``min_disparity``.
    Returns (h, w) float32 disparity.
    """
    # float64: values near the float32 limits (+-3.4e38) would overflow in the shift
    disp = disparity.astype(np.float64) - float(np.min(disparity))
    top = float(disp.max())
    disp = cv2.blur(disp / top, (3, 3)) * top  # OpenCV's default border (reflect-101), as the reference
    disp = (disp / float(disp.max()) * disp_rescale).astype(np.float32)
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


def sparse_median_filter(depth: np.ndarray, threshold: float, window_sizes: list[int],
                         image: np.ndarray | None = None, sigma_color: float = 0.0) -> np.ndarray:
    """The reference's sparse bilateral (weighted-median) clean-up, vectorised.

    Each pass flags discontinuity pixels (disparity jump > ``threshold``); every pixel whose
    window holds a flagged pixel takes the median of the window's unflagged depths; others
    keep their depth. This sharpens depth edges into clean steps. (H, W) -> (H, W).

    With ``image`` ((H, W, 3) uint8) and ``sigma_color`` > 0 the median is colour-guided
    (a joint weighted median): each window pixel also weighs exp(-d^2 / (2 s^2)), d^2 the
    mean over RGB of the squared colour difference to the centre pixel, s = ``sigma_color``
    grey levels. A pixel then takes the depth of the pixels that look like it, so the
    steps land on the colour edges (the unguided median moves them 1-3 px and votes away
    structures thinner than its window, such as a 3-6 px brush handle).
    """
    depth = depth.astype(np.float32).copy()
    if min(depth.shape) < 3:
        return depth  # no interior: nothing can be flagged
    guide = None
    if image is not None and sigma_color > 0:
        guide = image.astype(np.float32)
        inv_two_s2 = np.float32(1.0 / (2.0 * sigma_color ** 2))
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
        if guide is not None:
            # Colour guides only windows that hold a depth step (a disparity gap above the
            # threshold between consecutive values); on a smooth slanted surface it would pick
            # arbitrary same-coloured subsets and cut the surface into spurious steps.
            gap = np.abs(np.diff(1.0 / np.maximum(sorted_d, 1e-12), axis=1)).max(axis=1) > threshold
            if gap.any():
                pad_c = np.pad(guide, ((r, r), (r, r), (0, 0)), mode="edge")
                sel = np.nonzero(gap)[0]
                win_c = np.lib.stride_tricks.sliding_window_view(pad_c, (size, size), axis=(0, 1))[ys[sel], xs[sel]]
                diff = win_c.reshape(len(sel), 3, -1) - guide[ys[sel], xs[sel]][:, :, None]  # (n, 3, size * size)
                diff *= diff
                # the mean over RGB, summed in the order numpy's mean sums (a reduction over
                # the middle axis was a third of the filter's time)
                d2 = (diff[:, 0] + diff[:, 1] + diff[:, 2]) / np.float32(3)
                win_w = win_w.astype(np.float32)
                win_w[sel] *= np.exp(-d2 * inv_two_s2)
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


def _border_lines(gray: np.ndarray, max_lines: int, ref_lines: int) -> int:
    """How many of the first rows of ``gray`` ((H, W) float32) are a scan border: dark
    (near black, under 56 grey levels, below 60 % of the photo's mean just inside and 25
    grey levels darker, and flatter than the inside: standard deviation under half of its,
    or under 8) or constant (standard deviation under 1.5 grey levels where the
    photo inside varies by over 4, and a mean off the inside's), counted from the outermost
    row; one more row when it is a blend between border and photo (mean below 92 % of the
    inside). (Without "near black" and "flatter", real content along an edge was cropped:
    Reindeer's brown card edge at ~100 grey levels, the dark red cloth along Dolls' bottom.)"""
    n = max_lines + 1 + ref_lines
    if gray.shape[0] < 4 * n:
        return 0
    means = gray[:n].mean(axis=1)
    stds = gray[:n].std(axis=1)
    ref_mean = float(np.median(means[max_lines + 1:]))
    ref_std = float(np.median(stds[max_lines + 1:]))
    dark = (means < 0.6 * ref_mean) & (ref_mean - means > 25) & (means < 56) & (stds < max(0.5 * ref_std, 8.0))
    flat = (stds < 1.5) & (ref_std > 4) & (np.abs(means - ref_mean) > 3)
    border = (dark | flat)[:max_lines]
    count = max_lines if border.all() else int(np.argmin(border))
    if count and means[count] < 0.92 * ref_mean:
        count += 1
    return count


def scan_border(image: np.ndarray, max_lines: int = 5, ref_lines: int = 6) -> tuple[int, int, int, int]:
    """Dark or constant border lines of a scanned photo (up to ``max_lines`` px per side,
    judged against the ``ref_lines`` lines inside them), which the border extension would
    otherwise continue outwards as dark wedges.

    Args:
        image: (H, W, 3) uint8 RGB.
    Returns:
        (top, bottom, left, right) lines to crop.
    """
    gray = image.astype(np.float32).mean(axis=2)
    return (_border_lines(gray, max_lines, ref_lines), _border_lines(gray[::-1], max_lines, ref_lines),
            _border_lines(gray.T, max_lines, ref_lines), _border_lines(gray.T[::-1], max_lines, ref_lines))


def crop_scan_border(image: np.ndarray, depth_values: np.ndarray, intrinsics: Intrinsics | None
                     ) -> tuple[np.ndarray, np.ndarray, Intrinsics | None]:
    """Crop the :func:`scan_border` of ``image`` from the photo, its depth map (the same
    fraction of its own size when it is sized differently) and its camera, with a one-line
    note on the ``photo3d`` logger. Returns (image, depth_values, intrinsics), unchanged
    when there is no border. (H, W, 3) uint8, (Hd, Wd) float, Intrinsics of the image or None."""
    h, w = image.shape[:2]
    top, bottom, left, right = scan_border(image)
    if not (top or bottom or left or right):
        return image, depth_values, intrinsics
    log.warning(f"photo: cropped a dark or constant scan border (top {top}, bottom {bottom}, left {left}, "
                f"right {right} px)")
    k = intrinsics if intrinsics is not None else Intrinsics.default(w, h)
    k = k.shifted(-left, -top, w - left - right, h - top - bottom)
    hd, wd = depth_values.shape[:2]
    t, b = round(top * hd / h), round(bottom * hd / h)
    l, r = round(left * wd / w), round(right * wd / w)
    return image[top:h - bottom, left:w - right], depth_values[t:hd - b, l:wd - r], k


def prepare(
    image: np.ndarray,
    depth_values: np.ndarray,
    config: PrepareConfig,
    *,
    depth_threshold: float,
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
        depth_threshold: the discontinuity threshold (normalised disparity) of the median.
    """
    check_rgb_image(image, "image")
    if config.crop_scan_border:
        image, depth_values, intrinsics = crop_scan_border(image, np.asarray(depth_values), intrinsics)
    h0, w0 = image.shape[:2]
    values = check_and_fill(depth_values, kind, source)
    # Deliberate difference: the working size follows the image (the reference takes it from
    # the depth map's shape); they agree when both have the same aspect ratio.
    size = working_size(w0, h0, int(config.longer_side), bool(config.enlarge))
    work_image = resize_image(image, size)
    if intrinsics is None:
        intrinsics = Intrinsics.default(w0, h0)
    work_k = intrinsics.scaled(size[0] / w0, size[1] / h0)
    threshold = float(depth_threshold)
    passes = list(config.filter_size[: max(int(config.sparse_iter) - 1, 0)])  # reference keeps the 2nd-to-last

    if normalize:
        disparity = 1.0 / values.astype(np.float64) if kind == "depth" else values
        disparity = normalize_disparity(disparity, size, float(config.disp_rescale), float(config.min_disparity))
        depth = sparse_median_filter(1.0 / disparity, threshold, passes, work_image, float(config.median_color_sigma))
        detect = 1.0 / depth
        depth_scale = 1.0
    else:
        if kind != "depth":
            raise Photo3DError(f"{source}: normalize=False needs metric depth (kind='depth')")
        depth = cv2.resize(values, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        # thresholds act on disparity scaled so that the nearest point has disparity_rescale
        to_norm = float(config.disp_rescale) * float(depth.min())
        depth = sparse_median_filter(depth / to_norm, threshold, passes, work_image,
                                     float(config.median_color_sigma)) * to_norm
        detect = to_norm / depth
        depth_scale = to_norm
    h, w = depth.shape
    center_depth = float(depth[h // 2, w // 2])
    return PreparedRGBD(work_image, depth.astype(np.float32), detect.astype(np.float32), work_k, center_depth, depth_scale)
