"""The torch device for the networks (inpainting and depth), chosen once, in one place.

torch is imported on first use: importing photo3d must not pull it in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import Photo3DError

if TYPE_CHECKING:
    import torch


def pick_device(spec: "str | torch.device" = "auto") -> "torch.device":
    """The torch device for ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises:
        Photo3DError: CUDA requested but not available, index out of range, or an unknown name.
    """
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        index_text = spec.partition(":")[2]
        if index_text and not index_text.isdigit():
            raise Photo3DError(f"device {spec!r}: expected cuda or cuda:N with N an integer")
        if not torch.cuda.is_available():
            raise Photo3DError(
                f"device {spec!r}: CUDA is not available (this torch build or machine has no "
                f"usable GPU); use the device cpu or auto")
        count = torch.cuda.device_count()
        if index_text and int(index_text) >= count:
            raise Photo3DError(f"device {spec!r}: only {count} CUDA device(s) present")
        return torch.device(spec)
    raise Photo3DError(f"device {spec!r}: expected auto, cpu, cuda or cuda:N")
