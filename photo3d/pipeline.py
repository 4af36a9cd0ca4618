"""The pipeline: each stage is one function of :mod:`photo3d.core` (and an inpainter of
:mod:`photo3d.inpaint`); this module only sequences them, hands each its config section,
times them and shows progress. The CLI, the batch runner and the Python API all call
:func:`build_scene` and :func:`write_outputs`.
"""
from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .checks import (
    BYTES_PER_SCENE_PIXEL,
    MAX_RENDER_SIDE,
    check_finite,
    check_memory,
    check_rgb_image,
)
from .config import Config, RenderConfig, VideoConfig
from .core.canvas import fill_border, make_canvas
from .core.data import (
    LDI,
    Canvas,
    Discontinuities,
    Intrinsics,
    LayerFill,
    Mesh,
    PreparedRGBD,
    Regions,
)
from .core.discontinuities import detect_discontinuities
from .core.ldi import add_layer, front_layer
from .core.guard import with_exported_guard
from .core.mesh import build_mesh
from .core.prepare import prepare, working_size
from .core.regions import find_regions
from .errors import Photo3DError
from .inpaint import Inpainter, make_inpainter


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


def check_scene_size(image_shape: tuple[int, ...], config: Config, what: str) -> tuple[int, int]:
    """The working size (w, h) of an image of ``image_shape`` (H, W, ...), after checking,
    before anything is allocated, that its canvas (image + border) fits in memory.
    Raises Photo3DError naming ``what`` (the input) otherwise."""
    h0, w0 = int(image_shape[0]), int(image_shape[1])
    w, h = working_size(w0, h0, int(config.prepare.longer_side), bool(config.prepare.enlarge))
    pad = config.regions.border_pad(max(w, h))
    check_memory((w + 2 * pad) * (h + 2 * pad), BYTES_PER_SCENE_PIXEL,
                 f"{what}: a {w}x{h} working image with a {pad}-pixel border")
    return w, h


def check_video_plan(image_shape: tuple[int, ...], config: Config, what: str) -> None:
    """What can be checked of the videos before the build, from the photo's size alone:
    each frame (the working size, even, after the border crop) has at least 2x2 pixels and
    fits the renderer. Raises Photo3DError naming ``what`` (the photo)."""
    if not config.video.paths:
        return
    w, h = check_scene_size(image_shape, config, what)
    top, left, bottom, right = config.video.crop_fractions()
    inner_w, inner_h = w - int(w * left) - int(w * right), h - int(h * top) - int(h * bottom)
    if inner_w < 1 or inner_h < 1 or (config.video.size is None and (w - w % 2 < 2 or h - h % 2 < 2)):
        raise Photo3DError(f"{what}: {image_shape[1]}x{image_shape[0]} photo gives {w}x{h} video frames; "
                           "videos need at least 2x2 pixels (a larger prepare.longer_side, or no videos)")
    out_w, out_h = config.video.size or (w, h)
    if max(w, h, out_w, out_h) > MAX_RENDER_SIDE:  # (the renderer lowers the supersampling to fit by itself)
        raise Photo3DError(f"{what}: {w}x{h} video frames exceed the renderer's {MAX_RENDER_SIDE} pixels "
                           "per side; use a smaller prepare.longer_side")


STAGES = ["prepare", "border", "discontinuities", "ldi", "regions", "inpaint", "merge", "mesh"]


@dataclass
class SceneRegions:
    """The stages before inpainting: what an inpainter receives (and what training and the
    benchmarks of the inpainters start from)."""

    prepared: PreparedRGBD
    canvas: Canvas
    discontinuities: Discontinuities
    ldi: LDI
    regions: Regions


def build_regions(
    image: np.ndarray,
    depth_values: np.ndarray,
    config: Config,
    *,
    kind: str = "disparity",
    intrinsics: Intrinsics | None = None,
    normalize: bool = True,
    source: str = "depth",
    timings: Timings | None = None,
    progress: _Progress | None = None,
) -> SceneRegions:
    """The stages from a photo and its raw depth to the context/synthesis regions (see
    :func:`build_scene` for the arguments)."""
    timings = timings if timings is not None else Timings()
    step = progress.step if progress is not None else (lambda name: None)
    threshold = float(config.edges.depth_threshold)
    check_rgb_image(image, "image")
    check_scene_size(image.shape, config, source)  # before anything is allocated
    with timings.stage("prepare"):
        prepared = prepare(image, depth_values, config.prepare, depth_threshold=threshold, kind=kind,
                           intrinsics=intrinsics, normalize=normalize, source=source)
        # the stage boundary: extreme input values must not go on as NaN/inf
        check_finite(prepared.depth, source, "depth is not finite after normalisation")
        check_finite(prepared.detect_disparity, source, "disparity is not finite after normalisation")
    step("prepare")
    with timings.stage("border"):
        canvas = fill_border(make_canvas(prepared, config.regions.border_pad(max(prepared.depth.shape))), threshold)
    step("border")
    with timings.stage("discontinuities"):
        disc = detect_discontinuities(canvas.detect_disparity, config.edges, canvas.color)
    step("discontinuities")
    with timings.stage("ldi"):
        ldi = front_layer(canvas, disc)
    step("ldi")
    with timings.stage("regions"):
        regions = find_regions(ldi, disc, config.regions, threshold)
    step("regions")
    return SceneRegions(prepared, canvas, disc, ldi, regions)


def build_scene(
    image: np.ndarray,
    depth_values: np.ndarray,
    config: Config,
    *,
    kind: str = "disparity",
    intrinsics: Intrinsics | None = None,
    normalize: bool = True,
    source: str = "depth",
    inpainter: Inpainter | None = None,
    progress: bool = False,
) -> Scene:
    """Run every stage from an RGB image and a raw depth map to the layered mesh.

    Args:
        image: (H, W, 3) uint8 RGB.
        depth_values: (Hd, Wd) raw disparity (``kind="disparity"``) or depth.
        intrinsics: of ``image``; default focal max(H, W), centre (W//2, H//2).
        normalize: apply the reference's disparity normalisation (see core.prepare).
        source: name used in error messages (usually the depth file).
        inpainter: the :class:`~photo3d.inpaint.Inpainter` to use; default
            :func:`photo3d.inpaint.make_inpainter` of ``config.inpaint``.
    """
    config.validate()
    threshold = float(config.edges.depth_threshold)
    timings = Timings()
    bar = _Progress(STAGES, progress, "3D photo")
    try:
        before = build_regions(image, depth_values, config, kind=kind, intrinsics=intrinsics, normalize=normalize,
                               source=source, timings=timings, progress=bar)
        if inpainter is None:
            inpainter = make_inpainter(config.inpaint, threshold)
        with timings.stage(f"inpaint ({inpainter.name})"):
            fill = inpainter(before.canvas, before.discontinuities, before.regions)
        bar.step("inpaint")
        with timings.stage("merge"):
            ldi = add_layer(before.ldi, fill, threshold)
        bar.step("merge")
        with timings.stage("mesh"):
            mesh = build_mesh(ldi, guard_holes=bool(config.render.hole_guard), soft_edge=bool(config.render.soft_edge),
                              photo=before.ldi.color[: before.ldi.shape[0] * before.ldi.shape[1]])
            check_finite(mesh.vertices, source, "mesh vertices are not finite")
            mesh.info.inpaint = inpainter.name
            mesh.info.center_depth = round(before.prepared.center_depth, 6)
            mesh.info.depth_scale = before.prepared.depth_scale
        bar.step("mesh")
    finally:
        bar.close()
    return Scene(before.prepared, before.canvas, before.discontinuities, before.regions, fill, ldi, mesh,
                 inpainter.name, timings)


def path_frames(name: str, video: VideoConfig, center_depth: float, depth_scale: float = 1.0,
                num_frames: int | None = None, intrinsics: Intrinsics | None = None):
    """Camera frames for a named video path: a reference path, a preset, a motion of
    ``video.motions`` (a sum of paths), or one defined by the reference keys
    (``traj_types``/``*_shift_range``/``video_postfix``) in ``video``; scaled by
    ``video.motion`` and repeated ``video.loops`` times."""
    from . import camera

    n = int(video.frame_count() if num_frames is None else num_frames)
    custom = {t["name"]: t for t in (video.custom_trajectories or [])}
    common = dict(center_depth=center_depth, shift_scale=depth_scale, loops=float(video.loops), intrinsics=intrinsics)
    if name in (video.motions or {}):  # validated by the config
        components = [camera.MotionComponent(t["path"], float(t.get("amplitude", 1.0)) * float(video.motion),
                                             float(t.get("phase", 0.0)), tuple(t.get("target", (0.5, 0.5))))
                      for t in video.motions[name]]
        return camera.motion_frames(components, n, name=name, **common)
    spec = None
    if name in custom:
        t = custom[name]
        spec = camera.PathSpec(t["traj_type"], t["x"], t["y"], t["z"], dolly="dolly" in name)
    return camera.camera_path(name, n, spec=spec, motion=float(video.motion), **common)


def video_options(video: VideoConfig, depth_scale: float = 1.0) -> dict:
    """``write_path_video``'s framing, stereo and encoding keywords from the video section."""
    from .checks import check_aspect

    return dict(
        crop=video.crop_fractions(),
        size=tuple(video.size) if video.size is not None else None,
        aspect=check_aspect(video.aspect, "video.aspect") if video.aspect is not None else None,
        eye_separation=float(video.eye_separation) * depth_scale if video.stereo == "sbs" else None,
        format=video.format, codec=video.codec, crf=video.crf, preset=video.preset,
    )


def video_file_name(name: str, path_name: str, video: VideoConfig) -> str:
    """``<name>_<path>.<suffix>`` (for image sequences, the folder ``<name>_<path>``)."""
    from .video import FORMAT_SUFFIX, SEQUENCE_FORMATS

    suffix = "" if video.format in SEQUENCE_FORMATS else FORMAT_SUFFIX[video.format]
    return f"{name}_{path_name}{suffix}"


def make_renderer(intrinsics: Intrinsics, render: RenderConfig):
    """A :class:`photo3d.render.Renderer` for images of ``intrinsics``' size, as ``render`` says."""
    from .render import Renderer

    return Renderer(intrinsics.width, intrinsics.height, supersample=float(render.supersample),
                    simplify=bool(render.simplify), simplify_error=float(render.simplify_error),
                    masked_patches=bool(render.masked_patches))


def video_motion(scene: Scene, video: VideoConfig) -> tuple[float, float, float]:
    """The extent of the camera motion of the configured videos (the reference's four paths
    when none is configured), for :meth:`photo3d.render.Renderer.set_mesh`."""
    from .camera import motion_extent

    return motion_extent(web_paths(scene, video))


def web_paths(scene: Scene, video: VideoConfig) -> dict:
    """Camera frames of the web viewer's paths: the configured videos' (the reference's four
    when no video is made)."""
    from .camera import PATH_NAMES

    names = list(video.paths) or list(PATH_NAMES)
    return {n: path_frames(n, video, scene.prepared.center_depth, scene.prepared.depth_scale) for n in names}


def scene_web_glb(scene: Scene, config: Config) -> bytes:
    """The web GLB of ``scene`` as ``config`` asks for it (its paths, fps, autoplay path,
    simplification bound and size budget; :func:`photo3d.web.glb.web_glb`)."""
    from .web.glb import web_glb

    out = config.output
    return web_glb(scene.mesh, web_paths(scene, config.video), fps=float(config.video.fps),
                   autoplay=out.html_autoplay, max_error_px=float(out.web_max_error),
                   max_bytes=int(out.web_max_mb * 1e6) or None)


def simplified_ply_mesh(scene: Scene, config: Config) -> Mesh:
    """The mesh as ``--simplify`` writes it: simplified as the renderer draws it
    (``render.simplify_error`` px at the most extreme camera of the web paths), colour from a
    texture (:func:`photo3d.web.glb.simplified_mesh`)."""
    from .web.glb import simplified_mesh

    return simplified_mesh(scene.mesh, web_paths(scene, config.video), float(config.render.simplify_error))


def write_web(scene: Scene, out_dir, name: str, config: Config, html_path=None) -> dict:
    """``<name>_web.glb`` (when ``config.output.save_web_glb``, or for a page that loads it from
    beside itself) and ``<name>.html`` (when ``config.output.save_html``, or at ``html_path``):
    the viewer page with the web GLB embedded unless ``config.output.html_embed`` is false.
    Returns {"web_glb": path or None, "html": path or None}."""
    from pathlib import Path

    from .web.page import write_html

    out = config.output
    data = scene_web_glb(scene, config)
    result: dict = {"web_glb": None, "html": None}
    glb_path = Path(out_dir) / f"{name}_web.glb"
    if out.save_web_glb or ((out.save_html or html_path) and not out.html_embed):
        from .io import atomic_write

        with atomic_write(glb_path) as tmp:
            tmp.write_bytes(data)
        result["web_glb"] = glb_path
    if out.save_html or html_path:
        target = Path(html_path) if html_path else Path(out_dir) / f"{name}.html"
        if not out.html_embed and target.parent.resolve() != glb_path.parent.resolve():
            raise Photo3DError(f"{target}: a page that loads its GLB from beside it must be written to {glb_path.parent}")
        result["html"] = write_html(data, target, embed=bool(out.html_embed), title=name, glb_name=glb_path.name)
    return result


def write_outputs(
    scene: Scene,
    out_dir,
    name: str,
    config: Config,
    *,
    progress: bool = False,
    renderer=None,
) -> dict:
    """Write ``<out_dir>/<name>.ply`` (when ``config.output.save_ply``), ``<name>.glb`` (when
    ``config.output.save_glb``) and one video per path in ``config.video.paths``. Every file
    is written under a temporary name and renamed when complete.
    ``<name>_web.glb`` and ``<name>.html`` (``config.output.save_web_glb``, ``save_html``; see
    :func:`write_web`).
    Returns {"ply", "glb", "web_glb", "html": path or None, "videos": {path_name: VideoResult}}.
    """
    from pathlib import Path

    from .io import write_glb, write_ply

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"ply": None, "glb": None, "web_glb": None, "html": None, "videos": {}}
    export = config.output.export_guard
    if config.output.save_ply:
        with scene.timings.stage("write ply"):
            if config.output.simplify_ply:
                mesh = simplified_ply_mesh(scene, config)
            else:
                mesh = with_exported_guard(scene.mesh) if export == "all" else scene.mesh
            result["ply"] = write_ply(mesh, out_dir / f"{name}.ply")
    if config.output.save_glb:
        with scene.timings.stage("write glb"):
            mesh = with_exported_guard(scene.mesh) if export in ("glb", "all") else scene.mesh
            result["glb"] = write_glb(mesh, out_dir / f"{name}.glb")
    if config.output.save_web_glb or config.output.save_html:
        with scene.timings.stage("write web"):
            result.update(write_web(scene, out_dir, name, config))
    if not config.video.paths:
        return result
    from .video import write_path_video

    k = scene.mesh.intrinsics
    own = renderer is None
    if own:
        renderer = make_renderer(k, config.render)
    try:
        with scene.timings.stage("upload mesh"):
            renderer.set_mesh(scene.mesh, motion=video_motion(scene, config.video))
        options = video_options(config.video, scene.prepared.depth_scale)
        for path_name in config.video.paths:
            frames = path_frames(path_name, config.video, scene.prepared.center_depth, scene.prepared.depth_scale,
                                 intrinsics=k)
            with scene.timings.stage(f"video {path_name}"):
                result["videos"][path_name] = write_path_video(
                    renderer, frames, k, out_dir / video_file_name(name, path_name, config.video),
                    float(config.video.fps), progress=progress, **options,
                )
    finally:
        if own:
            renderer.close()
    return result
