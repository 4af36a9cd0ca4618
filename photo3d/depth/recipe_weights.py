"""Deterministic seeded Depth Anything V2 Small weights (for tests and cost benchmarks): those
of the compatibility vectors.

Recipe (shared/compat/README.md): for every key, ``r = randn(shape)`` from a generator
seeded with ``crc32(key)``; tensors with >= 2 dims get ``r / sqrt(prod(shape[1:]))``, keys
ending in ``bias`` get ``0.1 * r``, other 1-d tensors ``1 + 0.1 * r``; exception:
``depth_head.scratch.output_conv2.2.bias`` is ``1 + 0.1 * r`` (keeps the final ReLUs open).
"""
from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from typing import Iterable

import torch

_OPEN_RELU_BIAS = "depth_head.scratch.output_conv2.2.bias"


def recipe_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The recipe's float32 tensor for one state-dict key."""
    generator = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    r = torch.randn(shape, generator=generator, dtype=torch.float32)
    if key == _OPEN_RELU_BIAS:
        return 1.0 + 0.1 * r
    if len(shape) >= 2:
        return r / math.sqrt(math.prod(shape[1:]))
    if key.endswith("bias") or key.endswith("running_mean"):
        return 0.1 * r
    return 1.0 + 0.1 * r


def recipe_state_dict(keys_and_shapes: Iterable[tuple[str, tuple[int, ...]]]
                      ) -> "OrderedDict[str, torch.Tensor]":
    """State dict with every ``(key, shape)`` filled by :func:`recipe_tensor`, in the given order."""
    return OrderedDict((key, recipe_tensor(key, tuple(shape))) for key, shape in keys_and_shapes)
