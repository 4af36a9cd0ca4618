"""Training throughput of the three inpainting networks at a few widths (one CPU thread).

    python -m benchmarks.bench_train_throughput [--crop 128] [--batch 8] [--threads 1]

One step = forward, backward and an Adam update on a random batch (N, C, crop, crop).
Used to size photo3d/train/recipes/cpu.yml. Measured on the 2-core project machine (torch
2.13 CPU, 1 thread, crop 128, batch 8): edge 16/2 res blocks 1.69 steps/s, 16/4 1.33,
24/3 0.75; colour 16/5 levels 5.2, 24/5 2.5, 32/5 1.8, 24/6 2.8; depth 16/5 4.8.
"""
from __future__ import annotations

import argparse
import sys
import time

WIDTHS = [("edge", {"base_channels": 16, "res_blocks": 2}), ("edge", {"base_channels": 16, "res_blocks": 4}),
          ("edge", {"base_channels": 24, "res_blocks": 3}), ("color", {"base_channels": 16, "levels": 5}),
          ("color", {"base_channels": 24, "levels": 5}), ("color", {"base_channels": 32, "levels": 5}),
          ("color", {"base_channels": 24, "levels": 6}), ("depth", {"base_channels": 16, "levels": 5})]


def steps_per_second(kind: str, size: dict, crop: int, batch: int, steps: int = 3) -> tuple[float, int]:
    import torch

    from photo3d.train.stages import build_network, parameter_count

    net = build_network(kind, **size)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    channels = {"edge": 7, "depth": 4, "color": 6}[kind]
    x = torch.rand(batch, channels, crop, crop)
    x[:, -1] = (x[:, -1] > 0.5).float()
    x[:, -2] = 1 - x[:, -1]
    for i in range(steps + 1):
        if i == 1:
            start = time.perf_counter()
        loss = net(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start), parameter_count(net)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    for kind, size in WIDTHS:
        rate, params = steps_per_second(kind, size, args.crop, args.batch)
        print(f"{kind:5s} {size}: {rate:.2f} steps/s, {params / 1e6:.3f} M parameters", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
