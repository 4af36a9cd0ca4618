"""Segment crops: the window around each segment's synthesis and context regions, with the
masks and context edges that the networks see (see :mod:`photo3d.inpaint.learned`)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from ...core.data import Canvas, Discontinuities, Regions

CROP_MARGIN = 20  # px added around the mask and context boxes (reference: get_union_size)
OPEN_ROUNDS, OPEN_KERNEL = 3, 41  # reference: open_small_mask(mask, context, 3, 41)


@dataclass
class SegmentCrop:
    """One segment's network window on the canvas, rows y0:y1 and columns x0:x1.

    synthesis: (h, w) bool, the edge net's mask: the segment's synthesis positions and its
        context margin (``Regions.margin_label``: mixed pixels next to the cut, no context;
        the networks re-paint them, as with the reference's ``erode_context``).
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
    keep: np.ndarray | None = None
    """(h, w) bool, the positions whose results are kept (the synthesis positions);
    None = all of ``synthesis``."""

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
    syn_label, ctx_label, margin_label = regions.synthesis_label, regions.context_label, regions.margin()
    n = int(max(syn_label.max(initial=0), ctx_label.max(initial=0)))
    syn_boxes = ndimage.find_objects(syn_label, max_label=n)
    ctx_boxes = ndimage.find_objects(ctx_label, max_label=n)
    crops = []
    for s in range(1, n + 1):
        if syn_boxes[s - 1] is None or ctx_boxes[s - 1] is None:
            continue  # nothing to fill, or nothing to fill it from
        y0, y1, x0, x1 = crop_window(syn_boxes[s - 1], ctx_boxes[s - 1], canvas.shape, margin)
        window = (slice(y0, y1), slice(x0, x1))
        keep = syn_label[window] == s
        synthesis = keep | (margin_label[window] == s)
        context = ctx_label[window] == s
        rgb = canvas.color[window].astype(np.float32) * np.float32(1 / 255) * context[..., None]
        crops.append(SegmentCrop(
            segment=s, y0=y0, y1=y1, x0=x0, x1=x1, synthesis=synthesis, context=context,
            hole=open_small_mask(synthesis, context),
            context_edges=context_edge_map(disc.near_edge[window], context, synthesis),
            rgb=rgb, depth=canvas.depth[window].astype(np.float32), keep=keep))
    return crops
