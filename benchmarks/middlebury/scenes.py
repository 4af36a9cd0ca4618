"""Loading Middlebury 2005/2006 scenes: views, ground-truth disparities, their unknowns filled."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from photo3d.core.prepare import fill_invalid, working_size
from photo3d.errors import Photo3DError

__all__ = ['StereoScene', 'TARGET_VIEWS', 'fill_unknown_disparity', 'load_middlebury_scene', 'view_shift']


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
