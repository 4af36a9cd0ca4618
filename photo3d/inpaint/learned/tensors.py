"""Network inputs and outputs of one crop, prepared exactly as shared/compat/REFERENCE_PIPELINE.md
describes (see :mod:`photo3d.inpaint.learned`)."""
from __future__ import annotations

import math

import cv2
import numpy as np

from .crops import SegmentCrop

PAD_MULTIPLE = 128  # every crop is zero-padded to multiples of this (reference: forward_3P)
LOG_EPS = 1e-8  # reference: log(depth + 1e-8)


def _mask_f(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.float32)


def edge_input(crop: SegmentCrop) -> np.ndarray:
    """(7, h, w) float32: RGB on context, disparity on context / its maximum, context edges,
    context, mask (REFERENCE_PIPELINE.md §2)."""
    disparity = np.where(crop.context, 1.0 / np.maximum(np.abs(crop.depth), 1e-12), 0.0).astype(np.float32)
    top = float(disparity.max())
    if top > 0:
        disparity /= top
    return np.concatenate([crop.rgb.transpose(2, 0, 1), disparity[None], _mask_f(crop.context_edges)[None],
                           _mask_f(crop.context)[None], _mask_f(crop.synthesis)[None]])


def finish_edges(probability: np.ndarray, crop: SegmentCrop, threshold: float) -> np.ndarray:
    """The edge map passed on: context edges plus the thinned edge-net output in the mask.

    Args:
        probability: (h, w) sigmoid output of the edge net.
        threshold: ``ext_edge_threshold``.
    Returns:
        (h, w) bool. Inside the mask: pixels above ``threshold``, thinned to one pixel, in
        8-connected runs that touch a context edge (our stand-in for the reference's
        shortest-path clean-up).
    """
    from skimage.morphology import skeletonize

    inside = (probability > threshold) & crop.synthesis
    if not inside.any():
        return crop.context_edges.copy()
    thin = skeletonize(inside)
    count, labels = cv2.connectedComponents((thin | crop.context_edges).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[labels[crop.context_edges]] = True
    keep[0] = False
    return crop.context_edges | (thin & keep[labels])


def depth_input(crop: SegmentCrop, edges: np.ndarray, log_depth: bool = True) -> tuple[np.ndarray, float]:
    """(4, h, w) float32 input of the depth net and the mean it was shifted by.

    Channel 0 is the zero-mean log depth on context pixels (0 elsewhere) when ``log_depth``
    (the published model), else the raw depth on context; then edges, context, hole.
    """
    if log_depth:
        logd = np.log(np.abs(crop.depth).astype(np.float64) + LOG_EPS)
        mean = float(logd[crop.context].mean())
        channel = np.where(crop.context, logd - mean, 0.0).astype(np.float32)
    else:
        mean = 0.0
        channel = np.where(crop.context, crop.depth, 0.0).astype(np.float32)
    return np.stack([channel, _mask_f(edges), _mask_f(crop.context), _mask_f(crop.hole)]), mean


def depth_output(output: np.ndarray, mean: float, log_depth: bool = True) -> np.ndarray:
    """(h, w) depth from the depth net's (h, w) output: exp(output + mean) for log depth."""
    if not log_depth:
        return output.astype(np.float32)
    return np.exp(np.clip(output.astype(np.float64) + mean, -80.0, 80.0)).astype(np.float32)


def color_scale(height: int, width: int, largest_size: int, multiple: int = PAD_MULTIPLE) -> float:
    """The reference's colour-crop scale: with s = largest_size / sqrt(h·w), the longer side
    becomes floor(longer·s / multiple)·multiple. Returns frac (< 1 means downscale)."""
    longer = max(height, width)
    s = largest_size / math.sqrt(height * width)
    return max(1, math.floor(longer * s / multiple)) * multiple / longer


def color_input(crop: SegmentCrop, edges: np.ndarray, largest_size: int) -> tuple[np.ndarray, bool]:
    """(6, h', w') float32 input of the colour net and whether it was downscaled.

    RGB on context, edges (all zero when downscaled), context, hole (REFERENCE_PIPELINE.md §4).
    Downscaling uses area interpolation; the hole is re-binarised as > 0 and the context as
    fully covered and not hole.
    """
    h, w = crop.shape
    frac = color_scale(h, w, largest_size)
    if frac >= 1:
        return np.concatenate([crop.rgb.transpose(2, 0, 1), _mask_f(edges)[None], _mask_f(crop.context)[None],
                               _mask_f(crop.hole)[None]]), False
    size = (max(1, round(w * frac)), max(1, round(h * frac)))
    hole = cv2.resize(_mask_f(crop.hole), size, interpolation=cv2.INTER_AREA) > 0
    context = (cv2.resize(_mask_f(crop.context), size, interpolation=cv2.INTER_AREA) >= 1 - 1e-5) & ~hole
    rgb = cv2.resize(crop.rgb, size, interpolation=cv2.INTER_AREA) * context[..., None]
    return np.concatenate([rgb.transpose(2, 0, 1), np.zeros((1, size[1], size[0]), np.float32),
                           _mask_f(context)[None], _mask_f(hole)[None]]), True


def color_output(output: np.ndarray, shape: tuple[int, int], gray: bool) -> np.ndarray:
    """(h, w, 3) uint8 from the colour net's (3, h', w') output, enlarged (bicubic) to ``shape``."""
    rgb = np.ascontiguousarray(output.transpose(1, 2, 0), dtype=np.float32)
    if rgb.shape[:2] != tuple(shape):
        rgb = cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    if gray:
        rgb = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# The fill_residual input convention (photo3d's own networks only)
# ---------------------------------------------------------------------------------------

INPUT_CONVENTIONS = ("reference", "fill_residual")
"""How a network's input is built. ``reference``: the published models' input (the hole is
zero). ``fill_residual``: the non-learned fill of the crop (:func:`fill_prior_color`,
:func:`fill_prior_depth`) is written into the hole of the value channels, and the network's
output is a correction on top of that input (:func:`residual_output`), so an untrained
correction (zero) is exactly the fill."""


def _as_uint8(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.dtype == np.uint8 else np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _context_disparity(depth: np.ndarray, context: np.ndarray) -> np.ndarray:
    return np.where(context, 1.0 / np.maximum(np.abs(depth), 1e-6), 0).astype(np.float32)


def _finish_color(filled: np.ndarray, color: np.ndarray, rgb: np.ndarray, context: np.ndarray,
                  hole: np.ndarray) -> np.ndarray:
    """The peel's colour in [0, 1] inside ``hole`` (the context mean where it did not reach), 0 elsewhere."""
    mean = rgb[context].mean(axis=0) if context.any() else np.full(3, 127.0)
    out = np.where(filled[..., None], color.astype(np.float32), mean.astype(np.float32)) * np.float32(1 / 255)
    return (out * hole[..., None]).astype(np.float32)


def _finish_depth(filled: np.ndarray, disparity: np.ndarray, context_disparity: np.ndarray,
                  context: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The peel's depth inside ``hole`` (the context median where it did not reach), 1 elsewhere."""
    fallback = float(np.median(context_disparity[context])) if context.any() else 1.0
    out = 1.0 / np.maximum(np.where(filled, disparity, fallback), 1e-3)
    return np.where(hole, out, 1.0).astype(np.float32)


def fill_prior_color(rgb: np.ndarray, context: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The non-learned colour fill of ``hole`` from ``context`` (onion peel, one surface).

    Args:
        rgb: (h, w, 3) uint8 (or float in [0, 1]) colour; only context pixels are read.
        context, hole: (h, w) bool.
    Returns:
        (h, w, 3) float32 in [0, 1]: the fill inside ``hole`` (the context mean where the
        peel cannot reach), 0 elsewhere.
    """
    from ...core.peel import peel_fill

    rgb = _as_uint8(rgb)
    zeros = np.zeros(context.shape, np.float32)
    filled, _, color = peel_fill(hole.astype(np.int32), context.astype(np.int32), zeros, rgb * context[..., None],
                                 1.0, target_disparity=zeros)
    return _finish_color(filled, color, rgb, context, hole)


def fill_prior_depth(depth: np.ndarray, context: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The non-learned depth fill of ``hole``: context disparity (1 / depth) onion-peeled in,
    the context median where the peel cannot reach. (h, w) float32 depth inside ``hole``, 1
    elsewhere."""
    from ...core.peel import peel_fill

    disp = _context_disparity(depth, context)
    filled, d, _ = peel_fill(hole.astype(np.int32), context.astype(np.int32), disp,
                             np.zeros(context.shape + (3,), np.uint8), 1.0)
    return _finish_depth(filled, d, disp, context, hole)


def fill_priors(rgb: np.ndarray, depth: np.ndarray, context: np.ndarray,
                hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`fill_prior_color`, :func:`fill_prior_depth`) from one onion peel instead of two.

    The depth peel's colour, with every colour source accepted (threshold ∞), equals the
    colour-only peel's (which accepts every source as well): the rings and the weights are
    the same, so both results are identical to the two separate calls (tested).
    """
    from ...core.peel import peel_fill

    rgb = _as_uint8(rgb)
    disp = _context_disparity(depth, context)
    filled, d, color = peel_fill(hole.astype(np.int32), context.astype(np.int32), disp, rgb * context[..., None], np.inf)
    return _finish_color(filled, color, rgb, context, hole), _finish_depth(filled, d, disp, context, hole)


def with_color_prior(x: np.ndarray, prior: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A colour-net input (6, h, w) with the fill (3, h, w) written into the hole's RGB."""
    x = x.copy()
    x[:3] = np.where(hole[None], prior, x[:3])
    return x


def with_depth_prior(x: np.ndarray, prior_depth: np.ndarray, hole: np.ndarray, mean: float) -> np.ndarray:
    """A depth-net input (4, h, w) with the fill's zero-mean log depth written into the hole."""
    x = x.copy()
    logd = np.log(np.abs(prior_depth).astype(np.float64) + LOG_EPS) - mean
    x[0] = np.where(hole, logd, x[0]).astype(np.float32)
    return x


def residual_output(kind: str, output, x):
    """The corrected values of a ``fill_residual`` network (numpy or torch, (N, C, h, w) or
    (C, h, w)): colour ``clip(input RGB + 2·(sigmoid − 0.5), 0, 1)``, depth ``input log depth
    + output``. ``x`` is the network's input (the fill in the hole)."""
    if kind == "color":
        return (x[..., :3, :, :] + 2.0 * (output - 0.5)).clip(0.0, 1.0)
    if kind == "depth":
        return x[..., :1, :, :] + output
    raise ValueError(f"no fill_residual convention for the {kind} net")
