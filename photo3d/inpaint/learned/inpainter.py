"""The learned inpainter: the three networks run batched over all segment crops, and its
construction from weight files (see :mod:`photo3d.inpaint.learned`)."""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np

from ...config import InpaintConfig
from ...core.data import Canvas, Discontinuities, LayerFill, Regions
from ...errors import Photo3DError
from ..fill import drop_specks
from .crops import SegmentCrop, segment_crops
from .tensors import (
    INPUT_CONVENTIONS,
    PAD_MULTIPLE,
    color_input,
    color_output,
    depth_input,
    depth_output,
    edge_input,
    fill_prior_color,
    fill_prior_depth,
    fill_priors,
    finish_edges,
    residual_output,
    with_color_prior,
    with_depth_prior,
)

if TYPE_CHECKING:  # torch is imported lazily: choosing the inpainter must stay cheap
    import torch
    from torch import nn

log = logging.getLogger("photo3d")

NETWORK_KINDS = ("edge", "depth", "color")


@dataclass(frozen=True)
class LearnedSettings:
    """The learned inpainter's settings (from :class:`photo3d.config.InpaintConfig`).

    depth_threshold: a synthesised pixel is kept only this much (normalised disparity)
        behind the front surface; ext_edge_threshold: edge probability binarisation;
    largest_size: colour crops shrink to about this many pixels squared; log_depth: the
        depth net works on log depth; repaint_margin: the front pixels of each segment's
        context margin take the colour the networks painted there (as the fill's
        ``repaint_margin``), so the mixed foreground colour next to the cut leaves no ghost
        outline on the background; min_piece: kept pieces of fewer pixels are dropped
        (as the fill's ``min_piece``: no dust floating in the mesh).
    """

    depth_threshold: float = 0.04
    ext_edge_threshold: float = 0.002
    largest_size: int = 512
    log_depth: bool = True
    repaint_margin: bool = True
    min_piece: int = 10

    @classmethod
    def from_config(cls, config: InpaintConfig, depth_threshold: float) -> "LearnedSettings":
        return cls(float(depth_threshold), float(config.ext_edge_threshold), int(config.largest_size),
                   bool(config.log_depth), bool(config.repaint_margin), int(config.min_piece))


@dataclass
class InpaintStats:
    """What the last call did: crops per network and seconds per step."""

    crops: int = 0
    edge_crops: int = 0
    color_downscaled: int = 0
    seconds: dict = field(default_factory=dict)


def _default_batch_pixels(device: "torch.device") -> int:
    # CPU: about one large crop per batch bounds memory (the whole stage on the 960 px sample,
    # with a 640x640 edge crop, peaked ~0.9 GB above the networks' weights); a GPU holds many.
    return 1 << 19 if device.type == "cpu" else 1 << 23


class LearnedInpainter:
    """Fill synthesis regions with the edge, depth and colour networks (see module docs).

    Args:
        edge_net, depth_net, color_net: networks of :mod:`photo3d.inpaint.networks` (any
            widths), in eval mode; moved to ``device`` here.
        device: torch device or name (``"auto"``, ``"cpu"``, ``"cuda"``...).
        max_batch_pixels: padded pixels per batch (bounds memory); default by device.
        fp16: float16 autocast on CUDA.
        settings: thresholds and sizes (:class:`LearnedSettings`).
        inputs: input convention per network kind (``depth``, ``color``; see
            :data:`.tensors.INPUT_CONVENTIONS`); missing kinds use ``reference``, the
            published models' input. photo3d's shipped files name theirs in their cards.
        edge_net_edges: pass the edge net's completed edges on to the depth and colour nets
            (False: only the context edges, and the edge net does not run).

    Call it as ``inpainter(canvas, discontinuities, regions) -> LayerFill``.
    ``last_stats`` holds the crop counts and step times of the last call.
    """

    def __init__(self, edge_net: "nn.Module", depth_net: "nn.Module", color_net: "nn.Module",
                 device: "str | torch.device" = "cpu", max_batch_pixels: int | None = None,
                 fp16: bool = False, settings: LearnedSettings | None = None,
                 inputs: dict[str, str] | None = None, edge_net_edges: bool = True) -> None:
        from ...device import pick_device

        self.inputs = {"depth": "reference", "color": "reference", **(inputs or {})}
        for kind, convention in self.inputs.items():
            if convention not in INPUT_CONVENTIONS or (kind == "edge" and convention != "reference"):
                raise Photo3DError(f"{kind} network: unknown input convention {convention!r} "
                                   f"({', '.join(INPUT_CONVENTIONS)})")
        self.edge_net_edges = bool(edge_net_edges)

        self.settings = settings or LearnedSettings()
        self.device = pick_device(device)
        self.edge_net = edge_net.to(self.device).eval()
        self.depth_net = depth_net.to(self.device).eval()
        self.color_net = color_net.to(self.device).eval()
        self.max_batch_pixels = int(max_batch_pixels or _default_batch_pixels(self.device))
        self.fp16 = bool(fp16)
        self.last_stats = InpaintStats()

    def _run(self, network: "nn.Module", inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        from ..batching import run_batched

        if not inputs:
            return []
        multiple = max(PAD_MULTIPLE, int(getattr(network, "size_multiple", 1)))
        tensors = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for x in inputs]
        outputs = run_batched(network, tensors, multiple, self.device, self.max_batch_pixels, self.fp16)
        return [o.numpy() for o in outputs]

    name = "learned"

    def __call__(self, canvas: Canvas, disc: Discontinuities, regions: Regions) -> LayerFill:
        config = self.settings
        stats = InpaintStats()
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stats.seconds[name] = stats.seconds.get(name, 0.0) + now - clock
            clock = now

        crops = segment_crops(canvas, disc, regions)
        stats.crops = len(crops)
        lap("prepare")

        # Edge net: only where a context edge meets the mask (reference: require_depth_edge).
        edges = [c.context_edges for c in crops]
        needs_edge = [i for i, c in enumerate(crops) if c.context_edges.any()] if self.edge_net_edges else []
        stats.edge_crops = len(needs_edge)
        edge_inputs = [edge_input(crops[i]) for i in needs_edge]
        lap("prepare")
        edge_outputs = self._run(self.edge_net, edge_inputs)
        lap("edge")
        for i, out in zip(needs_edge, edge_outputs):
            edges[i] = finish_edges(out[0], crops[i], float(config.ext_edge_threshold))
        lap("prepare")

        log_depth = bool(config.log_depth)
        depth_residual = self.inputs["depth"] == "fill_residual"
        if depth_residual and not log_depth:
            raise Photo3DError("the fill_residual depth net works on log depth (inpaint.log_depth: true)")
        color_residual = self.inputs["color"] == "fill_residual"
        priors: list = [(None, None)] * len(crops)
        if depth_residual and color_residual:  # one peel gives both (identical to two)
            priors = [fill_priors(c.rgb, c.depth, c.context, c.hole) for c in crops]
        elif depth_residual:
            priors = [(None, fill_prior_depth(c.depth, c.context, c.hole)) for c in crops]
        elif color_residual:
            priors = [(fill_prior_color(c.rgb, c.context, c.hole), None) for c in crops]
        depth_inputs, means = [], []
        for crop, edge, (_, prior_depth) in zip(crops, edges, priors):
            x, mean = depth_input(crop, edge, log_depth)
            if depth_residual:
                x = with_depth_prior(x, prior_depth, crop.hole, mean)
            depth_inputs.append(x)
            means.append(mean)
        lap("prepare")
        depth_outputs = self._run(self.depth_net, depth_inputs)
        if depth_residual:
            depth_outputs = [residual_output("depth", o, x) for o, x in zip(depth_outputs, depth_inputs)]
        lap("depth")

        largest = int(config.largest_size)
        color_inputs, scaled, bases = [], [], []
        for crop, edge, (prior_color, _) in zip(crops, edges, priors):
            x, was_scaled = color_input(crop, edge, largest)
            if color_residual:
                prior = prior_color.transpose(2, 0, 1)
                base = crop.rgb.transpose(2, 0, 1) + prior  # context colour, the fill in the hole
                bases.append(base)
                if was_scaled:
                    small = cv2.resize(base.transpose(1, 2, 0), (x.shape[2], x.shape[1]), interpolation=cv2.INTER_AREA)
                    x = with_color_prior(x, small.transpose(2, 0, 1), x[5] > 0)
                else:
                    x = with_color_prior(x, prior, crop.hole)
            color_inputs.append(x)
            scaled.append(was_scaled)
        stats.color_downscaled = sum(scaled)
        lap("prepare")
        color_outputs = self._run(self.color_net, color_inputs)
        if color_residual:
            color_outputs = [self._color_correction(o, x, base)
                             for o, x, base in zip(color_outputs, color_inputs, bases)]
        lap("color")

        fill = self._assemble(canvas, crops, depth_outputs, means, color_outputs, self.settings)
        lap("assemble")
        self.last_stats = stats
        log.debug("learned inpainting: %d crops (%d through the edge net, %d colour crops downscaled), %s",
                  stats.crops, stats.edge_crops, stats.color_downscaled,
                  ", ".join(f"{k} {v:.2f}s" for k, v in stats.seconds.items()))
        return fill

    @staticmethod
    def _color_correction(output: np.ndarray, x: np.ndarray, base: np.ndarray) -> np.ndarray:
        """A fill_residual colour net's values at the crop's full size: the correction
        2·(output − 0.5), enlarged (bicubic) when the crop was downscaled, on top of the
        full-size fill, so the fill keeps its own resolution."""
        if output.shape[1:] == base.shape[1:]:
            return residual_output("color", output, x)
        delta = np.ascontiguousarray((2.0 * (output - 0.5)).transpose(1, 2, 0), dtype=np.float32)
        delta = cv2.resize(delta, (base.shape[2], base.shape[1]), interpolation=cv2.INTER_CUBIC)
        return np.clip(base + delta.transpose(2, 0, 1), 0.0, 1.0).astype(np.float32)

    @staticmethod
    def _assemble(canvas: Canvas, crops: list[SegmentCrop], depth_outputs: list[np.ndarray],
                  means: list[float], color_outputs: list[np.ndarray], config: LearnedSettings) -> LayerFill:
        h, w = canvas.shape
        mask = np.zeros((h, w), dtype=bool)
        depth = np.zeros((h, w), dtype=np.float32)
        disparity = np.zeros((h, w), dtype=np.float32)
        color = np.zeros((h, w, 3), dtype=np.uint8)
        thr = float(config.depth_threshold)
        scale = float(canvas.depth_scale)
        color_ = canvas.color
        gray = bool((color_[..., 0] == color_[..., 1]).all() and (color_[..., 1] == color_[..., 2]).all())
        log_depth = bool(config.log_depth)
        margin = np.zeros((h, w), dtype=bool)  # context margins the networks re-painted
        margin_color = np.zeros((h, w, 3), dtype=np.uint8)
        for crop, d_out, mean, c_out in zip(crops, depth_outputs, means, color_outputs):
            window = (slice(crop.y0, crop.y1), slice(crop.x0, crop.x1))
            new_depth = depth_output(d_out[0], mean, log_depth)
            new_disp = scale / np.maximum(new_depth, 1e-12)
            keep = ((crop.synthesis if crop.keep is None else crop.keep) & np.isfinite(new_depth) & (new_depth > 0)
                    & (new_disp < canvas.detect_disparity[window] - thr))
            rgb = color_output(c_out, crop.shape, gray)
            mask[window] |= keep
            depth[window][keep] = new_depth[keep]
            disparity[window][keep] = new_disp[keep]
            color[window][keep] = rgb[keep]
            if config.repaint_margin and crop.keep is not None:
                ring = crop.synthesis & ~crop.keep  # the segment's margin (one label map: no overlaps)
                margin[window] |= ring
                margin_color[window][ring] = rgb[ring]
        kept = drop_specks(mask, int(config.min_piece))
        depth[mask & ~kept] = disparity[mask & ~kept] = 0.0
        mask = kept
        # A margin pixel that another segment fills keeps that layer's colour in ``color``
        # (its front pixel stays as it is), as in the fill.
        repaint = margin & ~mask
        color[repaint] = margin_color[repaint]
        return LayerFill(mask, depth, disparity, color, repaint if repaint.any() else None)


# ---------------------------------------------------------------------------------------
# Construction from weight files
# ---------------------------------------------------------------------------------------

def weight_paths(config: InpaintConfig) -> tuple[dict[str, Path], list[str]]:
    """Where each network's weights are: explicit ``config.<kind>_weights`` paths, else
    :func:`photo3d.weights.find_weights` (``config.checkpoints`` searched first).

    Returns:
        (found: kind -> path, missing: one description per kind not found).

    Raises:
        Photo3DError: an explicit ``*_weights`` path that does not exist (a typo should not
            silently fall back to the non-learned fill).
    """
    from ... import weights

    found: dict[str, Path] = {}
    missing: list[str] = []
    for kind in NETWORK_KINDS:
        explicit = getattr(config, f"{kind}_weights")
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise Photo3DError(f"{path}: {kind} network weights not found ({kind}_weights)")
            found[kind] = path
            continue
        path = weights.find_weights(kind, config.checkpoints)
        if path is None:
            missing.append(weights.get_spec(kind).filename)
        else:
            found[kind] = path
    return found, missing


def make_learned_inpainter(config: InpaintConfig, depth_threshold: float, required: bool) -> LearnedInpainter | None:
    """The learned inpainter with the published networks, loaded once, or None.

    Args:
        config: the inpaint section (weights, checkpoints, device, batching, sizes).
        depth_threshold: the discontinuity threshold (see :class:`LearnedSettings`).
        required: the user asked for the learned inpainter (``inpaint.method: learned``).

    Returns:
        None when some weights are missing and not ``required`` (the caller falls back).

    Raises:
        Photo3DError: weights missing and ``required`` (naming the files, the folders
            searched and how to get them); an explicit weights path that does not exist;
            a weight file that cannot be loaded; an unusable device.
    """
    from ... import weights

    found, missing = weight_paths(config)
    if missing and weights.will_download(config.download):  # first use: fetch them once
        fallback = "" if required else "the non-learned fill"
        for kind in NETWORK_KINDS:
            if kind not in found and weights.ensure_weights(kind, config.checkpoints, allow_download=True,
                                                            fallback=fallback) is None:
                break  # warned once; the others would fail the same way
        found, missing = weight_paths(config)
    if missing:
        shipped = shipped_inpainter(config, depth_threshold, required)
        if shipped is not None:
            return shipped
        if not required:
            return None
        dirs = ", ".join(str(d) for d in weights.search_dirs(config.checkpoints))
        raise Photo3DError(
            f"learned inpainting: network weights not found: {', '.join(missing)} (looked in {dirs}); "
            f"get them with `photo3d weights download edge depth color`, or give their folder as inpaint.checkpoints")
    from ...device import pick_device
    from ..networks import load_network

    device = pick_device(config.device)
    networks = {kind: load_network(kind, found[kind], device) for kind in NETWORK_KINDS}
    return LearnedInpainter(networks["edge"], networks["depth"], networks["color"], device,
                            max_batch_pixels=config.max_batch_pixels, fp16=bool(config.fp16),
                            settings=LearnedSettings.from_config(config, depth_threshold))


SHIPPED_IN_AUTO = False
"""Whether ``inpaint.method: auto`` takes photo3d's shipped networks when the published ones
are missing. Set from the measured scores (checkpoints/MODEL_CARD.md): True only when they beat
the non-learned fill on (a) colour and (c) novel views. False: the 2026-12-02 networks tie it
((a) +0.08 dB, −0.26 dB on today's regions stage's masks; (c) +0.03 dB per scene on disoccluded pixels and in the band around
them, −0.02 to −0.04 dB pooled, lower SSIM there) at ~10× its time, so
auto keeps the fill and only ``learned`` uses them."""


def shipped_inpainter(config: InpaintConfig, depth_threshold: float, required: bool) -> LearnedInpainter | None:
    """photo3d's own networks (``photo3d-<kind>.safetensors`` in a weights folder, see
    :mod:`photo3d.inpaint.shipped`) when the published files are missing, or None: when an
    explicit ``*_weights`` file was given, when none are shipped, or on ``auto`` while
    :data:`SHIPPED_IN_AUTO` is False. Its ``name`` says which networks ran."""
    if any(getattr(config, f"{kind}_weights") for kind in NETWORK_KINDS) or not (required or SHIPPED_IN_AUTO):
        return None
    from ...device import pick_device
    from .. import shipped

    folder = shipped.find_shipped(config.checkpoints)
    if folder is None:
        return None
    device = pick_device(config.device)
    nets = {kind: shipped.load_shipped(kind, folder, device) for kind in NETWORK_KINDS}
    options = shipped.inference_options(folder)
    settings = LearnedSettings.from_config(config, depth_threshold)
    if options["edge_threshold"] is not None and config.ext_edge_threshold == InpaintConfig().ext_edge_threshold:
        # the reference's 0.002 suits the published edge net; photo3d's card names its own
        settings = dataclasses.replace(settings, ext_edge_threshold=options["edge_threshold"])
    inpainter = LearnedInpainter(nets["edge"], nets["depth"], nets["color"], device,
                                 max_batch_pixels=config.max_batch_pixels, fp16=bool(config.fp16),
                                 settings=settings, inputs=options["inputs"],
                                 edge_net_edges=options["edge_net_edges"])
    inpainter.name = shipped.NAME
    return inpainter
