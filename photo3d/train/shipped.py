"""Export of trained networks as photo3d's shipped weights (the file format and the loader are
in :mod:`photo3d.inpaint.shipped`, re-exported here), and the stored test vectors: the sum
and 8 values of each network's output on a fixed seeded input, which the tests reproduce.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from .stages import (
    NETWORK_KINDS,
    SHIPPED_NAME,
    Photo3DError,
    available,
    card_file,
    find_shipped,
    inference_options,
    learned_inpainter,
    load_shipped,
    read_card,
    sha256_of,
    shipped_dir,
    weight_file,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "available",
    "card_file",
    "export_network",
    "export_run",
    "find_shipped",
    "load_shipped",
    "output_vector",
    "read_card",
    "sha256_of",
    "shipped_dir",
    "shipped_inpainter",
    "vector_input",
    "weight_file",
]

VECTOR_SHAPE = {"edge": (1, 7, 128, 128), "depth": (1, 4, 128, 128), "color": (1, 6, 128, 128)}


def vector_input(kind: str) -> torch.Tensor:
    """The fixed input of the stored output vectors: seeded uniform features, a context
    half and a hole disc (binary last two channels), (1, C, 128, 128) float32."""
    import torch

    g = torch.Generator().manual_seed(1234)
    x = torch.rand(VECTOR_SHAPE[kind], generator=g)
    yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    hole = (((yy - 64) ** 2 + (xx - 70) ** 2) < 30 ** 2).float()
    context = ((xx < 64).float() * (1 - hole))
    x[0, -1], x[0, -2] = hole, context
    x[0, :-2] *= (context + hole).clamp(0, 1)
    return x


def output_vector(network: nn.Module, kind: str) -> dict:
    """Sum and 8 sample values of the network's output on :func:`vector_input` (eval mode)."""
    import torch

    network.eval()
    with torch.no_grad():
        out = network(vector_input(kind)).double()
    flat = out.reshape(-1)
    picks = torch.linspace(0, flat.numel() - 1, 8).long()
    return {"sum": float(flat.sum()), "values": [float(v) for v in flat[picks]]}


def export_network(network: nn.Module, kind: str, size: dict, folder: str | Path, extra: dict) -> Path:
    """Write ``photo3d-<kind>.safetensors`` and its ``.yml`` card into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().clone() for k, v in network.state_dict().items()}
    path = weight_file(kind, folder)
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"kind": kind, "size": json.dumps(size, sort_keys=True),
                                         "producer": "photo3d.train"})
    tmp.replace(path)
    card = {"kind": kind, "file": path.name, "size": size, "sha256": sha256_of(path),
            "bytes": path.stat().st_size, "test_vector": output_vector(network, kind)}
    card.update(extra)
    card_path = card_file(kind, folder)
    card_path.write_text(yaml.safe_dump(card, sort_keys=False))
    return path


def shipped_inpainter(folder: str | Path | None = None, device: str = "cpu", **kwargs):
    """A :class:`photo3d.inpaint.learned.LearnedInpainter` with the three shipped networks."""
    nets = {k: load_shipped(k, folder, device) for k in NETWORK_KINDS}
    options = inference_options(folder)
    kwargs.setdefault("inputs", options["inputs"])
    kwargs.setdefault("edge_net_edges", options["edge_net_edges"])
    if options["edge_threshold"] is not None:
        kwargs.setdefault("ext_edge_threshold", options["edge_threshold"])
    inpainter = learned_inpainter(nets["edge"], nets["depth"], nets["color"], device, **kwargs)
    inpainter.name = SHIPPED_NAME
    return inpainter


def export_run(config, folder: str | Path, kinds: list[str] | None = None,
               allow_partial: bool = False) -> list[Path]:
    """Export every finished network of a run (``<run_dir>/<kind>/final.pt``) to ``folder``;
    with ``allow_partial``, an unfinished one from its last checkpoint (the card says
    ``finished: false`` and the steps reached)."""
    import torch

    from .config import asdict
    from .loop import build, load_checkpoint

    written = []
    for net in config.nets:
        if kinds and net.kind not in kinds:
            continue
        final = Path(config.run_dir) / net.kind / "final.pt"
        last_path = Path(config.run_dir) / net.kind / "last.pt"
        if not final.is_file() and not (allow_partial and last_path.is_file()):
            raise Photo3DError(f"{final}: the {net.kind} network has not finished training")
        model = build(net, config.seed)
        last = load_checkpoint(last_path)
        state = torch.load(final, map_location="cpu", weights_only=True) if final.is_file() else last["model"]
        model.load_state_dict(state, strict=True)
        history = np.asarray(last["history"], np.float64)
        extra = {"input": net.input, "finished": final.is_file(), "steps": int(last["step"]), "train_seconds": round(float(last["seconds"]), 1),
                 "final_loss": round(float(history[-100:, 1].mean()), 5),
                 "recipe": {"seed": config.seed, "data": asdict(config.data), "net": asdict(net)}}
        written.append(export_network(model, net.kind, {k: int(v) for k, v in net.size.items()}, folder, extra))
    return written


def calibrate_shipped(folder: str | Path, root: str | Path, count: int = 200, crop: int = 128) -> dict:
    """Calibrate the exported networks in ``folder`` on validation data (synthetic layered
    scenes of BSDS500 train/val photos, :func:`photo3d.train.scores.validation_layered_set`;
    no held-out file) and write the result into their cards: ``edge_threshold`` (best edge
    F1) in the edge card, ``edge_net_edges`` (whether completed edges help the depth net) in
    the depth card, the measurements under ``calibration``. The weights (and sha256) stay."""
    from . import scores

    nets = {k: load_shipped(k, folder) for k in NETWORK_KINDS}
    inputs = inference_options(folder)["inputs"]
    samples = scores.validation_layered_set(Path(root), count, crop)
    result = scores.calibrate(nets, inputs, samples)
    result["samples"] = len(samples)
    for kind, fields in (("edge", {"edge_threshold": result["edge_threshold"]}),
                         ("depth", {"edge_net_edges": result["edge_net_edges"]})):
        path = card_file(kind, folder)
        card = read_card(kind, folder)
        card.update(fields)
        card["calibration"] = result
        path.write_text(yaml.safe_dump(card, sort_keys=False))
    return result
