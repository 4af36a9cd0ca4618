"""photo3d's own trained inpainting networks (checkpoints/photo3d-*.safetensors): lookup and
strict loading. They are made by :mod:`photo3d.train` (recipe, data and scores in
checkpoints/MODEL_CARD.md).

A shipped network is two files:

* ``photo3d-<kind>.safetensors``: the state dict (float32); its header metadata holds
  ``kind`` and ``size`` (the widths, JSON), so the file alone rebuilds the network;
* ``photo3d-<kind>.yml``: kind, size, sha256 of the safetensors file, the recipe it came
  from, steps, final training loss and ``test_vector`` (output sums on a fixed input).

Loading checks the sha256, builds the network class at the stored widths and loads the
state dict strictly (:func:`photo3d.weights.load_into`). Files are never unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .. import weights as weights_module
from ..errors import Photo3DError
from .networks import NETWORK_KINDS, build_network

if TYPE_CHECKING:
    from torch import nn

PREFIX = "photo3d-"
NAME = "learned-photo3d"
"""The inpainter's name (outputs and config.yml) when it runs photo3d's shipped networks."""


def shipped_dir() -> Path:
    """The project's ``checkpoints/`` folder (where the shipped files live)."""
    return weights_module.project_checkpoints_dir()


def weight_file(kind: str, folder: str | Path | None = None) -> Path:
    return Path(folder or shipped_dir()) / f"{PREFIX}{kind}.safetensors"


def card_file(kind: str, folder: str | Path | None = None) -> Path:
    return Path(folder or shipped_dir()) / f"{PREFIX}{kind}.yml"


sha256_of = weights_module.sha256_of  # one hash for every weight file


def read_card(kind: str, folder: str | Path | None = None) -> dict:
    path = card_file(kind, folder)
    try:
        card = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise Photo3DError(f"{path}: shipped network card not found ({exc.strerror})") from exc
    if not isinstance(card, dict) or card.get("kind") != kind or not isinstance(card.get("size"), dict):
        raise Photo3DError(f"{path}: not a photo3d network card for {kind!r}")
    return card


def inference_options(folder: str | Path | None = None) -> dict:
    """How the shipped networks are run, from their cards: ``inputs`` (kind -> input
    convention; cards without ``input`` are ``reference``), ``edge_net_edges`` (the depth
    card's choice whether completed edges are passed on; default True) and
    ``edge_threshold`` (the edge card's calibrated binarisation threshold, or None)."""
    depth, color, edge = (read_card(k, folder) for k in ("depth", "color", "edge"))
    threshold = edge.get("edge_threshold")
    return {"inputs": {"depth": str(depth.get("input", "reference")), "color": str(color.get("input", "reference"))},
            "edge_net_edges": bool(depth.get("edge_net_edges", True)),
            "edge_threshold": None if threshold is None else float(threshold)}


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


def find_shipped(checkpoints_dir: str | Path | None = None) -> Path | None:
    """The first folder of :func:`photo3d.weights.search_dirs` holding all three shipped networks."""
    for folder in weights_module.search_dirs(checkpoints_dir):
        if available(folder):
            return folder
    return None
