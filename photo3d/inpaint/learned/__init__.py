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
* The context margin next to the cut (mixed pixels, ``Regions.margin_label``) joins the
  networks' mask and is re-painted with the synthesis region (the reference re-paints its
  eroded context band, ``erode_context``, in a pass of its own).

**photo3d's own networks** (``checkpoints/photo3d-*.safetensors``) may use another input
convention, named by their cards (``input: fill_residual``; :data:`.tensors.INPUT_CONVENTIONS`):
the non-learned fill of the crop's hole (onion peel from the crop's context,
:func:`.tensors.fill_prior_color` / :func:`.tensors.fill_prior_depth`) is written into the
hole of the value channel(s), and the output is a correction on top of it (colour:
``clip(input + 2·(sigmoid − 0.5))``, enlarged and added to the full-size fill for downscaled
crops; depth: input log depth + output). Their cards may also set ``edge_threshold`` and
``edge_net_edges`` (whether completed edges are passed on at all). The published files always
get the reference's input above.

Only synthesis positions of the segment are written, and regions never overlap, so each
canvas position receives at most one value.

Modules: :mod:`.crops` (segment crops and their masks), :mod:`.tensors` (network inputs and
outputs), :mod:`.inpainter` (the inpainter and its construction from weight files).
"""
from __future__ import annotations

from .crops import SegmentCrop, context_edge_map, crop_window, open_small_mask, segment_crops
from .inpainter import InpaintStats, LearnedInpainter, LearnedSettings, make_learned_inpainter, weight_paths
from .tensors import (PAD_MULTIPLE, color_input, color_output, color_scale, depth_input, depth_output, edge_input,
                      finish_edges)

__all__ = ["PAD_MULTIPLE", "InpaintStats", "LearnedInpainter", "LearnedSettings", "SegmentCrop", "context_edge_map", "crop_window", "open_small_mask", "color_input", "color_output",
           "color_scale", "depth_input", "depth_output", "edge_input", "finish_edges", "make_learned_inpainter",
           "segment_crops", "weight_paths"]
