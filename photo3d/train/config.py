"""One training run's settings: data, networks (widths, losses, schedule), seed.

A run is described by one YAML file (see ``photo3d/train/recipes/``); the effective
settings are written beside the checkpoints as ``<run_dir>/config.yml``. Unknown keys are
an error naming the file.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .stages import Photo3DError

KINDS = ("edge", "depth", "color")


@dataclass
class DataConfig:
    """Where the training data comes from and how much is made.

    root: the shared data folder (INDEX.md); relative paths are taken from the working
        directory. cache: folder of the pre-generated dataset (an .npz per data key).
    crop: side S of the square training windows (pixels; a multiple of the U-Nets' 2**levels).
    photo_samples: real-mask-on-photo samples (colour net).
    layered_samples: synthetic layered-scene samples (all three nets).
    mask_sizes: working sizes (longer side, px) at which the regions stage runs on the
        RGB-D frames; background_scale: synthesis band depth per working-size pixel
        (70 / 960 at the defaults), the context band twice as deep.
    layered_background: synthesis band depth range (px) for the synthetic scenes.
    jitter: colour jitter amplitude; photo_fraction: share of photo samples in colour batches.
    frames: names of the RGB-D frames to take masks from (:func:`photo3d.train.data.rgbd_frames`;
        empty = all).
    """

    root: str = "../shared/data"
    cache: str = "/work/cache/train_data"
    crop: int = 128
    photo_samples: int = 3000
    layered_samples: int = 3000
    mask_sizes: list = field(default_factory=lambda: [320, 480, 640])
    background_scale: float = 70 / 960
    layered_background: list = field(default_factory=lambda: [14, 36])
    jitter: float = 0.08
    photo_fraction: float = 0.6
    frames: list = field(default_factory=list)


@dataclass
class NetConfig:
    """One network's training.

    kind: edge / depth / color. size: keyword widths for ``build_network`` (edge:
    base_channels, res_blocks, dilation; U-Nets: base_channels, levels).
    steps, batch: optimisation steps and samples per step. lr: Adam learning rate, decayed
    by cosine to ``lr * lr_final`` at the last step. loss: weights of the loss terms
    (see :mod:`photo3d.train.losses`).
    input: input convention (``reference``: the published models' input, the hole zero;
        ``fill_residual``: the non-learned fill written into the hole and the output a
        correction on top of it, :mod:`photo3d.inpaint.learned.tensors`; depth and colour only).
    hidden_edges: probability that a training input carries the hidden depth edges inside
        the hole (as completed edges would); otherwise only the context edges (as when no
        completed edges are passed on). 1.0 = always.
    """

    kind: str = "color"
    size: dict = field(default_factory=dict)
    steps: int = 1000
    batch: int = 8
    lr: float = 1e-3
    lr_final: float = 0.05
    loss: dict = field(default_factory=dict)
    input: str = "reference"
    hidden_edges: float = 1.0


@dataclass
class TrainConfig:
    """A run: seed, data, networks trained one after another, bookkeeping intervals.

    run_dir: checkpoints, logs, figures (``<run_dir>/<kind>/``). checkpoint_every,
    plot_every: in steps. threads: torch CPU threads (1 leaves the other core free).
    """

    seed: int = 0
    run_dir: str = "/work/cache/train_runs/run"
    threads: int = 1
    checkpoint_every: int = 200
    plot_every: int = 200
    data: DataConfig = field(default_factory=DataConfig)
    nets: list = field(default_factory=list)

    def net(self, kind: str) -> NetConfig:
        for n in self.nets:
            if n.kind == kind:
                return n
        raise Photo3DError(f"{self.run_dir}: no network of kind {kind!r} in this run")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type, data: Any, source: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise Photo3DError(f"{source}: {where or 'top level'} must be a mapping")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise Photo3DError(f"{source}: unknown key(s) {', '.join(unknown)} in {where or 'top level'}")
    return cls(**data)


def config_from_dict(data: dict, source: str = "config") -> TrainConfig:
    """A :class:`TrainConfig` from plain data (as loaded from YAML); checks keys and kinds."""
    data = dict(data or {})
    data_section = _build(DataConfig, data.pop("data", {}) or {}, source, "data")
    nets = [_build(NetConfig, n, source, f"nets[{i}]") for i, n in enumerate(data.pop("nets", []) or [])]
    config = _build(TrainConfig, data, source, "")
    config.data, config.nets = data_section, nets
    for n in nets:
        if n.kind not in KINDS:
            raise Photo3DError(f"{source}: nets: unknown kind {n.kind!r} (edge, depth or color)")
        if n.input not in ("reference", "fill_residual") or (n.input == "fill_residual" and n.kind == "edge"):
            raise Photo3DError(f"{source}: nets[{n.kind}]: input must be reference or fill_residual "
                               f"(depth and colour only), got {n.input!r}")
        if int(n.steps) < 1 or int(n.batch) < 1:
            raise Photo3DError(f"{source}: nets[{n.kind}]: steps and batch must be >= 1")
    if len({n.kind for n in nets}) != len(nets):
        raise Photo3DError(f"{source}: nets: each kind at most once")
    return config


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a run's YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise Photo3DError(f"{path}: cannot read training config ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise Photo3DError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    return config_from_dict(data, str(path))


def save_train_config(config: TrainConfig, path: str | Path) -> Path:
    """Write the effective settings as YAML (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    tmp.replace(path)
    return path
