"""Border proxy: how well the border extension guesses what lies beyond the frame, without
rendering. Each Middlebury 2005/2006 scene's view1 (480 px, true depth, ``normalize=False``)
has ``--cut`` px cut off every side; the cut photo is extended (``core.canvas.fill_border``)
and the band's first ``--cut`` px are scored against the cut-away pixels (PSNR pooled over
scenes, left-right and top-bottom bands apart).

    python -m benchmarks.border_proxy                 # 16 scenes, 24 px
    python -m benchmarks.border_proxy --scenes Art,Reindeer --cut 16
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from benchmarks import middlebury as ev
from photo3d.config import Config
from photo3d.core.canvas import fill_border, make_canvas
from photo3d.core.prepare import prepare

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "middlebury_2005_2006_half"


def psnr(sq_error: float, count: int) -> float:
    return float(10 * np.log10(255.0 ** 2 / (sq_error / max(count, 1))))


def scene_errors(folder: Path, cut: int, size: int) -> dict[str, tuple[float, int]]:
    """{"lr"|"tb": (summed squared error, values)} of one scene's band against the cut-away pixels."""
    scene = ev.load_middlebury_scene(folder, size)
    image, disparity, k = ev.view1_input(scene)
    depth = ev.depth_from_disparity(disparity, k.fx)
    h, w = depth.shape
    config = Config.from_keys(longer_side=size, inpaint="fill", paths=[])
    threshold = float(config.edges.depth_threshold)
    prepared = prepare(image[cut:h - cut, cut:w - cut], depth[cut:h - cut, cut:w - cut],
                       dataclasses.replace(config.prepare, crop_scan_border=False),
                       depth_threshold=threshold, kind="depth", normalize=False)
    pad = config.regions.border_pad(max(prepared.depth.shape))
    canvas = fill_border(make_canvas(prepared, pad), threshold)
    # canvas pixel (pad + y', pad + x') is the cut photo's (y', x'), the photo's (cut + y', cut + x')
    guess = canvas.color[pad - cut:pad - cut + h, pad - cut:pad - cut + w].astype(np.float64)
    truth = image.astype(np.float64)
    lr = np.zeros((h, w), bool)
    lr[cut:h - cut, :cut] = lr[cut:h - cut, w - cut:] = True
    tb = np.zeros((h, w), bool)
    tb[:cut, cut:w - cut] = tb[h - cut:, cut:w - cut] = True
    return {name: (float(((guess[m] - truth[m]) ** 2).sum()), int(m.sum()) * 3) for name, m in (("lr", lr), ("tb", tb))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    parser.add_argument("--cut", type=int, default=24, help="px cut off every side (at most the band)")
    parser.add_argument("--size", type=int, default=480, help="longer side of the scenes")
    args = parser.parse_args(argv)
    wanted = set(filter(None, args.scenes.split(",")))
    totals = {"lr": [0.0, 0], "tb": [0.0, 0]}
    print("| scene | left-right | top-bottom |\n|---|---|---|")
    for folder in sorted(p for p in args.data.iterdir() if p.is_dir()):
        if wanted and folder.name not in wanted:
            continue
        errors = scene_errors(folder, args.cut, args.size)
        for name, (e, n) in errors.items():
            totals[name][0] += e
            totals[name][1] += n
        print(f"| {folder.name} | {psnr(*errors['lr']):.2f} | {psnr(*errors['tb']):.2f} |")
    print(f"| **pooled** | **{psnr(*totals['lr']):.2f}** | **{psnr(*totals['tb']):.2f}** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
