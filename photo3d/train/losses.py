"""Losses that need no downloaded weights, one function per network kind.

All take the network output, the target and the masks as (B, C, S, S) float32 tensors and
return (total, {term: value}) with scalar tensors. Means over a mask divide by the mask's
pixel count (at least 1), so a term's scale does not depend on the hole size.

* edge: weighted binary cross-entropy inside the synthesis region (positives weighted by
  ``pos_weight``: edges are thin, one pixel) plus ``outside`` × BCE elsewhere.
* depth: L1 of zero-mean log depth in the hole plus ``grad`` × L1 of its x/y differences
  (pairs of hole pixels).
* colour: ``hole`` × L1 in the hole + ``valid`` × L1 on the context + ``grad`` × L1 of the
  x/y differences in the hole + ``tv`` × total variation of the prediction in the hole +
  ``ssim`` × (1 − SSIM) over the hole (7×7 box windows, grey).
"""
from __future__ import annotations

import torch

DEFAULTS = {
    "edge": {"pos_weight": 8.0, "outside": 0.1},
    "depth": {"l1": 1.0, "grad": 0.5},
    "color": {"hole": 6.0, "valid": 1.0, "grad": 1.0, "tv": 0.05, "ssim": 0.0},
}


def weights_for(kind: str, overrides: dict | None) -> dict[str, float]:
    """The loss weights of ``kind``: defaults updated by ``overrides`` (unknown terms rejected)."""
    from .stages import Photo3DError

    w = dict(DEFAULTS[kind])
    for k, v in (overrides or {}).items():
        if k not in w:
            raise Photo3DError(f"loss: unknown term {k!r} for the {kind} net ({', '.join(w)})")
        w[k] = float(v)
    return w


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, C, S, S) over pixels where ``mask`` (B, 1, S, S) is 1, per channel summed."""
    return (values * mask).sum() / (mask.sum() * values.shape[1]).clamp(min=1.0)


def _diffs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def gradient_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 between the x and y differences of ``pred`` and ``target`` where both pixels are in ``mask``."""
    pdx, pdy = _diffs(pred)
    tdx, tdy = _diffs(target)
    mx = mask[..., :, 1:] * mask[..., :, :-1]
    my = mask[..., 1:, :] * mask[..., :-1, :]
    return 0.5 * (masked_mean((pdx - tdx).abs(), mx) + masked_mean((pdy - tdy).abs(), my))


def total_variation(pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute x/y difference of ``pred`` over pixel pairs touching ``mask``."""
    dx, dy = _diffs(pred)
    mx = torch.maximum(mask[..., :, 1:], mask[..., :, :-1])
    my = torch.maximum(mask[..., 1:, :], mask[..., :-1, :])
    return 0.5 * (masked_mean(dx.abs(), mx) + masked_mean(dy.abs(), my))


def ssim_map(pred: torch.Tensor, target: torch.Tensor, window: int = 7) -> torch.Tensor:
    """(B, 1, S, S) SSIM of the grey images in ``window``² box windows (zero padded at the border)."""
    import torch.nn.functional as F

    a, b = pred.mean(1, keepdim=True), target.mean(1, keepdim=True)
    pool = lambda t: F.avg_pool2d(t, window, 1, window // 2, count_include_pad=False)
    ma, mb = pool(a), pool(b)
    va, vb, cov = pool(a * a) - ma * ma, pool(b * b) - mb * mb, pool(a * b) - ma * mb
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))


def edge_loss(prob: torch.Tensor, target: torch.Tensor, synthesis: torch.Tensor,
              w: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """prob: sigmoid output (B, 1, S, S); target: 0/1 edges; synthesis: the edge net's mask."""
    p = prob.clamp(1e-6, 1 - 1e-6)
    bce = -(w["pos_weight"] * target * torch.log(p) + (1 - target) * torch.log(1 - p))
    inside = masked_mean(bce, synthesis)
    outside = masked_mean(bce, 1 - synthesis)
    total = inside + w["outside"] * outside
    return total, {"bce_mask": inside.detach(), "bce_out": outside.detach()}


def depth_loss(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor,
               w: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """pred, target: zero-mean log depth (B, 1, S, S); hole: (B, 1, S, S)."""
    l1 = masked_mean((pred - target).abs(), hole)
    grad = gradient_l1(pred, target, hole)
    return w["l1"] * l1 + w["grad"] * grad, {"l1_hole": l1.detach(), "grad": grad.detach()}


def color_loss(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor, context: torch.Tensor,
               w: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """pred: sigmoid RGB (B, 3, S, S); target: truth RGB in [0, 1]."""
    err = (pred - target).abs()
    hole_l1 = masked_mean(err, hole)
    valid_l1 = masked_mean(err, context)
    grad = gradient_l1(pred, target, hole)
    tv = total_variation(pred, hole)
    total = w["hole"] * hole_l1 + w["valid"] * valid_l1 + w["grad"] * grad + w["tv"] * tv
    terms = {"l1_hole": hole_l1.detach(), "l1_valid": valid_l1.detach(), "grad": grad.detach(), "tv": tv.detach()}
    if w["ssim"] > 0:  # skipped at weight 0: older runs keep their loss terms
        dssim = masked_mean(1 - ssim_map(pred, target), hole)
        total = total + w["ssim"] * dssim
        terms["dssim"] = dssim.detach()
    return total, terms


def compute(kind: str, output: torch.Tensor, batch, w: dict[str, float]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of ``kind`` for a :class:`photo3d.train.data.Batch`."""
    if kind == "edge":
        return edge_loss(output, batch.target, batch.loss_mask, w)
    if kind == "depth":
        return depth_loss(output, batch.target, batch.loss_mask, w)
    return color_loss(output, batch.target, batch.loss_mask, batch.context, w)
