"""A weak, model-free disparity guess for when nothing better is available.

This is a fallback, not an estimator: it encodes the average layout of photographs and
gets any particular scene only roughly right. Expect flat, "cardboard" 3D photos; use a
depth file, the photo's embedded depth, or a depth network (``photo3d weights download
depth_anything_v2_vits``) for real results.

The guess (larger = nearer) combines:

* a ground-plane layout: disparity grows linearly below an assumed horizon (a level
  camera looking at a floor sees it nearer further down the frame), with a gentle
  slope above it;
* ground contact: things stand on the ground, so each image segment (Felzenszwalb's
  graph segmentation) takes the layout value near its bottom, which makes upright
  objects flat and puts depth edges on segment boundaries; half layout, half contact;
* focus: local detail (Laplacian energy) is higher where the photo is sharp, and the
  sharp part of a photo is usually the near subject while the background is defocused;
* aerial perspective: distant things are less saturated and less contrasted.

The cues are smoothed with a guided filter (He et al., 2010) whose guide is the photo,
so the disparity is piecewise smooth and its edges follow the image's edges.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..checks import check_rgb_image

HORIZON = 0.3            # assumed horizon, as a fraction of the height from the top
WEIGHT_LAYOUT = 0.85     # the cues' weights in the combined guess (layout includes contact)
WEIGHT_FOCUS = 0.1
WEIGHT_SATURATION = 0.05
CONTACT_QUANTILE = 0.9   # "bottom" of a segment: this quantile of its rows
DISPARITY_RANGE = (0.1, 1.0)  # output range: never zero, so depth = 1 / disparity is finite
WORK_SIDE = 512          # cues are computed at this longer side (they are smooth anyway)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``source`` following the edges of ``guide``.

    Args:
        guide: (H, W) float32, values in about [0, 1].
        source: (H, W) float32 to smooth.
        radius: box radius in pixels.
        eps: regularisation; edges of guide contrast well above sqrt(eps) are kept.
    Returns:
        (H, W) float32.
    """
    size = (2 * radius + 1, 2 * radius + 1)

    def box(a: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(a, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(source)
    var_i = box(guide * guide) - mean_i * mean_i
    cov_ip = box(guide * source) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _normalised(values: np.ndarray, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Robust min-max to [0, 1] using percentiles; a constant map becomes zeros."""
    flat = values.ravel()
    sample = flat[:: max(1, flat.size // 250_000)]  # percentiles of a regular sample: fast on big photos
    lo, hi = np.percentile(sample, [low, high])
    if hi - lo < 1e-12:
        return np.zeros_like(values, dtype=np.float32)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def layout_prior(height: int, width: int, horizon: float = HORIZON) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the ground-plane layout, 1 at the bottom row."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)
    below = np.clip((y - horizon) / (1.0 - horizon), 0.0, 1.0)
    column = 0.8 * below + 0.2 * y
    return np.repeat(column[:, None], width, axis=1)


def contact_prior(image: np.ndarray, layout: np.ndarray, quantile: float = CONTACT_QUANTILE) -> np.ndarray:
    """(H, W) float32: per image segment, the ``quantile`` of ``layout`` over the segment.

    Args:
        image: (H, W, 3) uint8 RGB, segmented with Felzenszwalb-Huttenlocher.
        layout: (H, W) float32, e.g. :func:`layout_prior`.
    """
    from skimage.segmentation import felzenszwalb

    height, width = layout.shape
    labels = felzenszwalb(image, scale=200, sigma=0.8, min_size=max(20, height * width // 2000)).ravel()
    order = np.lexsort((layout.ravel(), labels))  # by segment, then by layout value
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picks = starts + np.floor((counts - 1) * quantile).astype(np.int64)
    per_segment = layout.ravel()[order][picks]
    return per_segment[labels].reshape(height, width).astype(np.float32)


def focus_cue(grey: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: local Laplacian energy (sharp = high)."""
    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=3)
    energy = cv2.blur(np.abs(laplacian), (2 * radius + 1, 2 * radius + 1))
    return _normalised(np.sqrt(energy))


def saturation_cue(image: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: local saturation (vivid = high)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    saturation = hsv[..., 1].astype(np.float32) / 255.0
    return _normalised(cv2.blur(saturation, (2 * radius + 1, 2 * radius + 1)))


def prior_disparity(image: np.ndarray) -> np.ndarray:
    """A weak disparity guess from the photo alone (see the module docstring).

    Args:
        image: (H, W, 3) uint8 RGB.
    Returns:
        (H, W) float32 disparity in [0.1, 1.0], larger = nearer; finite and, for any
        image taller than one row, not constant.
    """
    height, width = check_rgb_image(image, "prior depth")
    scale = min(1.0, WORK_SIDE / max(height, width))
    small = image if scale == 1.0 else cv2.resize(
        image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(1, min(h, w) // 24)

    layout = layout_prior(h, w)
    layout = 0.5 * layout + 0.5 * contact_prior(small, layout)
    guess = (WEIGHT_LAYOUT * layout
             + WEIGHT_FOCUS * focus_cue(grey, radius)
             + WEIGHT_SATURATION * saturation_cue(small, radius))
    # Strong smoothing that still stops at the photo's edges.
    smooth = guided_filter(grey, guess.astype(np.float32), radius=radius // 2 + 1, eps=1e-3)
    if (h, w) != (height, width):
        smooth = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
        full_grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        smooth = guided_filter(full_grey, smooth, radius=max(1, round(2 / scale)), eps=1e-3)
    unit = _normalised(smooth, 0.5, 99.5)
    if float(unit.max() - unit.min()) < 1e-6:  # featureless: fall back to the layout alone
        unit = layout_prior(height, width)
    low, high = DISPARITY_RANGE
    return (low + (high - low) * unit).astype(np.float32)
