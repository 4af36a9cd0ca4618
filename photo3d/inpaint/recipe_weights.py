"""Deterministic seeded weights (for tests and cost benchmarks): the weights behind shared/compat/{edge,depth,color}_vectors.npz.

Recipe (shared/compat/README.md), for every state-dict key:

* integer tensors (``num_batches_tracked``) and keys containing ``mask_conv``: as the
  network initialises them (0, all ones);
* otherwise ``r = randn(shape)`` from a generator seeded with ``crc32(key)``, then
  ``running_var``: ``0.5 + |r|``; ``weight_u``/``weight_v``: ``r / |r|``; tensors with two or
  more dims: ``r / sqrt(prod(shape[1:]))``; ``bias``/``running_mean``: ``0.1 r``; other 1-d
  tensors: ``1 + 0.1 r``.

The keys and shapes come from our own network's ``state_dict()``: since every tensor is
seeded by its key name, matching the vectors also proves the names are the reference's.
"""
from __future__ import annotations

import math
import zlib
from collections import OrderedDict

import torch
from torch import nn


def recipe_tensor(key: str, like: torch.Tensor) -> torch.Tensor:
    """The recipe's tensor for ``key``, with the shape (and, for integers, value) of ``like``."""
    shape = tuple(like.shape)
    if not like.is_floating_point():
        return torch.zeros(shape, dtype=like.dtype)
    if "mask_conv" in key:
        return torch.ones(shape)
    r = torch.randn(shape, generator=torch.Generator().manual_seed(zlib.crc32(key.encode())),
                    dtype=torch.float32)
    if key.endswith("running_var"):
        return 0.5 + r.abs()
    if key.endswith("weight_u") or key.endswith("weight_v"):
        return r / r.norm()
    if len(shape) >= 2:
        return r / math.sqrt(math.prod(shape[1:]))
    if key.endswith("bias") or key.endswith("running_mean"):
        return 0.1 * r
    return 1.0 + 0.1 * r


def recipe_state_dict(network: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """Recipe weights for every key of ``network.state_dict()``, in its order."""
    return OrderedDict((k, recipe_tensor(k, v)) for k, v in network.state_dict().items())


def recipe_network(kind: str, **size: int) -> nn.Module:
    """``build_network(kind, **size)`` with recipe weights loaded strictly, in eval mode."""
    from .networks import build_network

    network = build_network(kind, **size)
    network.load_state_dict(recipe_state_dict(network), strict=True)
    return network.eval()
