"""Per-crop latency and peak memory of the full-size inpainting networks.

The networks have the published architecture with the deterministic recipe weights of
photo3d/inpaint/recipe_weights.py (random, so the numbers say nothing about quality). Each network
runs in its own subprocess so that ``ru_maxrss`` (peak resident memory of the process) is
its own; crop sizes run in increasing order, so the peak after each size is that size's.

    python -m benchmarks.bench_inpaint_networks [--kinds edge depth color]
        [--sizes 256x256 384x512 512x512 200x960] [--repeats 3] [--device cpu] [--json FILE]

Crops are zero-padded to multiples of 128 (as the reference does) by ``run_batched``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = {"edge": 7, "depth": 4, "color": 6}


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _crop(channels: int, height: int, width: int):
    """A crop with random content, a hole band in the middle and context elsewhere."""
    import torch

    g = torch.Generator().manual_seed(height * 10_000 + width)
    crop = torch.rand(channels, height, width, generator=g)
    hole = torch.zeros(height, width, dtype=torch.bool)
    hole[:, width // 3: 2 * width // 3] = True
    crop[-1] = hole.float()
    crop[-2] = (~hole).float()
    return crop


def run_child(kind: str, sizes: list[tuple[int, int]], repeats: int, device: str) -> dict:
    """Measure one network in this process; returns a JSON-able dict."""
    import torch
    from photo3d.inpaint.recipe_weights import recipe_network

    from photo3d.inpaint.batching import padded_size, run_batched
    from photo3d.device import pick_device

    dev = pick_device(device)
    rss_start = _max_rss_mib()
    t0 = time.perf_counter()
    network = recipe_network(kind).to(dev)
    build_s = time.perf_counter() - t0
    result = {"kind": kind, "device": str(dev), "threads": torch.get_num_threads(),
              "build_s": build_s, "rss_after_build_mib": _max_rss_mib(),
              "rss_start_mib": rss_start, "sizes": []}
    for height, width in sizes:
        crop = _crop(CHANNELS[kind], height, width)
        run_batched(network, [crop], 128, dev, max_batch_pixels=1)  # warm-up
        times = []
        for _ in range(repeats):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            run_batched(network, [crop], 128, dev, max_batch_pixels=1)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        result["sizes"].append({"crop": [height, width], "padded": list(padded_size(height, width, 128)),
                                "median_s": sorted(times)[len(times) // 2], "min_s": min(times),
                                "peak_rss_mib": _max_rss_mib()})
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["edge", "depth", "color"])
    parser.add_argument("--sizes", nargs="+", default=["256x256", "384x512", "512x512", "200x960"],
                        help="crop sizes HxW, run in this order (increasing, for the memory column)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]

    if args.child:
        print(json.dumps(run_child(args.child, sizes, args.repeats, args.device)))
        return 0

    results = []
    for kind in args.kinds:
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--sizes", *args.sizes,
                              "--repeats", str(args.repeats), "--device", args.device],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"device {results[0]['device']}, torch threads {results[0]['threads']}, "
          f"{args.repeats} runs after one warm-up; load average {load}")
    print("(the machine may be shared: min is the least disturbed run)")
    print(f"{'network':8s} {'crop':>9s} {'padded':>9s} {'min s':>8s} {'median s':>9s} "
          f"{'peak RSS MiB':>13s}")
    for r in results:
        print(f"{r['kind']:8s} {'(build)':>9s} {'':>9s} {r['build_s']:8.2f} {'':>9s} "
              f"{r['rss_after_build_mib']:13.0f}")
        for s in r["sizes"]:
            crop = "x".join(map(str, s["crop"]))
            padded = "x".join(map(str, s["padded"]))
            print(f"{'':8s} {crop:>9s} {padded:>9s} {s['min_s']:8.3f} {s['median_s']:9.3f} "
                  f"{s['peak_rss_mib']:13.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
