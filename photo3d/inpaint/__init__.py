"""Inpainting networks (edge, depth, colour), their weights, and batched inference on crops."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Photo3DError

if TYPE_CHECKING:  # torch is imported lazily: importing photo3d.inpaint must stay cheap
    import torch
    from torch import nn

__all__ = ["load_network", "build_network", "run_batched", "pick_device"]


def load_network(kind: str, path: str | Path | None = None,
                 device: "str | torch.device" = "cpu",
                 checkpoints_dir: str | Path | None = None) -> "nn.Module":
    """The published-architecture network ``kind`` with weights from ``path``, in eval mode.

    Args:
        kind: ``"edge"``, ``"depth"`` or ``"color"``.
        path: a ``.pth`` / ``.safetensors`` state dict; None looks it up with
            :func:`photo3d.weights.find_weights` (``edge-model.pth`` etc.).
        device: where the network is moved.
        checkpoints_dir: searched first when ``path`` is None.

    Raises:
        Photo3DError: unknown kind, file missing or damaged, or keys/shapes that do not
            fit (the message lists missing, unexpected and mis-shaped keys).
    """
    from .. import weights
    from .networks import build_network

    network = build_network(kind)
    if path is None:
        path = weights.find_weights(kind, checkpoints_dir)
        if path is None:
            raise Photo3DError(
                f"{weights.get_spec(kind).filename}: {kind} network weights not found in "
                f"{', '.join(map(str, weights.search_dirs(checkpoints_dir)))} (run: photo3d weights download {kind})")
    state_dict = weights.load_state_dict(path)
    weights.load_into(network, state_dict, path)
    return network.to(device).eval()


def __getattr__(name: str):
    if name == "build_network":
        from .networks import build_network

        return build_network
    if name in ("run_batched", "pick_device"):
        from . import batching

        return getattr(batching, name)
    raise AttributeError(name)
