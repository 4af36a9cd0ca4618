"""Draw each camera path's trajectory (the README's pictures): ``python -m benchmarks.path_figures``.

Writes ``docs/paths/<name>.png``: the camera centre seen from the front (x right, y down) and
from above (x right, z forward = up in the picture), coloured from blue (first frame) to red
(last), the start marked; the focal-length range is printed under the panels. Units: the
reference's normalised depth (the sample's centre depth is 2 in this figure).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from photo3d.camera import ALL_PATH_NAMES, camera_path
from photo3d.core.data import Intrinsics

PANEL = 170  # pixels per panel side
SPAN = 0.11  # half the extent each panel shows, in normalised depth units


def _panel(points: np.ndarray, title: str) -> np.ndarray:
    """One square panel: a 2-D polyline (N, 2) in world units, centred on the input camera."""
    img = np.full((PANEL, PANEL, 3), 255, np.uint8)
    c = PANEL // 2
    cv2.line(img, (c, 12), (c, PANEL - 4), (225, 225, 225), 1)
    cv2.line(img, (4, c), (PANEL - 4, c), (225, 225, 225), 1)
    px = np.round(c + points / SPAN * (PANEL / 2 - 10)).astype(np.int32)
    n = len(px)
    for i in range(n - 1):
        t = i / max(n - 2, 1)
        colour = (int(255 * (1 - t)), 60, int(255 * t))  # BGR: blue -> red
        cv2.line(img, tuple(map(int, px[i])), tuple(map(int, px[i + 1])), colour, 2, cv2.LINE_AA)
    cv2.circle(img, tuple(map(int, px[0])), 4, (255, 0, 0), -1, cv2.LINE_AA)
    cv2.circle(img, (c, c), 2, (0, 0, 0), -1)
    cv2.putText(img, title, (5, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def figure(name: str, frames: int = 120) -> np.ndarray:
    """Front and top views of one path, and its focal range."""
    k = Intrinsics.default(960, 640)
    path = camera_path(name, frames, center_depth=2.0, intrinsics=k)
    centres = np.array([f.pose[:3, 3] for f in path])
    scales = np.array([f.focal_scale for f in path])
    front = _panel(centres[:, [0, 1]], "front: x right, y down")
    top = _panel(np.stack([centres[:, 0], -centres[:, 2]], 1), "top: x right, z up")
    body = np.concatenate([front, np.full((PANEL, 4, 3), 200, np.uint8), top], axis=1)
    caption = np.full((34, body.shape[1], 3), 255, np.uint8)
    turns = any(not np.allclose(f.pose[:3, :3], np.eye(3)) for f in path)
    text = f"{name}: focal x{scales.min():.2f}-{scales.max():.2f}" + (", aims at the centre" if turns else "")
    cv2.putText(caption, text, (5, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(caption, f"blue = first frame, red = last; box = +-{SPAN} units", (5, 29),
                cv2.FONT_HERSHEY_SIMPLEX, 0.33, (90, 90, 90), 1, cv2.LINE_AA)
    return np.concatenate([body, caption], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/paths")
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ALL_PATH_NAMES:
        cv2.imwrite(str(out / f"{name}.png"), figure(name))
        print(out / f"{name}.png")


if __name__ == "__main__":
    main()
