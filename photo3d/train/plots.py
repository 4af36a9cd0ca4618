"""Figures drawn with OpenCV only (matplotlib is not a dependency): the loss curve and the
sample sheet (context, hole, prediction, truth), written as PNG."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

_BG, _AXIS, _LINES = (255, 255, 255), (90, 90, 90), ((200, 80, 20), (40, 140, 40), (30, 60, 200), (150, 40, 150))


def _write_png(path: Path, image_rgb: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    tmp.replace(path)
    return path


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Running mean over ``window`` points (shorter at the start), (N,) → (N,)."""
    if len(values) == 0:
        return values
    c = np.cumsum(np.concatenate([[0.0], values]))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def loss_curve(path: Path, steps: np.ndarray, curves: dict[str, np.ndarray], title: str,
               size: tuple[int, int] = (720, 420)) -> Path:
    """Plot each named curve (values per step, log y axis, smoothed) into a PNG."""
    w, h = size
    img = np.full((h, w, 3), _BG, np.uint8)
    left, right, top, bottom = 70, 20, 30, 40
    cv2.putText(img, title, (left, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _AXIS, 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (w - right, h - bottom), _AXIS, 1)
    if len(steps) == 0:
        return _write_png(path, img)
    window = max(1, len(steps) // 50)
    series = {k: np.log10(np.maximum(smooth(np.asarray(v, np.float64), window), 1e-8)) for k, v in curves.items()}
    lo = min(float(s.min()) for s in series.values())
    hi = max(float(s.max()) for s in series.values())
    if hi - lo < 1e-6:
        hi = lo + 1.0
    x0, x1 = float(steps.min()), float(max(steps.max(), steps.min() + 1))
    px = left + (steps - x0) / (x1 - x0) * (w - left - right)
    for i, (name, s) in enumerate(series.items()):
        py = h - bottom - (s - lo) / (hi - lo) * (h - top - bottom)
        pts = np.stack([px, py], 1).round().astype(np.int32)
        cv2.polylines(img, [pts], False, _LINES[i % len(_LINES)], 1, cv2.LINE_AA)
        cv2.putText(img, name, (w - right - 150, top + 18 + 16 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    _LINES[i % len(_LINES)], 1, cv2.LINE_AA)
    for frac in (0.0, 0.5, 1.0):
        v = lo + frac * (hi - lo)
        y = int(h - bottom - frac * (h - top - bottom))
        cv2.putText(img, f"{10 ** v:.3g}", (5, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, _AXIS, 1, cv2.LINE_AA)
    for frac in (0.0, 0.5, 1.0):
        x = int(left + frac * (w - left - right))
        cv2.putText(img, f"{int(x0 + frac * (x1 - x0))}", (x - 15, h - bottom + 18), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, _AXIS, 1, cv2.LINE_AA)
    cv2.putText(img, "step (loss, log scale, smoothed)", (left + 150, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                _AXIS, 1, cv2.LINE_AA)
    return _write_png(path, img)


def to_rgb(array: np.ndarray) -> np.ndarray:
    """(S, S) in [0, 1] or (3, S, S) / (S, S, 3) in [0, 1] → (S, S, 3) uint8."""
    a = np.asarray(array, np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)


def normalise(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Map values to [0, 1] using the range inside ``mask`` (or everywhere when empty)."""
    ref = values[mask] if mask.any() else values.ravel()
    lo, hi = float(ref.min()), float(ref.max())
    return np.clip((values - lo) / max(hi - lo, 1e-6), 0, 1)


def sample_sheet(path: Path, rows: list[list[np.ndarray]], header: list[str], scale: int = 2) -> Path:
    """A grid of (S, S, 3) uint8 tiles, one row per sample, with column names on top."""
    tile = rows[0][0].shape[0] * scale
    gap, head = 4, 22
    h = head + len(rows) * (tile + gap)
    w = len(header) * (tile + gap)
    img = np.full((h, w, 3), 255, np.uint8)
    for j, name in enumerate(header):
        cv2.putText(img, name, (j * (tile + gap) + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, _AXIS, 1, cv2.LINE_AA)
    for i, row in enumerate(rows):
        for j, t in enumerate(row):
            big = cv2.resize(t, (tile, tile), interpolation=cv2.INTER_NEAREST)
            y, x = head + i * (tile + gap), j * (tile + gap)
            img[y:y + tile, x:x + tile] = big
    return _write_png(path, img)
