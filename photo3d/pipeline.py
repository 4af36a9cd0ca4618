"""The pipeline: each stage is one function of :mod:`photo3d`'s stage modules; this module
only sequences them, times them and shows progress. The CLI, the batch runner and the
Python API all call :func:`build_scene` and :func:`write_outputs`.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from .config import Config
from .errors import Photo3DError
from .inpaint.fill import fill_border, fill_regions
from .ldi import LDI, LayerFill, add_layer, front_layer
from .mesh import build_mesh
from .preprocess import Canvas, Discontinuities, PreparedRGBD, detect_discontinuities, make_canvas, prepare
from .regions import Regions, find_regions
from .types import Intrinsics, Mesh

log = logging.getLogger("photo3d")


@dataclass
class Timings:
    """Wall-clock seconds per stage, in order."""

    stages: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages.append((name, time.perf_counter() - start))

    def total(self) -> float:
        return sum(s for _, s in self.stages)

    def table(self) -> str:
        width = max([len(n) for n, _ in self.stages] + [5])
        rows = [f"{'stage':<{width}}  seconds"] + [f"{n:<{width}}  {s:7.2f}" for n, s in self.stages]
        rows.append(f"{'total':<{width}}  {self.total():7.2f}")
        return "\n".join(rows)


@dataclass
class Scene:
    """Everything the pipeline made for one photo."""

    prepared: PreparedRGBD
    canvas: Canvas
    discontinuities: Discontinuities
    regions: Regions
    fill: LayerFill
    ldi: LDI
    mesh: Mesh
    inpaint_method: str
    timings: Timings


# An inpainter fills the synthesis regions: (canvas, discontinuities, regions, config) -> LayerFill
Inpainter = Callable[[Canvas, Discontinuities, Regions, Config], LayerFill]


def _fill_inpainter(canvas: Canvas, disc: Discontinuities, regions: Regions, config: Config) -> LayerFill:
    return fill_regions(canvas, regions, config)


def select_inpainter(config: Config, warn: Callable[[str], None] | None = None) -> tuple[str, Inpainter]:
    """Choose the inpainting method: the learned networks when requested or (auto) when
    their weights are found, else the non-learned fill (with one warning line on auto)."""
    if config.inpaint == "fill":
        return "fill", _fill_inpainter
    try:
        from .inpaint.learned import make_learned_inpainter
    except ImportError:  # learned inpainting not available in this build
        make_learned_inpainter = None
    if make_learned_inpainter is not None:
        inpainter = make_learned_inpainter(config, required=config.inpaint == "learned")
        if inpainter is not None:
            return "learned", inpainter
    elif config.inpaint == "learned":
        raise Photo3DError("--inpaint learned: learned inpainting is not available in this installation")
    if warn is not None:
        warn(
            "inpainting networks not found: using the non-learned fill "
            "(get the weights with `photo3d weights download edge depth color`)"
        )
    return "fill", _fill_inpainter


class _Progress:
    """A progress bar over stages (tqdm on stderr), silent when disabled."""

    def __init__(self, names: list[str], enabled: bool, label: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=len(names), desc=label, unit="stage", file=sys.stderr, leave=False)

    def step(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


STAGES = ["prepare", "border", "discontinuities", "ldi", "regions", "inpaint", "merge", "mesh"]


def build_scene(
    image: np.ndarray,
    depth_values: np.ndarray,
    config: Config,
    *,
    kind: str = "disparity",
    intrinsics: Intrinsics | None = None,
    normalize: bool = True,
    source: str = "depth",
    inpainter: tuple[str, Inpainter] | None = None,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Scene:
    """Run every stage from an RGB image and a raw depth map to the layered mesh.

    Args:
        image: (H, W, 3) uint8 RGB.
        depth_values: (Hd, Wd) raw disparity (``kind="disparity"``) or depth.
        intrinsics: of ``image``; default focal max(H, W), centre (W//2, H//2).
        normalize: apply the reference's disparity normalisation (see preprocess).
        source: name used in error messages (usually the depth file).
        inpainter: (name, function) to use; default :func:`select_inpainter`.
    """
    config.validate()
    timings = Timings()
    bar = _Progress(STAGES, progress, "3D photo")
    try:
        with timings.stage("prepare"):
            prepared = prepare(image, depth_values, config, kind=kind, intrinsics=intrinsics, normalize=normalize, source=source)
        bar.step("prepare")
        with timings.stage("border"):
            pad = int(config.extrapolation_thickness) if config.extrapolate_border else 0
            canvas = fill_border(make_canvas(prepared, pad), config)
        bar.step("border")
        with timings.stage("discontinuities"):
            disc = detect_discontinuities(canvas.detect_disparity, config)
        bar.step("discontinuities")
        with timings.stage("ldi"):
            ldi = front_layer(canvas, disc)
        bar.step("ldi")
        with timings.stage("regions"):
            regions = find_regions(ldi, disc, config)
        bar.step("regions")
        method, inpaint = inpainter if inpainter is not None else select_inpainter(config, warn)
        with timings.stage(f"inpaint ({method})"):
            fill = inpaint(canvas, disc, regions, config)
        bar.step("inpaint")
        with timings.stage("merge"):
            ldi = add_layer(ldi, fill, float(config.depth_threshold))
        bar.step("merge")
        with timings.stage("mesh"):
            mesh = build_mesh(ldi, guard_holes=bool(config.hole_guard))
            mesh.metadata.update(inpaint=method, center_depth=round(prepared.center_depth, 6), depth_scale=prepared.depth_scale)
        bar.step("mesh")
    finally:
        bar.close()
    return Scene(prepared, canvas, disc, regions, fill, ldi, mesh, method, timings)


def path_frames(name: str, config: Config, center_depth: float, depth_scale: float = 1.0, num_frames: int | None = None):
    """Camera frames for a named video path: a reference path, or one defined by the
    reference keys (``traj_types``/``*_shift_range``/``video_postfix``) in ``config``."""
    from . import camera

    n = int(config.num_frames if num_frames is None else num_frames)
    custom = {t["name"]: t for t in (config.custom_trajectories or [])}
    spec = None
    if name in custom:  # validated by Config
        t = custom[name]
        spec = camera.PathSpec(t["traj_type"], t["x"], t["y"], t["z"], dolly="dolly" in name)
    return camera.camera_path(name, n, center_depth=center_depth, shift_scale=depth_scale, spec=spec)


def write_outputs(
    scene: Scene,
    out_dir,
    name: str,
    config: Config,
    *,
    progress: bool = False,
    renderer=None,
) -> dict:
    """Write ``<out_dir>/<name>.ply`` (when ``config.save_ply``), ``<name>.glb`` (when
    ``config.save_glb``) and one video per path in
    ``config.paths``. Every file is written under a temporary name and renamed when complete.
    Returns {"ply": path or None, "videos": {path_name: VideoResult}}.
    """
    from pathlib import Path

    from .io import write_glb, write_ply

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"ply": None, "glb": None, "videos": {}}
    if config.save_ply:
        with scene.timings.stage("write ply"):
            result["ply"] = write_ply(scene.mesh, out_dir / f"{name}.ply")
    if config.save_glb:
        with scene.timings.stage("write glb"):
            result["glb"] = write_glb(scene.mesh, out_dir / f"{name}.glb")
    if not config.paths:
        return result
    from .render import Renderer
    from .video import write_path_video

    k = scene.mesh.intrinsics
    own = renderer is None
    if own:
        renderer = Renderer(k.width, k.height, supersample=float(config.supersample), simplify=bool(config.render_simplify))
    try:
        with scene.timings.stage("upload mesh"):
            renderer.set_mesh(scene.mesh)
        for path_name in config.paths:
            frames = path_frames(path_name, config, scene.prepared.center_depth, scene.prepared.depth_scale)
            with scene.timings.stage(f"video {path_name}"):
                result["videos"][path_name] = write_path_video(
                    renderer, frames, k, out_dir / f"{name}_{path_name}.mp4", float(config.fps),
                    crop=config.crop_fractions(), progress=progress,
                )
    finally:
        if own:
            renderer.close()
    return result
