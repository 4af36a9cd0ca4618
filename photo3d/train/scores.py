"""Held-out scores of the inpainting networks against the non-learned fill and random weights.

* **colour** (a): disocclusion masks made by photo3d's regions stage on the held-out
  Middlebury 2005/2006 scenes (view1 + disp1), placed on BSDS500 ``test/`` photos; PSNR and
  SSIM over the synthesis pixels (the only ones the pipeline keeps), every method given the
  same context and hole.
* **edges and depth** (b): synthetic layered scenes textured with BSDS500 ``test/`` photos
  (another seed): F1 of the completed depth edges inside the synthesis region (1 px
  tolerance), and the mean absolute log-depth error over the synthesis pixels
  (≈ relative depth error).

Methods: ``net`` (given networks), ``fill`` (:func:`photo3d.inpaint.fill.peel_fill`, the
pipeline's fallback, from the same context), ``random`` (the published architecture with
random weights: a floor).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import data as D
from .stages import SegmentCrop, fill_prior_color, fill_prior_depth, finish_edges, open_small_mask, residual_output

# ---------------------------------------------------------------------------------------
# Held-out sets
# ---------------------------------------------------------------------------------------

def held_out_frames(root: Path) -> list[D.RGBDFrame]:
    """The 16 Middlebury 2005/2006 scenes' view1 with disparity (px = value / 2, 0 unknown)."""
    frames = []
    for scene in sorted((root / "middlebury_2005_2006_half").glob("*/view1.png")):
        disp = cv2.imread(str(scene.parent / "disp1.png"), cv2.IMREAD_UNCHANGED).astype(np.float32) / 2
        disp[disp <= 0] = np.nan
        image = cv2.cvtColor(cv2.imread(str(scene)), cv2.COLOR_BGR2RGB)
        frames.append(D.RGBDFrame(scene.parent.name, image, disp, "disparity"))
    return frames


def held_out_color_set(root: Path, count: int, size: int, seed: int = 2024,
                       longer_side: int = 480) -> D.Samples:
    """``count`` (rgb, flags) windows: held-out masks on BSDS500 test photos."""
    rng = np.random.default_rng(seed)
    pairs: list[D.MaskPair] = []
    for frame in held_out_frames(root):
        pairs += D.real_mask_pairs(frame, longer_side, max(8, round(longer_side * 70 / 960)))
    photos = sorted((root / "bsds500" / "test").glob("*.jpg"))
    samples = []
    cache: dict[int, np.ndarray] = {}
    while len(samples) < count:
        window = D.window_on_mask(pairs[int(rng.integers(len(pairs)))], size, rng)
        if window is None:
            continue
        syn, ctx = (np.ascontiguousarray(a) for a in window)
        if syn.sum() < 40 or ctx.sum() < 200:
            continue
        i = int(rng.integers(len(photos)))
        if i not in cache:
            cache[i] = D.read_rgb(photos[i], allow_held_out=True)
        rgb = D.photo_window(cache[i], size, rng)
        samples.append((rgb, np.ones((size, size), np.float32),
                        D.pack_flags(context=ctx, synthesis=syn, hole=open_small_mask(syn, ctx))))
    return D.stack(samples, size)


def held_out_layered_set(root: Path, count: int, size: int, seed: int = 2025) -> D.Samples:
    """``count`` synthetic layered samples textured with BSDS500 test photos."""
    photos = sorted((root / "bsds500" / "test").glob("*.jpg"))
    rng = np.random.default_rng(seed)
    return D.stack(list(D.layered_dataset(photos, count, size, (14, 36), rng)), size)


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------

def psnr(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB) over ``mask`` pixels; images (S, S, 3) in [0, 1]."""
    mse = float(((pred - truth) ** 2)[mask].mean())
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def ssim_in(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """Mean of the SSIM map (7x7 windows, skimage) over ``mask``; images (S, S, 3) in [0, 1]."""
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(truth, pred, channel_axis=2, data_range=1.0, full=True)
    return float(full.mean(axis=2)[mask].mean())


def edge_counts(pred: np.ndarray, truth: np.ndarray, tolerance: int = 1) -> tuple[int, int, int, int]:
    """(matched predictions, predictions, matched truth, truth) with a ``tolerance`` px match."""
    k = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    near_truth = cv2.dilate(truth.astype(np.uint8), k) > 0
    near_pred = cv2.dilate(pred.astype(np.uint8), k) > 0
    return int((pred & near_truth).sum()), int(pred.sum()), int((truth & near_pred).sum()), int(truth.sum())


def f1(counts: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) from summed :func:`edge_counts`."""
    tp_p, n_p, tp_t, n_t = (float(c) for c in counts)
    p = tp_p / n_p if n_p else 0.0
    r = tp_t / n_t if n_t else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ---------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------

def run_net(network, x: np.ndarray, batch: int = 16) -> np.ndarray:
    """Network output for inputs (N, C, S, S) float32, in eval mode, batched."""
    import torch

    network.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            outs.append(network(torch.from_numpy(np.ascontiguousarray(x[i:i + batch]))).numpy())
    return np.concatenate(outs)


def fill_color(rgb: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Non-learned fill of the hole from the context, as the fill_residual nets get it
    (:func:`photo3d.inpaint.learned.tensors.fill_prior_color`): (N, S, S, 3) float [0, 1],
    0 outside the hole."""
    out = np.empty(rgb.shape, np.float32)
    for i in range(len(rgb)):
        out[i] = fill_prior_color(rgb[i], flags[i] & D.CONTEXT > 0, flags[i] & D.HOLE > 0)
    return out


def fill_depth(depth: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Non-learned fill of disparity from the context (as the pipeline's fill): (N, S, S)
    depth in the hole (:func:`photo3d.inpaint.learned.tensors.fill_prior_depth`), 1 elsewhere."""
    out = np.empty(depth.shape, np.float32)
    for i in range(len(depth)):
        out[i] = fill_prior_depth(depth[i], flags[i] & D.CONTEXT > 0, flags[i] & D.HOLE > 0)
    return out


def color_from_net(network, samples: D.Samples, input: str = "reference", fill: np.ndarray | None = None) -> np.ndarray:
    """(N, S, S, 3) colour in [0, 1] from a colour net with the given input convention
    (``fill_residual``: the fill, :func:`fill_color` or ``fill``, in the hole, the output a
    correction on top of it)."""
    x, _ = D.color_arrays(samples.rgb.astype(np.float32) / 255, samples.flags)
    if input == "fill_residual":
        prior = fill_color(samples.rgb, samples.flags) if fill is None else fill
        hole = samples.mask(D.HOLE)[:, None]
        x[:, :3] = np.where(hole, prior.transpose(0, 3, 1, 2), x[:, :3])
        out = residual_output("color", run_net(network, x), x)
    else:
        out = run_net(network, x)
    return out.transpose(0, 2, 3, 1)


@dataclass
class ColorScores:
    psnr: float
    ssim: float


def color_scores(pred: np.ndarray, samples: D.Samples) -> ColorScores:
    """Mean PSNR / SSIM over the synthesis pixels; pred (N, S, S, 3) in [0, 1].

    The scored image is the truth with the method's values in the hole only, so the SSIM
    windows that reach past the hole see the same pixels for every method (what a method
    leaves outside its hole is never used).
    """
    truth = samples.rgb.astype(np.float32) / 255
    ps, ss = [], []
    for i in range(len(samples)):
        syn = samples.flags[i] & D.SYNTHESIS > 0
        hole = samples.flags[i] & D.HOLE > 0
        comp = np.where(hole[..., None], pred[i], truth[i])
        ps.append(psnr(comp, truth[i], syn))
        ss.append(ssim_in(comp.astype(np.float32), truth[i], syn))
    return ColorScores(float(np.mean(ps)), float(np.mean(ss)))


def edges_from(prob: np.ndarray, samples: D.Samples, threshold: float) -> np.ndarray:
    """Completed edges inside the synthesis region as the pipeline finishes them
    (:func:`photo3d.inpaint.learned.finish_edges`), without the context edges. (N, S, S) bool."""
    out = np.zeros(prob.shape, bool)
    for i in range(len(prob)):
        f = samples.flags[i]
        crop = SegmentCrop(1, 0, f.shape[0], 0, f.shape[1], f & D.SYNTHESIS > 0, f & D.CONTEXT > 0, f & D.HOLE > 0,
                           f & D.CONTEXT_EDGE > 0, np.zeros(f.shape + (3,), np.float32), samples.depth[i])
        out[i] = finish_edges(prob[i], crop, threshold) & crop.synthesis
    return out


def log_depth_error(depth: np.ndarray, samples: D.Samples) -> float:
    """Mean |ln(pred) - ln(truth)| over all synthesis pixels of the set."""
    syn = samples.mask(D.SYNTHESIS)
    err = np.abs(np.log(np.maximum(depth, 1e-6)) - np.log(samples.depth))
    return float(err[syn].mean())


def depth_from_net(network, samples: D.Samples, edges: np.ndarray, input: str = "reference",
                   fill: np.ndarray | None = None) -> np.ndarray:
    """Depth (N, S, S) from a depth net given the edge map passed on (context + completed),
    with the given input convention (``fill_residual``: the fill's depth, :func:`fill_depth`
    or ``fill``, in the hole)."""
    flags = samples.flags.copy()
    flags &= ~np.uint8(D.EDGE_TRUTH)
    flags |= np.where(edges, np.uint8(D.EDGE_TRUTH), np.uint8(0))
    x, _ = D.depth_arrays(samples.depth, flags)
    ctx = samples.mask(D.CONTEXT)
    logd = np.log(samples.depth.astype(np.float64) + 1e-8)
    mean = (logd * ctx).sum(axis=(1, 2)) / np.maximum(ctx.sum(axis=(1, 2)), 1)
    if input == "fill_residual":
        prior = fill_depth(samples.depth, samples.flags) if fill is None else fill
        x = D.depth_with_fill(x, samples.depth, flags, prior)
        out = residual_output("depth", run_net(network, x), x)[:, 0]
    else:
        out = run_net(network, x)[:, 0]
    return np.exp(np.clip(out + mean[:, None, None], -80, 80)).astype(np.float32)


# ---------------------------------------------------------------------------------------
# Calibration of the shipped networks on validation data (no held-out file is read)
# ---------------------------------------------------------------------------------------

CALIBRATION_THRESHOLDS = (0.002, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def validation_layered_set(root: Path, count: int, size: int, seed: int = 4242) -> D.Samples:
    """``count`` synthetic layered samples textured with BSDS500 ``train/``+``val/`` photos
    (the training photos, but other scenes: seed ``seed``, not the training seed); never
    BSDS500 ``test/``."""
    rng = np.random.default_rng(seed)
    return D.stack(list(D.layered_dataset(D.photo_paths(Path(root)), count, size, (14, 36), rng)), size)


def edge_f1_at(prob: np.ndarray, samples: D.Samples, thresholds) -> dict[float, tuple[float, float, float]]:
    """(precision, recall, F1) of the finished edges at each threshold, over the samples
    with context edges (the only ones the pipeline runs the edge net on)."""
    with_edges = samples.mask(D.CONTEXT_EDGE).any(axis=(1, 2))
    truth = samples.mask(D.EDGE_TRUTH)
    out = {}
    for thr in thresholds:
        edges = edges_from(prob, samples, thr) & with_edges[:, None, None]
        counts = np.sum([edge_counts(e, t) for e, t in zip(edges[with_edges], truth[with_edges])], axis=0)
        out[float(thr)] = f1(counts)
    return out


def edge_probabilities(network, samples: D.Samples) -> np.ndarray:
    """(N, S, S) edge-net output on the samples with context edges (0 on the others)."""
    with_edges = samples.mask(D.CONTEXT_EDGE).any(axis=(1, 2))
    x, _ = D.edge_arrays(samples.rgb.astype(np.float32) / 255, samples.depth, samples.flags)
    prob = np.zeros(samples.flags.shape, np.float32)
    if with_edges.any():
        prob[with_edges] = run_net(network, x[with_edges], batch=8)[:, 0]
    return prob


def calibrate(nets: dict, inputs: dict, samples: D.Samples, thresholds=CALIBRATION_THRESHOLDS) -> dict:
    """The edge threshold with the best F1 on ``samples`` and whether the depth net does
    better with the edge net's edges (at that threshold) than with the context edges only.

    Returns ``{"edge_threshold", "edge_f1": {thr: [p, r, f1]}, "depth_error_net_edges",
    "depth_error_context_edges", "edge_net_edges"}``.
    """
    prob = edge_probabilities(nets["edge"], samples)
    table = edge_f1_at(prob, samples, thresholds)
    best = max(table, key=lambda t: table[t][2])
    fill = fill_depth(samples.depth, samples.flags) if inputs.get("depth") == "fill_residual" else None
    with_net = edges_from(prob, samples, best)
    err_net = log_depth_error(depth_from_net(nets["depth"], samples, with_net, inputs.get("depth", "reference"), fill),
                              samples)
    no_edges = np.zeros(samples.flags.shape, bool)
    err_ctx = log_depth_error(depth_from_net(nets["depth"], samples, no_edges, inputs.get("depth", "reference"), fill),
                              samples)
    return {"edge_threshold": float(best), "edge_f1": {str(t): [round(v, 4) for v in table[t]] for t in table},
            "depth_error_net_edges": round(err_net, 5), "depth_error_context_edges": round(err_ctx, 5),
            "edge_net_edges": bool(err_net < err_ctx)}
