"""Learned layered-depth inpainting: the edge, depth and colour networks of Shih et al. 2020
fill every segment's synthesis region from its context region.

For each discontinuity segment s with a non-empty synthesis region (see :mod:`photo3d.regions`):

* **mask** = ``synthesis_label == s`` (positions to fill behind the foreground),
  **context** = ``context_label == s`` (known background pixels);
* **crop** = union of the bounding boxes of mask and context, each grown by 20 px and
  clipped to the canvas (as the reference's ``get_union_size``);
* **edge net** (7 channels, full crop resolution): RGB/255 on context, disparity on context
  divided by its crop maximum, the context edge map, context, mask. It runs only when a
  context edge touches the mask (the reference's ``require_depth_edge``); its output is
  binarised at ``config.ext_edge_threshold`` inside the mask and added to the context edges;
* **depth net** (4 channels, full resolution): zero-mean log depth on context, edges,
  context, hole; the depth inside the hole is ``exp(output + mean)``;
* **colour net** (6 channels): RGB/255 on context, edges (all zero when the crop was
  downscaled), context, hole; crops are shrunk (area) so that about ``config.largest_size``²
  pixels remain, the output is enlarged back (bicubic).

The *hole* given to the depth and colour nets is the mask after the reference's
``open_small_mask`` (3 rounds of 41x41 dilation + erosion of mask ∪ context; closed gaps that
are not context join the hole). Every crop is zero-padded to multiples of 128 by
:func:`photo3d.inpaint.batching.run_batched`, which batches crops of equal padded size.
Inputs are prepared exactly as shared/compat/REFERENCE_PIPELINE.md §2-4 describes.

Deliberate differences from the reference (all cheaper, none changes a network input's meaning):

* **Context edges** are the near-side depth-edge pixels (``Discontinuities.near_edge``) inside
  the context whose 8-connected run touches the (3x3 dilated) mask: depth edges of the
  background that continue behind the foreground. The segment's own cut is left out, as the
  reference's ``filter_irrelevant_edge_new`` leaves out the current edge.
* **Edge clean-up**: instead of the shortest-path ``clean_far_edge_new`` (a near path and a
  matching far path per edge), the binarised edge inside the mask is thinned to one pixel
  (skeletonised) and only runs that touch a context edge are kept; the repeated edge
  inpainting (``repeat_inpaint_edge``) is not done, and there is one inpainting round, not two.
* **Depth post-processing**: no ``smooth_cntsyn_gap`` / ``refine_depth_around_edge``. As the
  non-learned fill (:func:`photo3d.inpaint.fill.fill_regions`), a synthesised pixel is kept
  only when it lies behind the front surface by at least ``config.depth_threshold`` in
  detection disparity (the reference instead pushes it to the front depth + 0.01).
* The colour of the eroded context band (``erode_context``) is not re-painted.

Only synthesis positions of the segment are written, and regions never overlap, so each
canvas position receives at most one value.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import cv2
import numpy as np
from scipy import ndimage

from ..config import Config
from ..errors import Photo3DError
from ..ldi import LayerFill
from ..preprocess import Canvas, Discontinuities
from ..regions import Regions

if TYPE_CHECKING:  # torch is imported lazily: choosing the inpainter must stay cheap
    import torch
    from torch import nn

log = logging.getLogger("photo3d")

CROP_MARGIN = 20  # px added around the mask and context boxes (reference: get_union_size)
PAD_MULTIPLE = 128  # every crop is zero-padded to multiples of this (reference: forward_3P)
OPEN_ROUNDS, OPEN_KERNEL = 3, 41  # reference: open_small_mask(mask, context, 3, 41)
LOG_EPS = 1e-8  # reference: log(depth + 1e-8)
NETWORK_KINDS = ("edge", "depth", "color")


# ---------------------------------------------------------------------------------------
# Crops
# ---------------------------------------------------------------------------------------

@dataclass
class SegmentCrop:
    """One segment's network window on the canvas, rows y0:y1 and columns x0:x1.

    synthesis: (h, w) bool, the segment's synthesis positions (the edge net's mask and the
        only positions whose results are kept).
    context: (h, w) bool, the segment's context pixels.
    hole: (h, w) bool, the depth/colour nets' mask: ``synthesis`` after :func:`open_small_mask`.
    context_edges: (h, w) bool, depth-edge pixels of the context (see :func:`context_edge_map`).
    rgb: (h, w, 3) float32 in [0, 1], zero outside the context.
    depth: (h, w) float32 camera z (canvas units).
    """

    segment: int
    y0: int
    y1: int
    x0: int
    x1: int
    synthesis: np.ndarray
    context: np.ndarray
    hole: np.ndarray
    context_edges: np.ndarray
    rgb: np.ndarray
    depth: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.synthesis.shape


def crop_window(mask_box: tuple[slice, slice], context_box: tuple[slice, slice],
                shape: tuple[int, int], margin: int = CROP_MARGIN) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1): union of the two boxes, each grown by ``margin``, clipped to ``shape``."""
    y0 = max(0, min(mask_box[0].start, context_box[0].start) - margin)
    y1 = min(shape[0], max(mask_box[0].stop, context_box[0].stop) + margin)
    x0 = max(0, min(mask_box[1].start, context_box[1].start) - margin)
    x1 = min(shape[1], max(mask_box[1].stop, context_box[1].stop) + margin)
    return y0, y1, x0, x1


_BOX3 = np.ones((3, 3), np.uint8)


def context_edge_map(near_edge: np.ndarray, context: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Depth edges of the context that run into the mask.

    Args:
        near_edge: (h, w) bool, near-side pixels of cut links (the LDI's edge pixels).
        context, mask: (h, w) bool.
    Returns:
        (h, w) bool: the 8-connected runs of ``near_edge & context`` that touch the mask
        dilated by one pixel (reference: ``filter_irrelevant_edge_new`` keeps edges that meet
        the current edge; ``require_depth_edge`` tests the 3x3-dilated mask).
    """
    edges = near_edge & context
    if not edges.any():
        return edges
    count, labels = cv2.connectedComponents(edges.astype(np.uint8), connectivity=8)
    touching = cv2.dilate(mask.astype(np.uint8), _BOX3) > 0
    keep = np.zeros(count, dtype=bool)
    keep[labels[touching & edges]] = True
    keep[0] = False
    return keep[labels]


def open_small_mask(mask: np.ndarray, context: np.ndarray, rounds: int = OPEN_ROUNDS,
                    kernel: int = OPEN_KERNEL) -> np.ndarray:
    """The reference's ``open_small_mask``: close small gaps of mask ∪ context and add the
    closed pixels that are not context to the mask. (h, w) bool -> (h, w) bool."""
    valid = (mask | context).astype(np.uint8)
    box = np.ones((kernel, kernel), np.uint8)
    for _ in range(rounds):
        valid = cv2.erode(cv2.dilate(valid, box), box)
    return mask | ((valid > 0) & ~context)


def segment_crops(canvas: Canvas, disc: Discontinuities, regions: Regions,
                  margin: int = CROP_MARGIN) -> list[SegmentCrop]:
    """The crop of every segment with a non-empty synthesis and context region, by segment id."""
    syn_label, ctx_label = regions.synthesis_label, regions.context_label
    n = int(max(syn_label.max(initial=0), ctx_label.max(initial=0)))
    syn_boxes = ndimage.find_objects(syn_label, max_label=n)
    ctx_boxes = ndimage.find_objects(ctx_label, max_label=n)
    crops = []
    for s in range(1, n + 1):
        if syn_boxes[s - 1] is None or ctx_boxes[s - 1] is None:
            continue  # nothing to fill, or nothing to fill it from
        y0, y1, x0, x1 = crop_window(syn_boxes[s - 1], ctx_boxes[s - 1], canvas.shape, margin)
        window = (slice(y0, y1), slice(x0, x1))
        synthesis = syn_label[window] == s
        context = ctx_label[window] == s
        rgb = canvas.color[window].astype(np.float32) * np.float32(1 / 255) * context[..., None]
        crops.append(SegmentCrop(
            segment=s, y0=y0, y1=y1, x0=x0, x1=x1, synthesis=synthesis, context=context,
            hole=open_small_mask(synthesis, context),
            context_edges=context_edge_map(disc.near_edge[window], context, synthesis),
            rgb=rgb, depth=canvas.depth[window].astype(np.float32)))
    return crops


# ---------------------------------------------------------------------------------------
# Network inputs and outputs (numpy; converted to tensors by the caller)
# ---------------------------------------------------------------------------------------

def _mask_f(mask: np.ndarray) -> np.ndarray:
    return mask.astype(np.float32)


def edge_input(crop: SegmentCrop) -> np.ndarray:
    """(7, h, w) float32: RGB on context, disparity on context / its maximum, context edges,
    context, mask (REFERENCE_PIPELINE.md §2)."""
    disparity = np.where(crop.context, 1.0 / np.maximum(np.abs(crop.depth), 1e-12), 0.0).astype(np.float32)
    top = float(disparity.max())
    if top > 0:
        disparity /= top
    return np.concatenate([crop.rgb.transpose(2, 0, 1), disparity[None], _mask_f(crop.context_edges)[None],
                           _mask_f(crop.context)[None], _mask_f(crop.synthesis)[None]])


def finish_edges(probability: np.ndarray, crop: SegmentCrop, threshold: float) -> np.ndarray:
    """The edge map passed on: context edges plus the thinned edge-net output in the mask.

    Args:
        probability: (h, w) sigmoid output of the edge net.
        threshold: ``ext_edge_threshold``.
    Returns:
        (h, w) bool. Inside the mask: pixels above ``threshold``, thinned to one pixel, in
        8-connected runs that touch a context edge (our stand-in for the reference's
        shortest-path clean-up).
    """
    from skimage.morphology import skeletonize

    inside = (probability > threshold) & crop.synthesis
    if not inside.any():
        return crop.context_edges.copy()
    thin = skeletonize(inside)
    count, labels = cv2.connectedComponents((thin | crop.context_edges).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[labels[crop.context_edges]] = True
    keep[0] = False
    return crop.context_edges | (thin & keep[labels])


def depth_input(crop: SegmentCrop, edges: np.ndarray, log_depth: bool = True) -> tuple[np.ndarray, float]:
    """(4, h, w) float32 input of the depth net and the mean it was shifted by.

    Channel 0 is the zero-mean log depth on context pixels (0 elsewhere) when ``log_depth``
    (the published model), else the raw depth on context; then edges, context, hole.
    """
    if log_depth:
        logd = np.log(np.abs(crop.depth).astype(np.float64) + LOG_EPS)
        mean = float(logd[crop.context].mean())
        channel = np.where(crop.context, logd - mean, 0.0).astype(np.float32)
    else:
        mean = 0.0
        channel = np.where(crop.context, crop.depth, 0.0).astype(np.float32)
    return np.stack([channel, _mask_f(edges), _mask_f(crop.context), _mask_f(crop.hole)]), mean


def depth_output(output: np.ndarray, mean: float, log_depth: bool = True) -> np.ndarray:
    """(h, w) depth from the depth net's (h, w) output: exp(output + mean) for log depth."""
    if not log_depth:
        return output.astype(np.float32)
    return np.exp(np.clip(output.astype(np.float64) + mean, -80.0, 80.0)).astype(np.float32)


def color_scale(height: int, width: int, largest_size: int, multiple: int = PAD_MULTIPLE) -> float:
    """The reference's colour-crop scale: with s = largest_size / sqrt(h·w), the longer side
    becomes floor(longer·s / multiple)·multiple. Returns frac (< 1 means downscale)."""
    longer = max(height, width)
    s = largest_size / math.sqrt(height * width)
    return max(1, math.floor(longer * s / multiple)) * multiple / longer


def color_input(crop: SegmentCrop, edges: np.ndarray, largest_size: int) -> tuple[np.ndarray, bool]:
    """(6, h', w') float32 input of the colour net and whether it was downscaled.

    RGB on context, edges (all zero when downscaled), context, hole (REFERENCE_PIPELINE.md §4).
    Downscaling uses area interpolation; the hole is re-binarised as > 0 and the context as
    fully covered and not hole.
    """
    h, w = crop.shape
    frac = color_scale(h, w, largest_size)
    if frac >= 1:
        return np.concatenate([crop.rgb.transpose(2, 0, 1), _mask_f(edges)[None], _mask_f(crop.context)[None],
                               _mask_f(crop.hole)[None]]), False
    size = (max(1, round(w * frac)), max(1, round(h * frac)))
    hole = cv2.resize(_mask_f(crop.hole), size, interpolation=cv2.INTER_AREA) > 0
    context = (cv2.resize(_mask_f(crop.context), size, interpolation=cv2.INTER_AREA) >= 1 - 1e-5) & ~hole
    rgb = cv2.resize(crop.rgb, size, interpolation=cv2.INTER_AREA) * context[..., None]
    return np.concatenate([rgb.transpose(2, 0, 1), np.zeros((1, size[1], size[0]), np.float32),
                           _mask_f(context)[None], _mask_f(hole)[None]]), True


def color_output(output: np.ndarray, shape: tuple[int, int], gray: bool) -> np.ndarray:
    """(h, w, 3) uint8 from the colour net's (3, h', w') output, enlarged (bicubic) to ``shape``."""
    rgb = np.ascontiguousarray(output.transpose(1, 2, 0), dtype=np.float32)
    if rgb.shape[:2] != tuple(shape):
        rgb = cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    if gray:
        rgb = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# The inpainter
# ---------------------------------------------------------------------------------------

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

    Call it as ``inpainter(canvas, discontinuities, regions, config) -> LayerFill``.
    ``last_stats`` holds the crop counts and step times of the last call.
    """

    def __init__(self, edge_net: "nn.Module", depth_net: "nn.Module", color_net: "nn.Module",
                 device: "str | torch.device" = "cpu", max_batch_pixels: int | None = None,
                 fp16: bool = False) -> None:
        from .batching import pick_device

        self.device = pick_device(device)
        self.edge_net = edge_net.to(self.device).eval()
        self.depth_net = depth_net.to(self.device).eval()
        self.color_net = color_net.to(self.device).eval()
        self.max_batch_pixels = int(max_batch_pixels or _default_batch_pixels(self.device))
        self.fp16 = bool(fp16)
        self.last_stats = InpaintStats()

    def _run(self, network: "nn.Module", inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        from .batching import run_batched

        if not inputs:
            return []
        multiple = max(PAD_MULTIPLE, int(getattr(network, "size_multiple", 1)))
        tensors = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)) for x in inputs]
        outputs = run_batched(network, tensors, multiple, self.device, self.max_batch_pixels, self.fp16)
        return [o.numpy() for o in outputs]

    def __call__(self, canvas: Canvas, disc: Discontinuities, regions: Regions, config: Config) -> LayerFill:
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
        needs_edge = [i for i, c in enumerate(crops) if c.context_edges.any()]
        stats.edge_crops = len(needs_edge)
        edge_inputs = [edge_input(crops[i]) for i in needs_edge]
        lap("prepare")
        edge_outputs = self._run(self.edge_net, edge_inputs)
        lap("edge")
        for i, out in zip(needs_edge, edge_outputs):
            edges[i] = finish_edges(out[0], crops[i], float(config.ext_edge_threshold))
        lap("prepare")

        log_depth = bool(config.log_depth)
        depth_inputs, means = [], []
        for crop, edge in zip(crops, edges):
            x, mean = depth_input(crop, edge, log_depth)
            depth_inputs.append(x)
            means.append(mean)
        lap("prepare")
        depth_outputs = self._run(self.depth_net, depth_inputs)
        lap("depth")

        largest = int(config.largest_size)
        color_inputs, scaled = [], []
        for crop, edge in zip(crops, edges):
            x, was_scaled = color_input(crop, edge, largest)
            color_inputs.append(x)
            scaled.append(was_scaled)
        stats.color_downscaled = sum(scaled)
        lap("prepare")
        color_outputs = self._run(self.color_net, color_inputs)
        lap("color")

        fill = self._assemble(canvas, crops, depth_outputs, means, color_outputs, config)
        lap("assemble")
        self.last_stats = stats
        log.debug("learned inpainting: %d crops (%d through the edge net, %d colour crops downscaled), %s",
                  stats.crops, stats.edge_crops, stats.color_downscaled,
                  ", ".join(f"{k} {v:.2f}s" for k, v in stats.seconds.items()))
        return fill

    @staticmethod
    def _assemble(canvas: Canvas, crops: list[SegmentCrop], depth_outputs: list[np.ndarray],
                  means: list[float], color_outputs: list[np.ndarray], config: Config) -> LayerFill:
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
        for crop, d_out, mean, c_out in zip(crops, depth_outputs, means, color_outputs):
            window = (slice(crop.y0, crop.y1), slice(crop.x0, crop.x1))
            new_depth = depth_output(d_out[0], mean, log_depth)
            new_disp = scale / np.maximum(new_depth, 1e-12)
            keep = (crop.synthesis & np.isfinite(new_depth) & (new_depth > 0)
                    & (new_disp < canvas.detect_disparity[window] - thr))
            rgb = color_output(c_out, crop.shape, gray)
            mask[window] |= keep
            depth[window][keep] = new_depth[keep]
            disparity[window][keep] = new_disp[keep]
            color[window][keep] = rgb[keep]
        return LayerFill(mask, depth, disparity, color)


# ---------------------------------------------------------------------------------------
# Construction from weight files
# ---------------------------------------------------------------------------------------

def weight_paths(config: Config) -> tuple[dict[str, Path], list[str]]:
    """Where each network's weights are: explicit ``config.<kind>_weights`` paths, else
    :func:`photo3d.weights.find_weights` (``config.checkpoints`` searched first).

    Returns:
        (found: kind -> path, missing: one description per kind not found).

    Raises:
        Photo3DError: an explicit ``*_weights`` path that does not exist (a typo should not
            silently fall back to the non-learned fill).
    """
    from .. import weights

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


def make_learned_inpainter(config: Config, required: bool) -> LearnedInpainter | None:
    """The learned inpainter with the published networks, loaded once, or None.

    Args:
        config: uses ``edge_weights``/``depth_weights``/``color_weights``, ``checkpoints``
            and ``device``.
        required: the user asked for ``--inpaint learned``.

    Returns:
        None when some weights are missing and not ``required`` (the caller falls back).

    Raises:
        Photo3DError: weights missing and ``required`` (naming the files, the folders
            searched and how to get them); an explicit weights path that does not exist;
            a weight file that cannot be loaded; an unusable device.
    """
    from .. import weights

    found, missing = weight_paths(config)
    if missing:
        if not required:
            return None
        dirs = ", ".join(str(d) for d in weights.search_dirs(config.checkpoints))
        raise Photo3DError(
            f"--inpaint learned: network weights not found: {', '.join(missing)} (looked in {dirs}); "
            f"get them with `photo3d weights download edge depth color` or pass --checkpoints DIR")
    from . import load_network
    from .batching import pick_device

    device = pick_device(config.device)
    networks = {kind: load_network(kind, found[kind], device) for kind in NETWORK_KINDS}
    return LearnedInpainter(networks["edge"], networks["depth"], networks["color"], device,
                            max_batch_pixels=getattr(config, "max_batch_pixels", None),
                            fp16=bool(getattr(config, "fp16", False)))
