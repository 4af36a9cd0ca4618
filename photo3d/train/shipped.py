"""photo3d's own trained inpainting networks: export, lookup and strict loading.

A shipped network is two files in ``checkpoints/``:

* ``photo3d-<kind>.safetensors``: the state dict (float32), its header metadata holding
  ``kind`` and ``size`` (the widths, JSON) so that the file alone rebuilds the network;
* ``photo3d-<kind>.yml``: kind, size, sha256 of the safetensors file, the recipe it came
  from (the run's config), steps and final training loss, and ``test_vector``: the sum and
  the first values of the output on a fixed seeded input (the tests reproduce them).

Loading checks the sha256, builds the network class at the stored widths and loads the
state dict strictly (:func:`photo3d.weights.load_into`).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from .stages import NETWORK_KINDS, Photo3DError, build_network, weights_module

if TYPE_CHECKING:
    import torch
    from torch import nn

PREFIX = "photo3d-"
VECTOR_SHAPE = {"edge": (1, 7, 128, 128), "depth": (1, 4, 128, 128), "color": (1, 6, 128, 128)}


def shipped_dir() -> Path:
    """The project's ``checkpoints/`` folder (where the shipped files live)."""
    return weights_module.project_checkpoints_dir()


def weight_file(kind: str, folder: str | Path | None = None) -> Path:
    return Path(folder or shipped_dir()) / f"{PREFIX}{kind}.safetensors"


def card_file(kind: str, folder: str | Path | None = None) -> Path:
    return Path(folder or shipped_dir()) / f"{PREFIX}{kind}.yml"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_input(kind: str) -> torch.Tensor:
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
    """Sum and 8 sample values of the network's output on :func:`test_input` (eval mode)."""
    import torch

    network.eval()
    with torch.no_grad():
        out = network(test_input(kind)).double()
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


def read_card(kind: str, folder: str | Path | None = None) -> dict:
    path = card_file(kind, folder)
    try:
        card = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise Photo3DError(f"{path}: shipped network card not found ({exc.strerror})") from exc
    if not isinstance(card, dict) or card.get("kind") != kind or not isinstance(card.get("size"), dict):
        raise Photo3DError(f"{path}: not a photo3d network card for {kind!r}")
    return card


def available(folder: str | Path | None = None) -> bool:
    """Whether all three shipped networks (weights and cards) are present."""
    return all(weight_file(k, folder).is_file() and card_file(k, folder).is_file() for k in NETWORK_KINDS)


def load_shipped(kind: str, folder: str | Path | None = None, device: str = "cpu",
                 check_hash: bool = True) -> nn.Module:
    """The shipped network ``kind`` at its stored widths, loaded strictly, in eval mode.

    Raises:
        Photo3DError: a file missing, a sha256 mismatch, widths that disagree between the
            card and the file, or keys/shapes that do not fit.
    """
    from safetensors import safe_open

    card = read_card(kind, folder)
    path = weight_file(kind, folder)
    if not path.is_file():
        raise Photo3DError(f"{path}: shipped {kind} network weights not found")
    if check_hash and sha256_of(path) != card.get("sha256"):
        raise Photo3DError(f"{path}: sha256 does not match {card_file(kind, folder).name}")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    size = {k: int(v) for k, v in card["size"].items()}
    if "size" in meta and json.loads(meta["size"]) != size:
        raise Photo3DError(f"{path}: widths in the file {meta['size']} differ from the card {size}")
    network = build_network(kind, **size)
    weights_module.load_into(network, weights_module.load_state_dict(path), path)
    return network.to(device).eval()


def shipped_inpainter(folder: str | Path | None = None, device: str = "cpu", **kwargs):
    """A :class:`photo3d.inpaint.learned.LearnedInpainter` with the three shipped networks."""
    from .stages import learned_inpainter

    nets = {k: load_shipped(k, folder, device) for k in NETWORK_KINDS}
    return learned_inpainter(nets["edge"], nets["depth"], nets["color"], device, **kwargs)


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
        extra = {"finished": final.is_file(), "steps": int(last["step"]), "train_seconds": round(float(last["seconds"]), 1),
                 "final_loss": round(float(history[-100:, 1].mean()), 5),
                 "recipe": {"seed": config.seed, "data": asdict(config.data), "net": asdict(net)}}
        written.append(export_network(model, net.kind, {k: int(v) for k, v in net.size.items()}, folder, extra))
    return written
