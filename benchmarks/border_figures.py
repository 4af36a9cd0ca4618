"""Border figures: the canvas (photo + border band) of a few scenes, and a render past the
frame, written as PNGs so that two code states can be put side by side (before | after).

    python -m benchmarks.border_figures canvas --out /tmp/before     # Art, Reindeer, BSDS 100039
    python -m benchmarks.border_figures canvas --out /tmp/after
    python -m benchmarks.border_figures compare /tmp/before /tmp/after \
        --name Art_canvas --box 560,120,760,450 --out docs/artefacts/x_before_after.png

``canvas`` writes ``<scene>_canvas.png`` (the filled canvas, the photo's frame drawn as a
white line), ``<scene>_canvas_disparity.png`` (its disparity, for looking at where near
objects go) and, for the Middlebury scenes, ``<scene>_t1.png`` (photo3d's render at t = 1,
the camera moved by the view1-view5 baseline, with the target view beside it), and prints
the fill_border time (CPU seconds, best of 5). ``compare`` crops one name from two such
folders and puts them side by side, enlarged.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks import middlebury as ev
from photo3d.config import Config
from photo3d.core.canvas import fill_border, make_canvas
from photo3d.core.prepare import prepare

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MIDDLEBURY = ("Art", "Reindeer")
BSDS = ("test/100039.jpg",)


def framed(color: np.ndarray, pad: int) -> np.ndarray:
    """The canvas colour (RGB) with the photo's frame drawn 1 px outside it, white."""
    out = color.copy()
    h, w = out.shape[:2]
    cv2.rectangle(out, (pad - 1, pad - 1), (w - pad, h - pad), (255, 255, 255), 1)
    return out


def disparity_image(disparity: np.ndarray) -> np.ndarray:
    """Disparity as a grey RGB image (near bright), scaled to the canvas's own range."""
    lo, hi = np.percentile(disparity, [1, 99.5])
    grey = np.clip((disparity - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def timed_fill(prepared, pad: int, threshold: float, repeats: int = 5):
    """fill_border's result and its best CPU time (s) over ``repeats`` runs."""
    best = np.inf
    for _ in range(repeats):
        canvas = make_canvas(prepared, pad)
        start = time.process_time()
        filled = fill_border(canvas, threshold)
        best = min(best, time.process_time() - start)
    return filled, best


def write_canvas(out: Path, name: str, prepared, config: Config) -> None:
    """Fill ``prepared``'s canvas, print the fill's time and write its colour and disparity."""
    threshold = float(config.edges.depth_threshold)
    pad = config.regions.border_pad(max(prepared.depth.shape))
    filled, seconds = timed_fill(prepared, pad, threshold)
    h, w = prepared.depth.shape
    print(f"{name}: {w}x{h}, pad {pad}, fill_border {seconds * 1000:.1f} ms CPU")
    write_rgb(out / f"{name}_canvas.png", framed(filled.color, pad))
    write_rgb(out / f"{name}_canvas_disparity.png", framed(disparity_image(filled.detect_disparity), pad))


def canvases(out: Path, size: int, render: bool, scenes: tuple[str, ...] = MIDDLEBURY,
             bsds: tuple[str, ...] = BSDS) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = Config.from_keys(longer_side=size, inpaint="fill", paths=[])
    threshold = float(config.edges.depth_threshold)
    for name in scenes:
        scene = ev.load_middlebury_scene(DATA / "middlebury_2005_2006_half" / name, size)
        image, disparity, k = ev.view1_input(scene)
        depth = ev.depth_from_disparity(disparity, k.fx)
        # as the harness builds it: true depth, no scan-border crop
        prepared = prepare(image, depth, dataclasses.replace(config.prepare, crop_scan_border=False),
                           depth_threshold=threshold, kind="depth", intrinsics=k, normalize=False)
        write_canvas(out, name, prepared, config)
        if render:
            from photo3d.render import Renderer

            with Renderer(64, 64) as renderer:
                result = ev.photo3d_renders(scene, config, renderer, (5,))
            rgb, _ = result.renders[5]
            write_rgb(out / f"{name}_t1.png", np.concatenate([scene.views[5], rgb], axis=1))
    from photo3d.inputs import load_inputs

    for rel in bsds:  # as the CLI builds it: depth found or estimated, scan border cropped
        rgbd = load_inputs(DATA / "bsds500" / rel, None, config.depth, config.inpaint.checkpoints)
        prepared = prepare(rgbd.image, rgbd.depth, config.prepare, depth_threshold=threshold, kind=rgbd.kind,
                           source=rgbd.source)
        write_canvas(out, "bsds" + Path(rel).stem, prepared, config)


def compare(before: Path, after: Path, name: str, box: tuple[int, int, int, int], scale: int, out: Path,
            vertical: bool) -> None:
    x0, y0, x1, y1 = box
    crops = []
    for label, folder in (("before", before), ("after", after)):
        image = cv2.imread(str(folder / f"{name}.png"))[y0:y1, x0:x1]
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        cv2.putText(image, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 255), 1, cv2.LINE_AA)
        crops.append(image)
    gap = np.full((4, crops[0].shape[1], 3) if vertical else (crops[0].shape[0], 4, 3), 255, np.uint8)
    cv2.imwrite(str(out), np.concatenate([crops[0], gap, crops[1]], axis=0 if vertical else 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("canvas")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--size", type=int, default=640, help="longer side (default 640)")
    c.add_argument("--no-render", action="store_true", help="skip the t = 1 renders")
    c.add_argument("--scenes", default=",".join(MIDDLEBURY), help="Middlebury scenes (comma-separated)")
    c.add_argument("--bsds", default=",".join(BSDS), help="BSDS500 photos (comma-separated, '' for none)")
    m = sub.add_parser("compare")
    m.add_argument("before", type=Path)
    m.add_argument("after", type=Path)
    m.add_argument("--name", required=True, help="e.g. Art_canvas, Art_t1")
    m.add_argument("--box", required=True, help="x0,y0,x1,y1 in the images' pixels")
    m.add_argument("--scale", type=int, default=2)
    m.add_argument("--vertical", action="store_true", help="before above after")
    m.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "canvas":
        canvases(args.out, args.size, not args.no_render, tuple(filter(None, args.scenes.split(","))),
                 tuple(filter(None, args.bsds.split(","))))
    else:
        box = tuple(int(v) for v in args.box.split(","))
        compare(args.before, args.after, args.name, box, args.scale, args.out, args.vertical)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
