"""Scores: PSNR and SSIM over masks, per region of a target view."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from photo3d.errors import Photo3DError

from .geometry import ViewGeometry

__all__ = ['RegionScore', 'ViewScore', 'masked_mean', 'masked_psnr', 'psnr_from_mse', 'score_view', 'ssim_map']


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
