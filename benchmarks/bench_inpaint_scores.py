"""Held-out scores of photo3d's trained inpainting networks vs the non-learned fill vs random weights.

    python -m benchmarks.bench_inpaint_scores [--weights checkpoints] [--count 200]
        [--crop 128] [--threads 1] [--json docs/train/scores.json] [--skip-timing | --timing-only]

(a) colour PSNR/SSIM over the synthesis pixels: held-out Middlebury 2005/2006 disocclusion
masks (photo3d's regions stage) on BSDS500 test/ photos; (b) edge F1 (1 px tolerance) and
mean |log depth error| in the synthesis region on synthetic layered scenes textured with
BSDS500 test/ photos; (d) seconds and peak memory (ru_maxrss) of the learned stage on the
960 px sample with the shipped networks, and of the fill. See photo3d/train/scores.py.
Needs ../shared/data. Nothing here is used for training.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def colour_table(nets: dict, random_nets: dict, samples, methods: set, inputs: dict) -> dict:
    """Colour scores of each method; the shipped net with its card's input convention."""
    from photo3d.train import scores

    out = {}
    t = time.perf_counter()
    fill = scores.fill_color(samples.rgb, samples.flags)  # the fill method, and the residual nets' input
    fill_s = time.perf_counter() - t
    if "fill" in methods:
        out["fill"] = scores.color_scores(fill, samples).__dict__
        out["fill"]["seconds"] = fill_s
    for name, net, convention in (("net", nets.get("color"), inputs.get("color", "reference")),
                                  ("random", random_nets["color"], "reference")):
        if net is None or name not in methods:
            continue
        t = time.perf_counter()
        pred = scores.color_from_net(net, samples, convention, fill)
        out[name] = scores.color_scores(pred, samples).__dict__
        out[name]["seconds"] = time.perf_counter() - t
    return out


def edge_depth_table(nets: dict, random_nets: dict, samples, methods: set, options: dict,
                     thresholds=(0.002, 0.1, 0.5)) -> dict:
    """Edge F1 at the reference's, a few fixed and the card's calibrated thresholds; depth
    error of the fill and of the depth net with the edge net's edges, the true hidden edges
    and the context edges only (the shipped setting is ``depth_net_pipeline``)."""
    from photo3d.train import data as D
    from photo3d.train import scores

    with_edges = samples.mask(D.CONTEXT_EDGE).any(axis=(1, 2))
    truth = samples.mask(D.EDGE_TRUTH)
    calibrated = options.get("edge_threshold")
    out: dict = {"edge_samples": int(with_edges.sum()), "samples": len(samples), "edge_threshold": calibrated,
                 "edge_net_edges": options.get("edge_net_edges", True)}
    edge_maps = {}
    for name, net in (("net", nets.get("edge")), ("random", random_nets["edge"])):
        if net is None or name not in methods:
            continue
        prob = scores.edge_probabilities(net, samples)
        use = calibrated if (name == "net" and calibrated is not None) else 0.002
        table = scores.edge_f1_at(prob, samples, sorted(set(thresholds) | {use}))
        for thr, (p, r, f) in table.items():
            out[f"edge_{name}_thr{thr}"] = {"precision": p, "recall": r, "f1": f}
        edge_maps[name] = scores.edges_from(prob, samples, use) & with_edges[:, None, None]
    out["edge_none"] = {"precision": 0.0, "recall": 0.0, "f1": 0.0}  # no completion: context edges stop
    fill = scores.fill_depth(samples.depth, samples.flags)
    if "fill" in methods:
        out["depth_fill"] = scores.log_depth_error(fill, samples)
    no_edges = np.zeros(truth.shape, bool)
    convention = options.get("inputs", {}).get("depth", "reference")
    if nets.get("depth") is not None and "net" in methods:
        run = lambda edges: scores.log_depth_error(scores.depth_from_net(nets["depth"], samples, edges, convention, fill),
                                                   samples)
        out["depth_net_edges_from_net"] = run(edge_maps.get("net", no_edges))
        out["depth_net_true_edges"] = run(truth)
        out["depth_net_context_edges"] = run(no_edges)
        out["depth_net_pipeline"] = out["depth_net_edges_from_net" if out["edge_net_edges"] else "depth_net_context_edges"]
    if "random" in methods:
        out["depth_random"] = scores.log_depth_error(
            scores.depth_from_net(random_nets["depth"], samples, edge_maps.get("random", no_edges)), samples)
    return out


def merge(base: dict, new: dict) -> dict:
    """``new`` with the entries it lacks taken from ``base`` (recursively)."""
    out = dict(base)
    for k, v in new.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def timing(weights: Path | None) -> dict:
    import cv2

    from photo3d.train import shipped
    from photo3d.train.stages import fill_synthesis, scene_regions

    image = cv2.cvtColor(cv2.imread(str(ROOT / "inputs" / "sample.png")), cv2.COLOR_BGR2RGB)
    disparity = cv2.imread(str(ROOT / "inputs" / "sample_disparity.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    canvas, disc, regions = scene_regions(image, disparity, 960)
    t = time.perf_counter()
    fill_synthesis(canvas, regions)
    fill_s = time.perf_counter() - t
    rss0 = max_rss_mib()
    inpainter = shipped.shipped_inpainter(weights)
    inpainter(canvas, disc, regions)  # warm-up: first-call costs (allocator, lazy imports) are not the stage's
    t, c = time.perf_counter(), time.process_time()
    inpainter(canvas, disc, regions)
    learned_s, learned_cpu = time.perf_counter() - t, time.process_time() - c
    stats = inpainter.last_stats
    # process CPU seconds next to wall seconds: on the shared machine the wall clock includes
    # time the process waited for a core
    return {"learned_seconds": learned_s, "learned_cpu_seconds": learned_cpu, "fill_seconds": fill_s, "crops": stats.crops,
            "edge_crops": stats.edge_crops, "per_step_seconds": stats.seconds,
            "max_rss_mib_before": rss0, "max_rss_mib_after": max_rss_mib()}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=None, help="folder with photo3d-*.safetensors (default checkpoints/)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--timing-only", action="store_true",
                    help="only (d), in a process that holds no score data (its peak memory is the stage's)")
    ap.add_argument("--methods", default="net,fill,random", help="comma-separated subset of net,fill,random")
    ap.add_argument("--merge", type=Path, default=None, help="a previous --json whose entries fill in the rest")
    args = ap.parse_args(argv)

    import torch

    from photo3d.train import scores, shipped
    from photo3d.train.stages import Photo3DError, build_network

    torch.set_num_threads(args.threads)
    if not args.data.is_dir():
        print(f"shared data not found at {args.data}", file=sys.stderr)
        return 2
    nets = {}
    for kind in ("edge", "depth", "color"):
        try:
            nets[kind] = shipped.load_shipped(kind, args.weights)
        except Photo3DError as exc:  # report what is missing, score the rest
            print(f"{kind}: no shipped network ({exc})", file=sys.stderr)
    if args.timing_only:
        result = {"threads": args.threads, "timing_960": timing(args.weights)}
        text = json.dumps(result, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
        return 0
    torch.manual_seed(0)
    random_nets = {k: build_network(k).eval() for k in ("edge", "depth", "color")}  # published widths, random
    result: dict = {"count": args.count, "crop": args.crop, "threads": args.threads,
                    "cards": {k: shipped.read_card(k, args.weights).get("size") for k in nets}}
    t = time.perf_counter()
    colour_set = scores.held_out_color_set(args.data, args.count, args.crop)
    layered_set = scores.held_out_layered_set(args.data, args.count, args.crop)
    result["data_seconds"] = time.perf_counter() - t
    methods = set(args.methods.split(","))
    options = shipped.inference_options(args.weights) if len(nets) == 3 else {"inputs": {}}
    result["inference"] = options
    result["colour"] = colour_table(nets, random_nets, colour_set, methods, options["inputs"])
    result["colour_on_layered"] = colour_table(nets, random_nets, layered_set, methods, options["inputs"])
    result["edges_depth"] = edge_depth_table(nets, random_nets, layered_set, methods, options)
    if not args.skip_timing and len(nets) == 3:
        result["timing_960"] = timing(args.weights)
    if args.merge is not None:
        result = merge(json.loads(args.merge.read_text()), result)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
