"""Stage timings and peak memory of the whole pipeline on the bundled sample scene.

    python -m benchmarks.bench_pipeline                       # 960, 1920, 3840 px, 24 frames/video
    python -m benchmarks.bench_pipeline --sizes 960 --frames 240   # the full default videos at 960

Each size runs in its own process (peak memory = that process's max RSS). The scene is
ray-cast at the requested size by inputs/make_sample.py (so no upsampling blur), with the
same disparity convention as the CLI's input. Inpainting: the non-learned fill (the learned
networks have their own benchmark). Writes a Markdown table to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_one(size: int, frames: int, paths: list[str]) -> dict:
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    import numpy as np

    import runpy

    render_scene = runpy.run_path(str(REPO / "inputs" / "make_sample.py"))["render_scene"]
    from photo3d.config import Config
    from photo3d.pipeline import build_scene, write_outputs

    width, height = size, size * 2 // 3
    image, depth = render_scene(width, height)
    disparity = 1.0 / depth
    config = Config.from_keys(longer_side=size, inpaint="fill", num_frames=frames, paths=paths)
    t0 = time.perf_counter()
    scene = build_scene(image, disparity.astype(np.float32), config)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        write_outputs(scene, tmp, "bench", config)
        out_s = time.perf_counter() - t1
    return {
        "size": f"{width}x{height}",
        "stages": scene.timings.stages,
        "before_render_s": build_s,
        "outputs_s": out_s,
        "frames": frames * len(paths),
        "triangles": scene.mesh.num_faces,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="960,1920,3840")
    ap.add_argument("--frames", type=int, default=24, help="frames per video")
    ap.add_argument("--paths", default="circle,swing,zoom-in,dolly-zoom-in")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    if args.child:
        print(json.dumps(run_one(args.child, args.frames, paths)))
        return
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--frames", str(args.frames),
                              "--paths", args.paths], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"done {size}", file=sys.stderr)
    names = [n for n, _ in results[0]["stages"] if not n.startswith("video") and n not in ("write ply", "upload mesh")]
    print("| stage | " + " | ".join(r["size"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for n in names:
        cells = [f"{dict(r['stages']).get(n, float('nan')):.2f} s" for r in results]
        print(f"| {n} | " + " | ".join(cells) + " |")
    print("| **before rendering** | " + " | ".join(f"**{r['before_render_s']:.2f} s**" for r in results) + " |")
    print("| write PLY + upload | " + " | ".join(
        f"{dict(r['stages']).get('write ply', 0) + dict(r['stages']).get('upload mesh', 0):.2f} s" for r in results) + " |")
    print("| render + encode (per frame) | " + " | ".join(
        f"{sum(s for n, s in r['stages'] if n.startswith('video')) / max(r['frames'], 1) * 1000:.0f} ms" for r in results) + " |")
    print("| triangles | " + " | ".join(f"{r['triangles']:,}" for r in results) + " |")
    print("| peak memory | " + " | ".join(f"{r['peak_rss_mb'] / 1024:.2f} GB" for r in results) + " |")


if __name__ == "__main__":
    main()
