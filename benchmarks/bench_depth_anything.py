"""Seconds per image and peak memory of Depth Anything V2 Small on the CPU.

Usage::

    python -m benchmarks.bench_depth_anything            # the table of variants below
    python -m benchmarks.bench_depth_anything --one --threads 2 --size 480x640 [--bf16] [--channels-last]

Each variant runs in its own process so that its peak resident memory (``ru_maxrss``) is
its own. Timings are of :func:`photo3d.depth.depth_anything.estimate` on a photo-sized
uint8 image (pre-processing, network, resize back): median and minimum wall time of
``--repeat`` runs after one warm-up, and the median process CPU time (all threads; less
sensitive to other processes than wall time). The published weights are used when installed, otherwise the compatibility
recipe's random weights (same arithmetic, same cost). The bf16 variant also reports its
largest difference from float32 relative to the float32 output's range.
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

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_model(tmp_dir: Path):
    """The model as :func:`load_depth_anything` returns it (published weights, else the recipe's)."""
    import torch

    from photo3d.depth.depth_anything import WEIGHTS_NAME, DepthAnythingV2Small, load_depth_anything
    from photo3d.weights import find_weights

    path = find_weights(WEIGHTS_NAME)
    if path is not None:
        return load_depth_anything(path), "published"
    from photo3d.depth.recipe_weights import recipe_state_dict

    shapes = ((k, tuple(v.shape)) for k, v in DepthAnythingV2Small().state_dict().items())
    path = tmp_dir / f"{WEIGHTS_NAME}.pth"
    torch.save(recipe_state_dict(shapes), path)
    return load_depth_anything(path), "recipe (random)"


def run_one(threads: int, size: tuple[int, int], bf16: bool, channels_last: bool, repeat: int) -> dict:
    """Time one variant in this process; returns a JSON-able dict."""
    import numpy as np
    import torch

    from photo3d.depth.depth_anything import estimate, network_input_size

    torch.set_num_threads(threads)
    rss_import = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp_dir:
        model, weights = _load_model(Path(tmp_dir))
    # load_depth_anything returns channels_last on the CPU; undo it for the comparison.
    model = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    rss_model = _rss_mb()
    rng = np.random.default_rng(0)
    # A smooth image rather than noise: closer to a photo for the bf16 error figure.
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 127 // (h + w))], -1).astype(np.uint8)
    image = np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8)

    def call():
        if bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return estimate(image, model)
        return estimate(image, model)

    result = call()  # warm-up
    times, cpu_times = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = call()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    out = {
        "threads": threads, "size": f"{h}x{w}", "net_input": "x".join(map(str, network_input_size(h, w))),
        "bf16": bf16, "channels_last": channels_last, "weights": weights,
        "seconds_median": float(np.median(times)), "seconds_min": float(np.min(times)),
        "cpu_seconds_median": float(np.median(cpu_times)),
        "rss_after_import_mb": rss_import, "rss_after_model_mb": rss_model, "rss_peak_mb": _rss_mb(),
    }
    if bf16:
        reference = estimate(image, model)
        out["bf16_max_rel_diff"] = float(np.abs(result - reference).max() / (np.ptp(reference) + 1e-12))
    return out


def _variant_args(threads: int, size: str, bf16: bool, channels_last: bool, repeat: int) -> list[str]:
    args = ["--one", "--threads", str(threads), "--size", size, "--repeat", str(repeat)]
    return args + (["--bf16"] if bf16 else []) + (["--channels-last"] if channels_last else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", action="store_true", help="run a single variant in this process")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", default="480x640", help="image HxW (network input: shorter side 518)")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC weights (load_depth_anything's CPU default)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.one:
        print(json.dumps(run_one(args.threads, size, args.bf16, args.channels_last, args.repeat)))
        return

    # (threads, image size, bf16 autocast, channels_last); channels_last is the shipped default.
    variants = [
        (2, "518x518", False, True), (2, "480x640", False, True), (2, "480x640", False, False),
        (1, "480x640", False, True), (2, "480x640", True, True), (2, "1080x1920", False, True),
    ]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'threads':>7} {'image':>10} {'net in':>8} {'bf16':>5} {'ch_last':>7} "
          f"{'s/img':>6} {'min s':>6} {'cpu s':>6} {'peak MB':>8} {'model MB':>8} {'bf16 err':>8}")
    for threads, size_text, bf16, channels_last in variants:
        cmd = [sys.executable, __file__, *_variant_args(threads, size_text, bf16, channels_last, args.repeat)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(proc.returncode)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        err = f"{r['bf16_max_rel_diff']:.3f}" if "bf16_max_rel_diff" in r else "-"
        print(f"{r['threads']:>7} {r['size']:>10} {r['net_input']:>8} {str(r['bf16']):>5} "
              f"{str(r['channels_last']):>7} {r['seconds_median']:>6.2f} {r['seconds_min']:>6.2f} "
              f"{r['cpu_seconds_median']:>6.2f} {r['rss_peak_mb']:>8.0f} "
              f"{r['rss_after_model_mb']:>8.0f} {err:>8}")
    print(f"weights: {r['weights']}; load average after: {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores (other processes inflate the times)")


if __name__ == "__main__":
    main()
