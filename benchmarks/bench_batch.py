"""Batch throughput: ``python -m benchmarks.bench_batch [--photos 8] [--runners one,jobs2,ray]``.

Makes N photos (crops of the bundled sample with their disparity, saved as
``<name>.png`` + ``<name>_disparity.png``), then runs ``photo3d batch`` over them with one
process, ``--jobs 2`` and a local Ray (``--ray``, one worker per CPU), each in a fresh process
and a fresh output folder, and prints photos per minute (wall time of the whole command,
start-up included) and the batch's own figure (from its report).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
RUNNERS = {"one": [], "jobs2": ["--jobs", "2"], "ray": ["--ray"]}


def make_photos(folder: Path, count: int) -> None:
    image = cv2.imread(str(REPO / "inputs" / "sample.png"))
    disparity = cv2.imread(str(REPO / "inputs" / "sample_disparity.png"), cv2.IMREAD_UNCHANGED)
    h, w = image.shape[:2]
    for i in range(count):  # 3:2 crops sliding across the sample
        x0 = int((w - 0.75 * w) * i / max(count - 1, 1))
        crop = (slice(0, int(0.75 * h)), slice(x0, x0 + int(0.75 * w)))
        cv2.imwrite(str(folder / f"photo{i}.png"), image[crop])
        cv2.imwrite(str(folder / f"photo{i}_disparity.png"), disparity[crop])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--runners", default="one,jobs2,ray")
    ap.add_argument("--longer-side", default="320")
    ap.add_argument("--frames", default="40")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        make_photos(photos, args.photos)
        print(f"{args.photos} photos, longer side {args.longer_side}, paths circle,swing x {args.frames} frames, "
              "inpaint fill\n")
        print("| runner | wall s | photos/minute (wall) | photos/minute (batch report) |")
        print("|---|---|---|---|")
        for name in args.runners.split(","):
            out = Path(tmp) / f"out_{name}"
            cmd = [sys.executable, "run.py", "batch", str(photos), "--out", str(out), "--longer-side",
                   args.longer_side, "--frames", args.frames, "--paths", "circle,swing", "--inpaint", "fill",
                   "--quiet", *RUNNERS[name]]
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                print(f"| {name} | failed: {proc.stderr.strip().splitlines()[-1:]} | | |")
                continue
            totals = json.loads((out / "batch_report.json").read_text())["totals"]
            print(f"| {name} | {wall:.1f} | {60 * args.photos / wall:.1f} | {totals['photos_per_minute']:.1f} |")


if __name__ == "__main__":
    main()
