"""One prepared check of the GPU path, for a machine with an NVIDIA GPU (run it there as is).

    python -m benchmarks.gpu_check            # about 1-3 minutes; prints a summary, exits 1 on a failure

Checks, each printed as PASS/FAIL with numbers:
1. torch sees CUDA; the three inpainting networks (recipe weights) give the same outputs on
   CUDA as the compat vectors (float32, 1e-3) and in fp16 autocast (loose tolerance, reported);
2. Depth Anything V2 Small (recipe weights) on CUDA matches its vectors;
3. the learned inpainting stage on the 960 px sample on CUDA: time, and agreement with the CPU;
4. EGL rendering goes through the NVIDIA driver (GL_RENDERER), and the 4 default videos'
   render + encode time at 960 px.
Nothing here runs in the test suite: this machine has no GPU.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("EGL_PLATFORM", "surfaceless")

results: list[tuple[str, bool, str]] = []


def report(name: str, ok: bool, detail: str) -> None:
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)


def check_networks(device) -> None:
    import torch

    from photo3d.inpaint.recipe_weights import recipe_network

    for kind in ("edge", "depth", "color"):
        vectors = np.load(REPO / "tests" / "data" / f"{kind}_vectors.npz")
        net = recipe_network(kind).to(device)
        worst, worst16 = 0.0, 0.0
        for i in range(len([k for k in vectors.files if k.startswith("input_")])):
            x = torch.from_numpy(vectors[f"input_{i}"]).to(device)
            with torch.inference_mode():
                y = net(x).float().cpu().numpy()
                with torch.autocast("cuda", dtype=torch.float16):
                    y16 = net(x).float().cpu().numpy()
            worst = max(worst, float(np.abs(y - vectors[f"output_{i}"]).max()))
            worst16 = max(worst16, float(np.abs(y16 - vectors[f"output_{i}"]).max()))
        report(f"{kind} network on CUDA", worst < 1e-3, f"max |diff| fp32 {worst:.2e}, fp16 {worst16:.2e}")


def check_depth_anything(device) -> None:
    import torch

    from photo3d.depth.recipe_weights import recipe_state_dict
    from photo3d.depth.depth_anything import DepthAnythingV2Small

    vectors = np.load(REPO / "tests" / "data" / "depth_anything_v2_vits_vectors.npz")
    model = DepthAnythingV2Small()
    model.load_state_dict(recipe_state_dict((k, tuple(v.shape)) for k, v in model.state_dict().items()), strict=True)
    model = model.eval().to(device)
    x = torch.from_numpy(vectors["input_0"]).to(device)
    with torch.inference_mode():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        y = model(x).cpu().numpy()
        torch.cuda.synchronize()
    diff = float(np.abs(y - vectors["output_0"]).max())
    report("Depth Anything V2 Small on CUDA", diff < 1e-2, f"max |diff| {diff:.2e}, {time.perf_counter() - t0:.3f} s")


def check_learned_stage() -> None:
    from photo3d.inpaint.recipe_weights import recipe_network
    from photo3d.config import Config
    from photo3d.inpaint.learned import LearnedInpainter
    from photo3d.io import read_depth, read_image
    from photo3d.pipeline import build_scene

    image = read_image(REPO / "inputs" / "sample.png")
    disparity = read_depth(REPO / "inputs" / "sample_disparity.png")
    nets = {k: recipe_network(k) for k in ("edge", "depth", "color")}
    fills = {}
    for device in ("cuda", "cpu"):
        inp = LearnedInpainter(*(nets[k].to(device) for k in ("edge", "depth", "color")), device)
        t0 = time.perf_counter()
        scene = build_scene(image, disparity, Config.from_keys(paths=[]), inpainter=inp)
        seconds = time.perf_counter() - t0
        fills[device] = scene.fill
        report(f"learned inpainting stage, {device}", True, f"{dict(scene.timings.stages)['inpaint (learned)']:.2f} s "
               f"(whole build {seconds:.2f} s)")
    same = np.array_equal(fills["cuda"].mask, fills["cpu"].mask)
    diff = float(np.abs(fills["cuda"].color.astype(int) - fills["cpu"].color.astype(int))[fills["cpu"].mask].mean())
    report("learned stage CUDA vs CPU", same and diff < 2.0, f"same mask {same}, mean |colour diff| {diff:.3f}")


def check_rendering() -> None:
    from photo3d.config import Config
    from photo3d.io import read_depth, read_image
    from photo3d.pipeline import build_scene, write_outputs
    from photo3d.render import gl_context

    name = gl_context().renderer_name
    report("EGL renderer", "llvmpipe" not in name.lower(), name)
    image = read_image(REPO / "inputs" / "sample.png")
    disparity = read_depth(REPO / "inputs" / "sample_disparity.png")
    config = Config.from_keys(inpaint="fill")
    scene = build_scene(image, disparity, config)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_outputs(scene, tmp, "gpu", config)
        seconds = time.perf_counter() - t0
    report("4 default videos at 960 px", seconds < 120, f"{seconds:.1f} s for 960 frames (PLY included)")


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        report("CUDA", False, "torch.cuda.is_available() is False")
    else:
        report("CUDA", True, torch.cuda.get_device_name(0))
        for check in (lambda: check_networks("cuda"), lambda: check_depth_anything("cuda"), check_learned_stage):
            try:
                check()
            except Exception as exc:  # report and go on: one prepared run should say everything
                report(getattr(check, "__name__", "check"), False, f"{exc.__class__.__name__}: {exc}")
    try:
        check_rendering()
    except Exception as exc:
        report("rendering", False, f"{exc.__class__.__name__}: {exc}")
    failed = [n for n, ok, _ in results if not ok]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
