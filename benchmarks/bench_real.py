"""Per-frame cost of the videos on real photos, and the quality the simplification keeps.

For a real photo with estimated-like depth (Middlebury Art view1 with its disparity, a BSDS500
photo with photo3d's heuristic depth prior; ../shared/data) at each longer side: the time of
everything before rendering, triangles of the full mesh and triangles drawn, milliseconds per
frame for drawing (rasterising, with a glFinish), read-back, downsampling and encoding
(ffmpeg's CPU time), this process's CPU time per frame (llvmpipe's threads included: what 2
free cores have to absorb, steadier than wall time on a shared machine), the four default
videos' wall time, and the PSNR of frames against the
full mesh's render (``Renderer(simplify=False)``) at the same pose: every ``--psnr-every``-th
frame of each path. Two simplifications are compared: ``render.simplify_error`` 0.3 px (the
default: patches follow the depth's smoothness) and 0 (planar patches only, as before).

    python -m benchmarks.bench_real                         # 320 640 960, both photos
    python -m benchmarks.bench_real --sizes 1920 --frames 60  # 60 frames a path, times scaled to 240

Each row also records the load average when it started and ended and the CPU time (this
process, llvmpipe's threads included) of the build and of the upload: on a shared machine the
CPU times are the steadier numbers. Run with another checkout's package on the path
(``PYTHONPATH=/path/to/main python benchmarks/bench_real.py``) to compare two versions at the
same moment.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from photo3d.api import Photo3D
from photo3d.camera import PATH_NAMES
from photo3d.config import Config
from photo3d.pipeline import path_frames, video_motion, video_options
from photo3d.render import Renderer
from photo3d.video import video_intrinsics, write_path_video

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not DATA.is_dir():  # a checkout outside the project folder
    DATA = Path("/work/shared/data")
PHOTOS = {
    "Art": ("middlebury_2005_2006_half/Art/view1.png", "middlebury_2005_2006_half/Art/disp1.png"),
    "bsds100007": ("bsds500/test/100007.jpg", None),
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def run(name: str, side: int, frames: int, psnr_every: int, errors: list[float],
        masked: bool | None = None) -> list[dict]:
    image, depth = PHOTOS[name]
    config = Config()
    config.prepare.longer_side = side
    config.prepare.enlarge = True
    config.inpaint.method = "fill"
    config.depth.download = False  # offline: photos without a depth file get the heuristic prior
    config.video.num_frames = frames
    load_start = round(os.getloadavg()[0], 1)
    start, cpu_start = time.perf_counter(), time.process_time()
    p3d = Photo3D.from_files(DATA / image, DATA / depth if depth else None, config=config)
    before, before_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    scene, k = p3d.scene, p3d.intrinsics
    motion = video_motion(scene, config.video)
    options = video_options(config.video, scene.prepared.depth_scale)
    paths = {n: path_frames(n, config.video, scene.prepared.center_depth, scene.prepared.depth_scale, intrinsics=k)
             for n in PATH_NAMES}
    rows = []
    with Renderer(k.width, k.height, supersample=2.0, simplify=False) as full:
        full.set_mesh(p3d.mesh)
        for error in errors:
            row = {"photo": name, "size": f"{k.width}x{k.height}", "load_start": load_start,
                   "before_render_s": round(before, 2), "before_render_cpu_s": round(before_cpu, 2),
                   "triangles_full": p3d.mesh.num_faces, "simplify_error_px": error,
                   "masked_patches": bool(config.render.masked_patches if masked is None else masked)}
            with Renderer(k.width, k.height, supersample=2.0, simplify=True, simplify_error=error, profile=True,
                          masked_patches=row["masked_patches"]) as r:
                t, c = time.perf_counter(), time.process_time()
                r.set_mesh(p3d.mesh, motion=motion)
                row["upload_s"] = round(time.perf_counter() - t, 2)
                row["upload_cpu_s"] = round(time.process_time() - c, 2)
                row["triangles_drawn"] = r.num_triangles
                wall, encode, n, cpu = 0.0, 0.0, 0, 0.0
                scores = []
                with tempfile.TemporaryDirectory() as tmp:
                    for path_name, run_frames in paths.items():
                        c0 = time.process_time()
                        result = write_path_video(r, run_frames, k, Path(tmp) / f"{path_name}.mp4",
                                                  float(config.video.fps), **options)
                        cpu += time.process_time() - c0
                        wall += result.wall_seconds
                        encode += result.encode_cpu_seconds
                        n += len(run_frames)
                        for frame in run_frames[::psnr_every]:
                            cam = video_intrinsics(k, frame, options["crop"], options["size"], options["aspect"])
                            scores.append(psnr(r.render(frame.pose, cam)[0], full.render(frame.pose, cam)[0]))
                n_rendered = n + len(scores)
                scale = 240 / frames
                row.update({
                    "draw_ms": round(1000 * r.seconds["draw"] / n_rendered, 1),
                    "readback_ms": round(1000 * r.seconds["readback"] / n_rendered, 1),
                    "downsample_ms": round(1000 * r.seconds["downsample"] / n_rendered, 1),
                    "encode_cpu_ms": round(1000 * encode / n, 1),
                    "frame_wall_ms": round(1000 * wall / n, 1),
                    "render_cpu_ms": round(1000 * cpu / n, 1),
                    "four_videos_s": round(wall * scale, 1),
                    "psnr_min": round(min(scores), 2), "psnr_frames": len(scores), "psnr_mean": round(float(np.mean(scores)), 2),
                    "load_end": round(os.getloadavg()[0], 1),
                })
            rows.append(row)
            print(json.dumps(row), flush=True)
    p3d.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", nargs="+", default=list(PHOTOS), choices=list(PHOTOS))
    ap.add_argument("--sizes", nargs="+", type=int, default=[320, 640, 960])
    ap.add_argument("--frames", type=int, default=240, help="frames per path (times are scaled to 240)")
    ap.add_argument("--psnr-every", type=int, default=12)
    ap.add_argument("--errors", nargs="+", type=float, default=[0.3, 0.0])
    ap.add_argument("--out", help="also append the rows (JSON lines) to this file")
    ap.add_argument("--masked-patches", choices=("config", "on", "off"), default="config",
                    help="the renderer's masked patches (render.masked_patches): as configured, on or off")
    args = ap.parse_args()
    for name in args.photos:
        for side in args.sizes:
            masked = None if args.masked_patches == "config" else args.masked_patches == "on"
            rows = run(name, side, args.frames, args.psnr_every, args.errors, masked)
            if args.out:
                with open(args.out, "a") as f:
                    f.writelines(json.dumps(row) + "\n" for row in rows)


if __name__ == "__main__":
    main()
