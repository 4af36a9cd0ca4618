"""The training loop: one network at a time, resumable, deterministic for a seed on the CPU.

Per network, ``<run_dir>/<kind>/`` holds ``last.pt`` (model, optimizer, step, loss history,
torch RNG state; read with ``weights_only=True``), ``final.pt`` (the model's state dict when
done), ``loss.png``, ``samples.png`` and ``history.csv``. The batch of step t is drawn from
``numpy.random.default_rng([seed, kind, t])``, so a resumed run draws exactly the batches
the uninterrupted run would have drawn; with the model and Adam state restored, the result
is the same to the bit on one CPU thread.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import losses, plots
from .config import KINDS, NetConfig, TrainConfig, save_train_config
from .data import Batch, Samples, attach_fills, load_or_make, make_batch
from .stages import Photo3DError, build_network, residual_output

log = logging.getLogger("photo3d")

PREVIEW_ROWS = 4


@dataclass
class NetResult:
    """What one network's training left: where, how far, the last smoothed loss."""

    kind: str
    folder: Path
    steps: int
    final_loss: float
    seconds: float


def learning_rate(net: NetConfig, step: int) -> float:
    """Cosine decay from ``lr`` to ``lr * lr_final`` over ``steps`` (a short linear warm-up)."""
    warm = min(50, max(1, net.steps // 20))
    if step < warm:
        return net.lr * (step + 1) / warm
    t = (step - warm) / max(1, net.steps - warm)
    return net.lr * (net.lr_final + (1 - net.lr_final) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def batch_rng(seed: int, kind: str, step: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), KINDS.index(kind), int(step)])


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict:
    """A ``last.pt`` written by :func:`train_net` (weights_only: tensors and plain data only)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise Photo3DError(f"{path}: cannot read training checkpoint ({str(exc).splitlines()[0][:200]})") from exc


def build(net: NetConfig, seed: int) -> torch.nn.Module:
    """The network of ``net.kind`` at ``net.size``, initialised from ``seed``.

    With ``fill_residual`` input the last decoder convolution starts at zero, so the
    untrained network returns exactly the fill (its correction is 0) and training starts
    from the fill's score instead of from noise.
    """
    torch.manual_seed(int(seed) * 10 + KINDS.index(net.kind))
    model = build_network(net.kind, **{k: int(v) for k, v in net.size.items()})
    if net.input == "fill_residual":
        last = getattr(model, model._decoder_name[1]).conv
        with torch.no_grad():
            for p in last.parameters():
                p.zero_()
    return model


def forward(model: torch.nn.Module, net: NetConfig, x: torch.Tensor) -> torch.Tensor:
    """The network's values for input ``x``: its output, or with ``fill_residual`` the fill
    in ``x`` corrected by it (:func:`photo3d.inpaint.learned.tensors.residual_output`)."""
    out = model(x)
    return residual_output(net.kind, out, x) if net.input == "fill_residual" else out


def preview(model: torch.nn.Module, net: NetConfig, batch: Batch, path: Path) -> Path:
    """Sample sheet of the first rows: context (input), hole, prediction, truth."""
    kind = net.kind
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = forward(model, net, batch.x[:PREVIEW_ROWS]).numpy()
    model.train(was_training)
    rows = []
    for i in range(min(PREVIEW_ROWS, len(out))):
        ctx = batch.context[i, 0].numpy() > 0
        hole = batch.loss_mask[i, 0].numpy() > 0
        truth_rgb = batch.truth_rgb[i].numpy()
        if kind == "color":
            context = truth_rgb * ctx
            pred = out[i] * (ctx | hole)  # outside context and hole the output is unconstrained and unused
            truth = truth_rgb
        elif kind == "depth":
            known = ctx | hole
            target = batch.target[i, 0].numpy()
            lo, hi = float(target[known].min()), float(target[known].max())
            span = max(hi - lo, 1e-6)  # the truth's range for all three tiles
            context = np.clip((target - lo) / span, 0, 1) * ctx
            pred = np.clip((out[i, 0] - lo) / span, 0, 1) * known
            truth = np.clip((target - lo) / span, 0, 1) * known
        else:
            context = truth_rgb * ctx
            context[:, batch.x[i, 4].numpy() > 0] = np.array([1.0, 0, 0])[:, None]
            pred = out[i, 0]
            truth = batch.target[i, 0].numpy()
        hole_img = truth_rgb * 0.35
        hole_img[1, hole] = 1.0
        hole_img[:, ctx] = truth_rgb[:, ctx]
        rows.append([plots.to_rgb(context), plots.to_rgb(hole_img), plots.to_rgb(pred), plots.to_rgb(truth)])
    return plots.sample_sheet(path, rows, ["context", "hole", "prediction", "truth"])


def write_history(folder: Path, kind: str, history: list[list[float]], names: list[str]) -> None:
    if not history:
        return
    h = np.asarray(history, np.float64)
    tmp = folder / "history.tmp"
    np.savetxt(tmp, h, delimiter=",", header=",".join(["step", "loss"] + names), comments="", fmt="%.6g")
    tmp.replace(folder / "history.csv")
    curves = {"loss": h[:, 1]}
    curves.update({n: h[:, 2 + i] for i, n in enumerate(names)})
    plots.loss_curve(folder / "loss.png", h[:, 0], curves, f"{kind} net")


def train_net(config: TrainConfig, net: NetConfig, data: dict[str, Samples], progress: bool = True,
              stop_after: int | None = None) -> NetResult:
    """Train (or resume) one network; ``stop_after`` ends early after that step (for tests)."""
    from tqdm import tqdm

    folder = Path(config.run_dir) / net.kind
    folder.mkdir(parents=True, exist_ok=True)
    weights = losses.weights_for(net.kind, net.loss)
    model = build(net, config.seed)
    optim = torch.optim.Adam(model.parameters(), lr=net.lr, betas=(0.9, 0.99))
    step, history, seconds = 0, [], 0.0
    last = folder / "last.pt"
    if last.is_file():
        state = load_checkpoint(last)
        if dict(state["size"]) != {k: int(v) for k, v in net.size.items()}:
            raise Photo3DError(f"{last}: checkpoint widths {dict(state['size'])} differ from the config's "
                               f"{net.size}; use another run_dir")
        model.load_state_dict(state["model"], strict=True)
        optim.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        step, history, seconds = int(state["step"]), [list(r) for r in state["history"]], float(state["seconds"])
    model.train()
    names: list[str] = list(state["names"]) if last.is_file() else []
    batch_args = (config.data.jitter, config.data.photo_fraction, net.input, float(net.hidden_edges))
    preview_batch = make_batch(data, net.kind, PREVIEW_ROWS, batch_rng(config.seed, net.kind, 10 ** 9), *batch_args)

    def save() -> None:
        _atomic_save({"model": model.state_dict(), "optimizer": optim.state_dict(), "step": step,
                      "history": history, "names": names, "seconds": seconds,
                      "torch_rng": torch.get_rng_state(), "size": {k: int(v) for k, v in net.size.items()},
                      "kind": net.kind}, last)

    end = net.steps if stop_after is None else min(net.steps, stop_after)
    bar = tqdm(total=net.steps, initial=step, desc=f"train {net.kind}", unit="step", file=sys.stderr,
               disable=not progress, dynamic_ncols=True, mininterval=2.0)
    try:
        while step < end:
            start = time.perf_counter()
            for group in optim.param_groups:
                group["lr"] = learning_rate(net, step)
            batch = make_batch(data, net.kind, net.batch, batch_rng(config.seed, net.kind, step), *batch_args)
            output = forward(model, net, batch.x)
            loss, terms = losses.compute(net.kind, output, batch, weights)
            if not torch.isfinite(loss):
                raise Photo3DError(f"{folder}: loss is not finite at step {step}")
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            names = list(terms)
            history.append([float(step), float(loss.detach())] + [float(v) for v in terms.values()])
            step += 1
            seconds += time.perf_counter() - start
            bar.update(1)
            bar.set_postfix_str(f"loss {float(loss.detach()):.4f}")
            if step % config.checkpoint_every == 0 or step == end:
                save()
            if step % config.plot_every == 0 or step == end:
                write_history(folder, net.kind, history, names)
                preview(model, net, preview_batch, folder / "samples.png")
    finally:
        bar.close()
    if step >= net.steps and not (folder / "final.pt").is_file():
        _atomic_save(model.state_dict(), folder / "final.pt")
    recent = [r[1] for r in history[-100:]]
    return NetResult(net.kind, folder, step, float(np.mean(recent)) if recent else float("nan"), seconds)


def train(config: TrainConfig, kinds: list[str] | None = None, progress: bool = True,
          stop_after: int | None = None) -> list[NetResult]:
    """Make or load the data, save the config beside the checkpoints, train every network."""
    torch.set_num_threads(max(1, int(config.threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    run_dir = Path(config.run_dir)
    save_train_config(config, run_dir / "config.yml")
    data = load_or_make(config.data, config.seed, progress)
    if any(n.input == "fill_residual" and (not kinds or n.kind in kinds) for n in config.nets):
        attach_fills(data, config.data, config.seed, progress)
    results = []
    for net in config.nets:
        if kinds and net.kind not in kinds:
            continue
        result = train_net(config, net, data, progress, stop_after)
        log.info("%s: %d steps, loss %.4f, %.0f s", result.kind, result.steps, result.final_loss, result.seconds)
        results.append(result)
    return results
