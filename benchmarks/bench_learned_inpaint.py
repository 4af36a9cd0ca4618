"""Time and peak memory of the learned inpainting stage on the 960 px sample.

The three networks have the published architecture (same cost as the real weights) with the
deterministic random recipe weights of photo3d/inpaint/recipe_weights.py, so the numbers say nothing
about quality. With random weights every mask pixel passes the edge threshold (see
shared/compat/REFERENCE_PIPELINE.md §2), which changes nothing here: the edge net's cost
depends only on the crop sizes.

    python -m benchmarks.bench_learned_inpaint [--image inputs/sample.png]
        [--depth inputs/sample_disparity.png] [--device cpu] [--threads N]
        [--max-batch-pixels N] [--repeats 1] [--json FILE]

Reports: crops (size, padded size, whether the edge net ran, colour downscale), seconds per
network and for input preparation, per-crop latency, and ``ru_maxrss`` (peak resident memory
of the process) before and after the stage. Targets on the 2-core CPU: <= 60 s, <= 4 GB.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prepare_scene(image_path: Path, depth_path: Path):
    """The pipeline stages before inpainting: (canvas, discontinuities, regions, config)."""
    from photo3d import io
    from photo3d.config import Config
    from photo3d.pipeline import build_regions

    config = Config.from_keys(inpaint="learned")
    before = build_regions(io.read_image(image_path), io.read_depth(depth_path), config, source=str(depth_path))
    canvas, disc, regions = before.canvas, before.discontinuities, before.regions
    return canvas, disc, regions, config


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=ROOT / "inputs" / "sample.png")
    ap.add_argument("--depth", type=Path, default=ROOT / "inputs" / "sample_disparity.png")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--max-batch-pixels", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    from photo3d.inpaint.recipe_weights import recipe_network

    from photo3d.inpaint.batching import padded_size
    from photo3d.inpaint.learned import PAD_MULTIPLE, LearnedInpainter, LearnedSettings, color_scale, segment_crops

    if args.threads:
        torch.set_num_threads(args.threads)
    canvas, disc, regions, config = prepare_scene(args.image, args.depth)
    crops = segment_crops(canvas, disc, regions)
    rss_before_nets = max_rss_mib()
    t0 = time.perf_counter()
    inpainter = LearnedInpainter(*(recipe_network(k) for k in ("edge", "depth", "color")),
                                 device=args.device, max_batch_pixels=args.max_batch_pixels,
                                 settings=LearnedSettings.from_config(config.inpaint, config.edges.depth_threshold))
    build_s = time.perf_counter() - t0
    rss_before = max_rss_mib()
    runs, cpu_runs, steps = [], [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), cpu_seconds()
        fill = inpainter(canvas, disc, regions)
        runs.append(time.perf_counter() - t0)
        cpu_runs.append(cpu_seconds() - c0)
        steps.append(dict(inpainter.last_stats.seconds))
    stats = inpainter.last_stats
    rss_after = max_rss_mib()

    crop_rows = []
    for c in crops:
        h, w = c.shape
        frac = color_scale(h, w, int(config.inpaint.largest_size))
        crop_rows.append({"segment": c.segment, "crop": [h, w], "padded": list(padded_size(h, w, PAD_MULTIPLE)),
                          "synthesis_px": int(c.synthesis.sum()), "context_px": int(c.context.sum()),
                          "edge_net": bool(c.context_edges.any()),
                          "color_crop": [h, w] if frac >= 1 else [round(h * frac), round(w * frac)]})
    fastest = steps[runs.index(min(runs))]  # the least disturbed run on a shared machine
    net_s = {k: fastest.get(k, 0.0) for k in ("edge", "depth", "color")}
    per_crop = {"edge": net_s["edge"] / max(stats.edge_crops, 1), "depth": net_s["depth"] / max(stats.crops, 1),
                "color": net_s["color"] / max(stats.crops, 1)}
    result = {
        "device": str(inpainter.device), "threads": torch.get_num_threads(),
        "max_batch_pixels": inpainter.max_batch_pixels, "canvas": list(canvas.shape),
        "segments": regions.num_segments, "crops": crop_rows, "edge_crops": stats.edge_crops,
        "color_downscaled": stats.color_downscaled, "network_build_s": build_s,
        "stage_s": runs, "stage_cpu_s": cpu_runs, "step_s": steps, "per_crop_s": per_crop,
        "filled_px": int(fill.mask.sum()), "synthesis_px": int((regions.synthesis_label > 0).sum()),
        "rss_before_networks_mib": rss_before_nets, "rss_before_stage_mib": rss_before,
        "peak_rss_mib": rss_after,
    }
    print(f"device {result['device']}, {result['threads']} threads, canvas {canvas.shape[1]}x{canvas.shape[0]}, "
          f"max_batch_pixels {inpainter.max_batch_pixels}")
    print(f"{len(crops)} crops ({stats.edge_crops} through the edge net, {stats.color_downscaled} colour crops downscaled):")
    for row in crop_rows:
        print(f"  segment {row['segment']:3d}: crop {row['crop'][0]}x{row['crop'][1]} -> padded "
              f"{row['padded'][0]}x{row['padded'][1]}, colour {row['color_crop'][0]}x{row['color_crop'][1]}, "
              f"edge net {'yes' if row['edge_net'] else 'no'}, {row['synthesis_px']} px to fill")
    print("learned inpainting stage: " + ", ".join(f"{s:.2f}" for s in runs) + " s wall, "
          + ", ".join(f"{s:.2f}" for s in cpu_runs) + " s CPU (all threads; on a busy machine "
          "CPU / threads estimates the idle wall time)")
    for i, run_steps in enumerate(steps):
        print(f"  steps (run {i + 1}): " + ", ".join(f"{k} {v:.2f} s" for k, v in run_steps.items()))
    print("  per crop (fastest run): " + ", ".join(f"{k} {v:.2f} s" for k, v in per_crop.items()))
    print(f"  filled {result['filled_px']} of {result['synthesis_px']} synthesis px (random weights)")
    print(f"peak RSS: {rss_before_nets:.0f} MiB before networks, {rss_before:.0f} MiB with networks, "
          f"{rss_after:.0f} MiB after the stage")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
