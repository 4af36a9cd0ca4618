"""Encoding cost of each video format: ``python -m benchmarks.bench_formats [--frames N] [--size 960]``.

Renders the bundled sample's mesh along ``circle`` once (frames held in memory), then streams
the same frames into each format and reports wall time per frame, ffmpeg's CPU time per frame
and the size of what was written.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


from photo3d.config import Config
from photo3d.inputs import load_inputs
from photo3d.pipeline import build_scene, make_renderer, path_frames
from photo3d.video import VideoWriter, video_intrinsics

REPO = Path(__file__).resolve().parents[1]
FORMATS = [("mp4 H.264", "mp4", "h264"), ("mp4 H.265", "mp4", "h265"), ("webm VP9", "webm", "h264"),
           ("gif", "gif", "h264"), ("png sequence", "png", "h264"), ("jpg sequence", "jpg", "h264")]


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir()) if path.is_dir() else path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", type=int, default=960, help="longer side of the working image")
    args = ap.parse_args()
    config = Config.from_keys(longer_side=args.size, inpaint="fill")
    rgbd = load_inputs(REPO / "inputs" / "sample.png", REPO / "inputs" / "sample_disparity.png", config.depth)
    scene = build_scene(rgbd.image, rgbd.depth, config, kind=rgbd.kind)
    k = scene.mesh.intrinsics
    frames = path_frames("circle", config.video, scene.prepared.center_depth, num_frames=args.frames)
    with make_renderer(k, config.render) as renderer:
        renderer.set_mesh(scene.mesh)
        images = [renderer.render(f.pose, video_intrinsics(k, f, config.video.crop_fractions()))[0] for f in frames]
    h, w = images[0].shape[:2]
    print(f"{len(images)} frames of {w}x{h}, the sample along circle\n")
    print("| format | ms/frame (wall) | ffmpeg CPU ms/frame | size |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, fmt, codec in FORMATS:
            target = Path(tmp) / f"clip.{fmt}"
            start = time.perf_counter()
            with VideoWriter(target, 40, (w, h), format=fmt, codec=codec) as writer:
                for image in images:
                    writer.write(image)
            wall = time.perf_counter() - start
            size = size_of(writer.path)
            print(f"| {label} | {1000 * wall / len(images):.0f} | {1000 * writer.encode_cpu_seconds / len(images):.0f} "
                  f"| {size / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
