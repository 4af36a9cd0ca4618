"""Batched inference of the inpainting networks on many crops of different sizes.

Each crop is zero-padded to the network's size multiple exactly as the reference's
``forward_3P`` does (padding ``p`` per axis, crop placed at offset ``p // 2``), crops of
equal padded size run together, and the outputs are cropped back. Because every layer
works per sample (instance norm, BN in eval mode), a crop's result does not depend on what
it is batched with.
"""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Sequence

import torch
from torch import nn

from ..errors import Photo3DError


def padded_size(height: int, width: int, multiple: int) -> tuple[int, int]:
    """(H, W) rounded up to multiples of ``multiple``."""
    return -(-height // multiple) * multiple, -(-width // multiple) * multiple


def _autocast(device: torch.device, fp16: bool):
    """fp16 autocast on CUDA when asked; on other devices fp16 is ignored (float32)."""
    if fp16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def run_batched(network: nn.Module, inputs: Sequence[torch.Tensor], multiple: int,
                device: str | torch.device, max_batch_pixels: int,
                fp16: bool = False) -> list[torch.Tensor]:
    """Run ``network`` on crops of any sizes, batching crops of equal padded size.

    Args:
        network: takes (N, C, H, W) with H, W multiples of ``multiple``; already on ``device``
            and in the mode wanted (normally eval).
        inputs: crops (C, h, w), float32, any device; the last two channels are usually the
            context and synthesis masks (zero padding marks padded pixels as neither).
        multiple: pad each side length up to a multiple of this (128 as the reference).
        device: where the batches run.
        max_batch_pixels: a batch holds at most this many padded pixels (N·H·W), bounding
            memory; a crop larger than this runs alone.
        fp16: float16 autocast on CUDA (ignored elsewhere). Outputs are float32 either way.

    Returns:
        One float32 CPU tensor (C_out, h, w) per input, in input order.
    """
    if multiple < 1 or max_batch_pixels < 1:
        raise Photo3DError(f"multiple and max_batch_pixels must be positive, got {multiple}, "
                           f"{max_batch_pixels}")
    device = torch.device(device)
    groups: dict[tuple[int, tuple[int, int]], list[int]] = defaultdict(list)
    for index, crop in enumerate(inputs):
        if crop.ndim != 3 or crop.shape[1] == 0 or crop.shape[2] == 0:
            raise Photo3DError(f"crop {index}: expected a non-empty (C, h, w) tensor, "
                               f"got shape {tuple(crop.shape)}")
        groups[(crop.shape[0], padded_size(crop.shape[1], crop.shape[2], multiple))].append(index)

    outputs: list[torch.Tensor | None] = [None] * len(inputs)
    with torch.inference_mode(), _autocast(device, fp16):
        for (channels, (height, width)), indices in groups.items():
            per_batch = max(1, max_batch_pixels // (height * width))
            for start in range(0, len(indices), per_batch):
                chunk = indices[start:start + per_batch]
                batch = torch.zeros(len(chunk), channels, height, width, device=device)
                offsets = []
                for slot, index in enumerate(chunk):
                    crop = inputs[index]
                    top = (height - crop.shape[1]) // 2
                    left = (width - crop.shape[2]) // 2
                    batch[slot, :, top:top + crop.shape[1], left:left + crop.shape[2]] = crop
                    offsets.append((top, left))
                result = network(batch).float().cpu()
                for slot, (index, (top, left)) in enumerate(zip(chunk, offsets)):
                    h, w = inputs[index].shape[1:]
                    outputs[index] = result[slot, :, top:top + h, left:left + w]
    # Cloned outside inference mode: normal tensors that callers may modify in place.
    return [output.clone() for output in outputs]  # type: ignore[union-attr]
