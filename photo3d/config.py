"""photo3d's settings: one tree of dataclasses, a section per stage, YAML load/save.

    Config
      prepare   resizing, disparity normalisation, median clean-up
      edges     depth discontinuities (the link-cutting threshold and clean-up)
      regions   context and synthesis bands, the border extension
      inpaint   which inpainter, the networks' weights and compute options
      depth     where depth comes from when a photo has no depth file
      render    the offscreen renderer (anti-aliasing, hole guard, simplification)
      video     camera paths and motions, frames, duration, framing, formats, stereo
      output    which files a run writes, and where
      batch     how ``photo3d batch`` runs (skipping finished photos, processes, a Ray cluster)

Each stage receives its own section (or plain values), never the whole tree. Every field
carries a docstring (meaning, units, and the reference ``argument.yml`` key it maps to);
:func:`field_docs` reads them. Three spellings load: the nested photo3d form (what
:meth:`Config.save` writes), photo3d's earlier flat keys, and the reference's
``argument.yml`` keys. A saved ``config.yml`` passed back with ``--config`` reproduces the run.

Units: thicknesses are pixels of the working image; ``edges.depth_threshold`` is a disparity
difference in the reference's normalised units (maximum disparity ``prepare.disp_rescale`` = 3).
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import checks
from .errors import Photo3DError

# The reference's four videos (argument.yml video_postfix), in its order.
DEFAULT_PATHS = ("circle", "swing", "zoom-in", "dolly-zoom-in")
# Presets beyond the reference's (photo3d.camera.PRESET_NAMES).
PRESET_PATHS = ("horizontal", "vertical", "orbit", "dolly-out", "ken-burns")
VIDEO_FORMATS = ("mp4", "webm", "gif", "png", "jpg")
VIDEO_CODECS = ("h264", "h265")
VIDEO_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
STEREO_MODES = ("none", "sbs")
MOTION_KEYS = ("path", "amplitude", "phase", "target")
TRAJECTORY_TYPES = ("circle", "double-straight-line", "straight-line")
INPAINT_METHODS = ("auto", "learned", "fill")
DEPTH_KINDS = ("disparity", "depth")
EXPORT_GUARD = ("none", "glb", "all")
DEPTH_SOURCES = ("auto", "embedded", "model", "file")
# Written by the CLI into outputs/<name>/config.yml to record the run (files, depth source,
# inpainter used); skipped on loading so that a saved config.yml can be passed back.
RUN_RECORD_KEY = "_run"
# Upper bounds of size-like settings that are not image sides (those follow the memory:
# photo3d.checks.max_scene_side).
MAX_FILTER_SIZE = 99  # median window side; the reference uses 5 and 7
MAX_MODEL_SIZE = 14 * 147  # depth network input side: ~22 k tokens of attention at most
MAX_FRAMES = 100_000  # frames per video (an hour at 25 fps)
MIN_FPS, MAX_FPS = 0.01, 1000.0  # frame rates an H.264 stream can carry (1/1001 s time base)


def max_longer_side() -> int:
    """Upper bound of ``prepare.longer_side``: a 64-pixel-high strip of that length must fit
    in memory (the actual photo is checked against the memory before the build)."""
    return min(checks.MAX_SIDE, checks.max_scene_pixels() // 64)


@dataclass
class PrepareConfig:
    """Input preparation (reference: ``read_MiDaS_depth``, ``sparse_bilateral_filtering``)."""

    longer_side: int = 960
    """Working resolution: the longer image side in pixels, at most the photo's own unless
    ``enlarge`` (reference ``longer_side_len``, which always resizes)."""
    enlarge: bool = False
    """Enlarge photos smaller than ``longer_side`` to it (by default they keep their size)."""
    disp_rescale: float = 3.0
    """Maximum of the normalised disparity, so depth >= 1/disp_rescale (reference: fixed 3)."""
    min_disparity: float = 0.05
    """Normalised disparity clamp, so depth <= 1/min_disparity = 20 (reference: fixed 0.05)."""
    sparse_iter: int = 5
    """Weighted-median passes; as in the reference the last one is discarded (reference ``sparse_iter``)."""
    filter_size: list[int] = field(default_factory=lambda: [7, 7, 5, 5, 5])
    """Median window side in pixels per pass (reference ``filter_size``)."""
    crop_scan_border: bool = True
    """Crop dark or constant border lines of scanned photos (1-5 px per side) before building,
    with a one-line note; the border extension would continue them as dark wedges."""
    median_color_sigma: float = 5.0
    """Colour guide of the median clean-up, in grey levels: a window pixel's weight falls to
    61 % at this RGB difference from the centre pixel, so depth steps land on colour edges
    and thin structures keep their depth. 0 = the reference's unguided median."""

    def validate(self, source: str) -> None:
        checks.check_int_range(self.longer_side, "prepare.longer_side", source, low=16, high=max_longer_side())
        checks.check_float_range(self.disp_rescale, "prepare.disp_rescale", source, low=0, low_open=True)
        checks.check_float_range(self.min_disparity, "prepare.min_disparity", source, low=0, low_open=True)
        checks.check_float_range(self.median_color_sigma, "prepare.median_color_sigma", source, low=0)
        checks.check_int_range(self.sparse_iter, "prepare.sparse_iter", source, low=0)
        if not all(checks.is_int(v) and 0 < int(v) <= MAX_FILTER_SIZE for v in self.filter_size):
            raise Photo3DError(f"{source}: prepare.filter_size must be a list of positive integers (at most "
                               f"{MAX_FILTER_SIZE}), got {checks.short(self.filter_size)}")
        if len(self.filter_size) < int(self.sparse_iter):
            raise Photo3DError(f"{source}: prepare.filter_size needs sparse_iter={self.sparse_iter} entries, "
                               f"got {len(self.filter_size)}")


@dataclass
class EdgesConfig:
    """Depth discontinuities: where links of the layered depth image are cut."""

    depth_threshold: float = 0.04
    """Normalised disparity jump between 4-neighbours that cuts their link (reference ``depth_threshold``)."""
    min_edge_length: int = 10
    """Discontinuity fragments of fewer cut links are healed (reference: ``clean_far_edge``'s small-edge removal)."""
    min_island_size: int = 200
    """Pixel islands (after cutting) of fewer pixels, and 1-2 px slivers, are re-attached to their
    closest neighbour only (by disparity jump and colour); an island of 10 px or more whose cuts lie
    on a colour edge (a thin frame, wall seen through a gap) keeps them (0: none re-attached)."""

    def validate(self, source: str) -> None:
        checks.check_float_range(self.depth_threshold, "edges.depth_threshold", source, low=0, low_open=True)
        checks.check_int_range(self.min_edge_length, "edges.min_edge_length", source, low=0)
        checks.check_int_range(self.min_island_size, "edges.min_island_size", source, low=0)


@dataclass
class RegionsConfig:
    """Context and synthesis regions, and the border extension."""

    background_thickness: int = 70
    """Depth of the synthesis band behind a foreground edge, in pixels (reference ``background_thickness``)."""
    context_thickness: int = 140
    """Depth of the context band on the background side, in pixels (reference ``context_thickness``)."""
    context_margin: int = 1
    """Rings of the context band next to the cut (pixels, link steps) that are no colour
    source but are re-painted from the rest: they mix foreground and background colour
    (reference ``erode_context``, which erodes by a fixed amount). 0 = off; measured on the
    Middlebury harness, 1 beats 0, 2 and 3."""
    thin_context: int = 0
    """Widest middle layer (pixels, across the cut's direction) that is not taken for what lies
    behind the foreground: where the far side of a cut is a layer this thin in front of a
    farther surface (a rope, a stick), the farther surface, grown in across it, takes the
    synthesis region instead where it reaches it. 0 = off (the default: at 10 px Reindeer's
    edge band gains 0.3 dB at t = 0.5, but the 16 Middlebury scenes lose 0.15 dB pooled:
    Cloth3, Cloth4, Midd1 and Moebius have thin middle layers that do go on behind)."""
    extrapolate_border: bool = True
    """Extend the photo outwards so that moving cameras see no edge (reference ``extrapolate_border``)."""
    extrapolation_thickness: int | None = None
    """Width of the band added around the image, in pixels (reference ``extrapolation_thickness``,
    whose 60 px a reference ``argument.yml`` sets); null: ``extrapolation_fraction`` of the
    working image's longer side."""
    extrapolation_fraction: float = 0.0625
    """Width of the band as a fraction of the working image's longer side, when
    ``extrapolation_thickness`` is null (0.0625: the reference's 60 px at its 960 px default), so
    that the band, and the mesh it adds, scale with the photo."""

    def validate(self, source: str) -> None:
        for name in ("background_thickness", "context_thickness", "context_margin", "thin_context"):
            checks.check_int_range(getattr(self, name), f"regions.{name}", source, low=0, high=checks.MAX_SIDE)
        # the border grows the canvas on every side: (2 t)^2 pixels at least
        if self.extrapolation_thickness is not None:
            checks.check_int_range(self.extrapolation_thickness, "regions.extrapolation_thickness", source, low=0,
                                   high=checks.max_scene_side() // 2)
        checks.check_float_range(self.extrapolation_fraction, "regions.extrapolation_fraction", source, low=0, high=1)

    def border_pad(self, longer_side: int) -> int:
        """Pixels added on every side of an image whose longer side is ``longer_side`` (0 when
        the border is not extended)."""
        if not self.extrapolate_border:
            return 0
        if self.extrapolation_thickness is not None:
            return int(self.extrapolation_thickness)
        return int(round(float(self.extrapolation_fraction) * int(longer_side)))


@dataclass
class InpaintConfig:
    """How synthesis regions are filled."""

    method: str = "auto"
    """"auto" (the networks when their weights are found, else the fill), "learned" or "fill"."""
    checkpoints: str | None = None
    """Folder searched first for the networks' weight files (edge-model.pth, ...)."""
    edge_weights: str | None = None
    """Explicit edge-network weight file (reference ``depth_edge_model_ckpt``)."""
    depth_weights: str | None = None
    """Explicit depth-network weight file (reference ``depth_feat_model_ckpt``)."""
    color_weights: str | None = None
    """Explicit colour-network weight file (reference ``rgb_feat_model_ckpt``)."""
    ext_edge_threshold: float = 0.002
    """Edge-network probability above which a hole pixel is an edge (reference ``ext_edge_threshold``)."""
    largest_size: int = 512
    """Colour-network crops are shrunk to about this many pixels squared (reference ``largest_size``)."""
    log_depth: bool = True
    """The depth network works on log depth (reference ``log_depth``)."""
    device: str = "auto"
    """Torch device of the networks: "auto", "cpu", "cuda" or "cuda:N" (reference ``gpu_ids``)."""
    fp16: bool = False
    """float16 autocast for the networks on CUDA (ignored on the CPU)."""
    max_batch_pixels: int | None = None
    """Padded pixels per network batch (bounds memory); null = chosen by device."""
    download: bool = True
    """Download the networks' missing weights on first use when ``method`` is "learned"
    (off also with PHOTO3D_OFFLINE=1)."""
    repaint_margin: bool = True
    """The fill gives the front pixels of the context margin (``regions.context_margin``) their
    re-painted background colour, so no ghost outline of the foreground stays on the background."""
    min_piece: int = 10
    """Pieces of the filled layer with fewer pixels (4-connected) are dropped, so no dust floats
    in the mesh (the hole guard shows the background there)."""

    def validate(self, source: str) -> None:
        checks.check_choice(self.method, "inpaint.method", source, INPAINT_METHODS)
        checks.check_float_range(self.ext_edge_threshold, "inpaint.ext_edge_threshold", source, low=0, high=1)
        checks.check_int_range(self.largest_size, "inpaint.largest_size", source, low=16, high=checks.max_scene_side())
        checks.check_int_range(self.min_piece, "inpaint.min_piece", source, low=0, high=checks.MAX_SIDE ** 2)
        checks.check_device(self.device, "inpaint.device", source)
        if self.max_batch_pixels is not None:
            checks.check_int_range(self.max_batch_pixels, "inpaint.max_batch_pixels", source, low=1,
                                       high=checks.max_scene_pixels())


@dataclass
class DepthConfig:
    """Where depth comes from, and what a depth file holds."""

    kind: str = "disparity"
    """What a depth file holds: "disparity" (larger = nearer, any scale) or "depth" (camera z)."""
    source: str = "auto"
    """Without a depth file: "auto" (embedded, then a model, then the prior), "embedded", "model" or "file"."""
    model: str | None = None
    """The depth model: "vits" (Depth Anything V2 Small, Apache-2.0; null means this), "vitb"
    (Base) or "vitl" (Large; both CC-BY-NC-4.0, non-commercial), or a file: an ONNX model
    (.onnx) or Depth Anything V2 weights (.pth, .safetensors)."""
    model_output: str = "disparity"
    """What the ONNX model outputs: "disparity" or "depth"."""
    model_size: int = 518
    """The depth model's input size in pixels (its shorter side; larger suits large photos)."""
    download: bool = True
    """Download missing Depth Anything V2 weights on first use (off also with PHOTO3D_OFFLINE=1)."""
    device: str = "auto"
    """Torch device for Depth Anything V2: "auto", "cpu", "cuda" or "cuda:N"."""

    def validate(self, source: str) -> None:
        checks.check_choice(self.kind, "depth.kind", source, DEPTH_KINDS)
        checks.check_choice(self.source, "depth.source", source, DEPTH_SOURCES)
        checks.check_choice(self.model_output, "depth.model_output", source, DEPTH_KINDS)
        checks.check_int_range(self.model_size, "depth.model_size", source, low=14, high=MAX_MODEL_SIZE)
        checks.check_device(self.device, "depth.device", source)


@dataclass
class RenderConfig:
    """The offscreen renderer."""

    supersample: float = 2.0
    """Render at this scale and downsample (anti-aliasing), in [1, 8]."""
    hole_guard: bool = True
    """Draw background-coloured stretched triangles behind holes (render only)."""
    soft_edge: bool = True
    """A soft foreground rim: the pixels on the near side of a depth cut whose colour mixes
    foreground and background get an alpha and the foreground's colour (SLIDE-style soft
    layering), blended over what lies behind, so that no background colour rims the
    foreground from a moved camera (``photo3d.core.soft_edge``). A GLB holds the rim as a
    second, blended primitive (alpha in COLOR_0); a PLY (no alpha) draws its facets opaque in the
    foreground's colour freed of the background's share."""
    simplify: bool = True
    """Draw flat patches of the mesh as fans (the same image, about 4x fewer triangles)."""
    simplify_error: float = 0.3
    """With ``simplify``: largest image displacement (pixels of the input image) of a vertex
    that the simplification may cause at the most extreme camera of the videos; the patches
    then follow the depth's smoothness, in blocks of 64 down to 2 pixels (0: planar patches
    only, the relative 1e-3 disparity bound)."""
    masked_patches: bool = True
    """With ``simplify``: also patches over depth cuts and holes (aligned blocks of which only a
    quarter or more is one surface), their missing pixel squares discarded by a mask in the
    fragment shader: ~25 % fewer triangles on real photos (videos, ``Photo3D.render`` and
    ``photo3d render`` only; the web GLB and the PLY keep whole patches)."""

    def validate(self, source: str) -> None:
        checks.check_float_range(self.supersample, "render.supersample", source, low=1, high=8)
        checks.check_float_range(self.simplify_error, "render.simplify_error", source, low=0, high=100)


@dataclass
class VideoConfig:
    """The videos: camera paths, frames and frame rate (reference: the trajectory keys)."""

    paths: list[str] = field(default_factory=lambda: list(DEFAULT_PATHS))
    """Camera paths to render, one video each; [] for none (reference ``video_postfix``)."""
    num_frames: int = 240
    """Frames per video (reference ``num_frames``)."""
    fps: float = 40.0
    """Frame rate (reference ``fps``)."""
    crop_border: list[float] = field(default_factory=lambda: [0.03, 0.03, 0.05, 0.03])
    """Fractions of each frame cut away, [top, left, bottom, right] or one number (reference ``crop_border``)."""
    custom_trajectories: list[dict] | None = None
    """Paths defined by the reference keys: entries {name, traj_type, x, y, z} (reference
    ``traj_types``, ``x/y/z_shift_range``, ``video_postfix``)."""
    motions: dict[str, list[dict]] | None = None
    """Paths of one's own as sums of named paths: {name: [{path, amplitude, phase, target}, ...]};
    amplitude scales a term (1), phase shifts it in cycles (0), target is ken-burns' point
    [x, y] in fractions of the image ([0.5, 0.5])."""
    motion: float = 1.0
    """Scales every path's range (2 = twice the movement)."""
    duration: float | None = None
    """Video length in seconds; sets the frame count to duration x fps (null: num_frames)."""
    loops: float = 1.0
    """Cycles of the path per video: periodic paths repeat seamlessly; straight ones go there
    and back (an even count loops)."""
    size: list[int] | None = None
    """Output [width, height] in pixels (even), cropped and scaled from the render, never
    squashed (null: the working image size after the border crop)."""
    aspect: str | None = None
    """Output aspect ratio "W:H" (e.g. "9:16"), cut from the centre at native resolution;
    with ``size`` the two must agree (null: the photo's)."""
    format: str = "mp4"
    """Video format: "mp4", "webm" (VP9), "gif" (palette from all frames, looping), "png" or
    "jpg" (a folder of numbered frames)."""
    codec: str = "h264"
    """mp4 codec: "h264" (libx264) or "h265" (libx265, tagged hvc1)."""
    crf: int | None = None
    """Constant rate factor for mp4/webm, lower = better (null: 16 for H.264, 22 for H.265, 31 for VP9)."""
    preset: str | None = None
    """Encoder speed preset (x264/x265 names, ultrafast ... veryslow; mapped onto VP9's speeds);
    None: the encoder's default (H.264 veryfast, H.265 and VP9 fast)."""
    stereo: str = "none"
    """"sbs": side-by-side stereo frames (left eye, right eye) for VR players; "none": mono."""
    eye_separation: float = 0.03
    """Distance between the stereo eyes, in the reference's normalised depth units (scaled
    like the paths' shifts)."""

    def validate(self, source: str) -> None:
        checks.check_int_range(self.num_frames, "video.num_frames", source, low=0, high=MAX_FRAMES)
        checks.check_float_range(self.fps, "video.fps", source, low=MIN_FPS, high=MAX_FPS)
        try:
            checks.check_crop(self.crop_fractions())
        except Photo3DError as exc:
            raise Photo3DError(f"{source}: video.crop_border: {exc}") from None
        checks.check_float_range(self.motion, "video.motion", source, low=0)
        checks.check_float_range(self.loops, "video.loops", source, low=0, low_open=True)
        if self.duration is not None:
            checks.check_float_range(self.duration, "video.duration", source, low=0, low_open=True)
        checks.check_choice(self.format, "video.format", source, VIDEO_FORMATS)
        checks.check_choice(self.codec, "video.codec", source, VIDEO_CODECS)
        if self.preset is not None:
            checks.check_choice(self.preset, "video.preset", source, VIDEO_PRESETS)
        checks.check_choice(self.stereo, "video.stereo", source, STEREO_MODES)
        checks.check_float_range(self.eye_separation, "video.eye_separation", source, low=0, low_open=True)
        if self.crf is not None:
            checks.check_int_range(self.crf, "video.crf", source, low=0, high=63)
        if self.size is not None:
            if len(self.size) != 2:
                raise Photo3DError(f"{source}: video.size must be [width, height], got {self.size!r}")
            checks.check_size(*self.size, f"{source}: video.size", even=True)
        if self.aspect is not None:
            ratio = checks.check_aspect(self.aspect, f"{source}: video.aspect")
            if self.size is not None and abs(self.size[0] / self.size[1] - ratio) > 0.01 * ratio:
                raise Photo3DError(f"{source}: video.size {self.size[0]}x{self.size[1]} and video.aspect "
                                   f"{self.aspect} disagree; give one")
        self._validate_motions(source)
        for t in self.custom_trajectories or []:
            if (not isinstance(t, dict) or "name" not in t or t.get("traj_type") not in TRAJECTORY_TYPES
                    or not all(checks.is_number(t.get(axis)) for axis in "xyz")):
                raise Photo3DError(f"{source}: video.custom_trajectories entries need a name, traj_type in "
                                   f"{', '.join(TRAJECTORY_TYPES)} and numbers x, y, z, got {checks.short(t)}")
        for t in self.custom_trajectories or []:  # the name becomes part of a file name
            checks.check_output_name(str(t["name"]), f"{source}: video.custom_trajectories name", limit=64)
        known = self.known_paths()
        unknown = [p for p in self.paths if p not in known]
        if unknown:
            raise Photo3DError(f"{source}: unknown path(s) {checks.short_list(unknown)}; valid: {checks.short_list(sorted(known))}")
        if self.paths and int(self.num_frames) < 1:
            raise Photo3DError(f"{source}: video.num_frames must be >= 1 when videos are made")

    def _validate_motions(self, source: str) -> None:
        if self.motions is None:
            return
        if not isinstance(self.motions, dict):
            raise Photo3DError(f"{source}: video.motions must map names to lists of terms, got {self.motions!r}")
        builtin = set(DEFAULT_PATHS) | set(PRESET_PATHS)
        for name, terms in self.motions.items():
            where = f"{source}: video.motions.{name}"
            if name in builtin:
                raise Photo3DError(f"{where}: the name of a built-in path; choose another")
            if not isinstance(terms, list) or not terms:
                raise Photo3DError(f"{where}: expected a non-empty list of terms, got {terms!r}")
            for term in terms:
                if not isinstance(term, dict) or set(term) - set(MOTION_KEYS) or term.get("path") not in builtin:
                    raise Photo3DError(f"{where}: terms are {{path, amplitude, phase, target}} with path one of "
                                       f"{', '.join(DEFAULT_PATHS + PRESET_PATHS)}, got {term!r}")
                for key in ("amplitude", "phase"):
                    if key in term:
                        checks.check_float_range(term[key], key, where)
                if "target" in term:
                    target = term["target"]
                    if (not isinstance(target, (list, tuple)) or len(target) != 2
                            or not all(checks.is_number(v) and 0 <= v <= 1 for v in target)):
                        raise Photo3DError(f"{where}: target must be [x, y] fractions in [0, 1], got {target!r}")

    def known_paths(self) -> set[str]:
        return (set(DEFAULT_PATHS) | set(PRESET_PATHS) | set(self.motions or {})
                | {str(t["name"]) for t in self.custom_trajectories or [] if isinstance(t, dict)})

    def frame_count(self) -> int:
        """Frames per video: ``duration`` x ``fps`` when a duration is set, else ``num_frames``."""
        if self.duration is not None:
            return max(1, int(round(float(self.duration) * float(self.fps))))
        return int(self.num_frames)

    def crop_fractions(self) -> tuple[float, float, float, float]:
        """``crop_border`` as (top, left, bottom, right) fractions."""
        return checks.crop_fractions(self.crop_border)


@dataclass
class OutputConfig:
    """What a run writes, and where."""

    out_dir: str = "outputs"
    """Output folder; each photo's files go to <out_dir>/<name>/."""
    name: str | None = None
    """Output name (null: the image's file name without suffix; batch always uses that)."""
    save_ply: bool = True
    """Write <name>.ply (binary, per-vertex colour, intrinsics in the header)."""
    simplify_ply: bool = False
    """Write <name>.ply simplified as the renderer draws it (``render.simplify_error`` pixels at
    the most extreme camera of the videos), colour from a texture (<name>_texture.png beside it,
    full resolution; texture_u/v per vertex): about 10x fewer triangles. False: every triangle,
    vertex colours. The hole guard is not included (``export_guard`` applies to full meshes)."""
    save_glb: bool = False
    """Also write <name>.glb (binary glTF, vertex colours)."""
    save_web_glb: bool = False
    """Also write <name>_web.glb: simplified, textured and quantised for the web (the hole guard
    as node ``photo3d_hole_guard``), the form the viewer page shows."""
    save_html: bool = False
    """Also write <name>.html: photo3d's own WebGL2 viewer of the web GLB (drag, tilt, autoplay)."""
    html_embed: bool = True
    """The page holds the mesh (base64), one file to share; false: it loads <name>_web.glb
    from beside it (then serve the folder, e.g. with ``photo3d view``)."""
    html_autoplay: str = "swing"
    """Video path the page plays while nobody drags or tilts ("none": stay still)."""
    web_max_error: float = 0.5
    """Largest image displacement (pixels) the web mesh's simplification may cause at the most
    extreme camera of the video paths."""
    web_max_mb: float = 7.5
    """Size budget of the web GLB (MB, 10^6 bytes): over it, the export stores its texture atlas as
    JPEG (quality 95 down to 80) instead of PNG, then simplifies with twice and four times
    ``web_max_error``, until it fits (a warning if it never does). 0: no budget (always PNG)."""
    export_guard: str = "glb"
    """Which mesh files include the exportable part of the hole guard (the border skirt, quads over
    the inpainted layer's cracks and ends, and the stretched background of cuts with no inpainted
    layer), so viewers outside photo3d show no void there: "glb" (default), "all" (PLY too) or "none"."""
    save_depth: bool = False
    """Also write the depth used (<name>_depth.png 16-bit with its scale, and .npy)."""
    quiet: bool = False
    """No progress bars or timing table."""

    def validate(self, source: str) -> None:
        if self.name is not None:
            checks.check_output_name(self.name, f"{source}: output.name")
        checks.check_float_range(self.web_max_error, "output.web_max_error", source, low=0, low_open=True)
        checks.check_float_range(self.web_max_mb, "output.web_max_mb", source, low=0)
        checks.check_choice(self.export_guard, "output.export_guard", source, EXPORT_GUARD)


@dataclass
class BatchConfig:
    """How ``photo3d batch`` runs; none of it changes what a photo's outputs are."""

    skip_existing: bool = False
    """Skip photos whose outputs are complete (their manifest.json, written last, matches this
    config and the input files); redo the rest (resumes an interrupted batch)."""
    jobs: int = 1
    """Photos processed at once by local worker processes (1: in this process)."""
    ray: str | None = None
    """Run each photo as a task on a Ray cluster: "local" starts one on this machine, "auto" or
    "ray://host:port" joins one (null: no Ray)."""
    max_retries: int = 2
    """Times a photo is retried when its worker dies (never for a photo's own errors)."""
    cpus_per_task: float = 1.0
    """CPUs a photo's Ray task declares."""
    gpus_per_task: float | None = None
    """GPUs a photo's Ray task declares (0.5: two workers share a GPU); null: 0.5 when the
    cluster has GPUs, else 0."""

    def validate(self, source: str) -> None:
        checks.check_int_range(self.jobs, "batch.jobs", source, low=1)
        checks.check_int_range(self.max_retries, "batch.max_retries", source, low=0)
        checks.check_float_range(self.cpus_per_task, "batch.cpus_per_task", source, low=0)
        if self.gpus_per_task is not None:
            checks.check_float_range(self.gpus_per_task, "batch.gpus_per_task", source, low=0)


@dataclass
class Config:
    """Every setting of a run, a section per stage (see the module docs)."""

    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    edges: EdgesConfig = field(default_factory=EdgesConfig)
    regions: RegionsConfig = field(default_factory=RegionsConfig)
    inpaint: InpaintConfig = field(default_factory=InpaintConfig)
    depth: DepthConfig = field(default_factory=DepthConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)

    @classmethod
    def from_keys(cls, **keys: Any) -> "Config":
        """The defaults with some keys changed, by their flat or reference names
        (``Config.from_keys(longer_side=320, inpaint="fill")``); checked like a config file."""
        return config_from_mapping(keys, "config")[0]

    def validate(self, source: str = "config") -> "Config":
        for section in SECTIONS:
            getattr(self, section).validate(source)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path, run_record: dict | None = None) -> None:
        """Write the settings as nested YAML (atomically). ``run_record`` (what a run used:
        files, depth source, ...) is stored under ``_run``, which loading skips."""
        from .files import atomic_write

        data = self.to_dict()
        if run_record is not None:
            data[RUN_RECORD_KEY] = run_record
        with atomic_write(path) as tmp:
            Path(tmp).write_text(yaml.safe_dump(data, sort_keys=False))

    def with_changes(self, changes: dict[str, Any], source: str = "config") -> "Config":
        """A copy with ``{"section.field": value}`` (or flat/reference keys) changed, checked."""
        return config_from_mapping(changes, source, base=self)[0]


SECTIONS = tuple(f.name for f in dataclasses.fields(Config))
_SECTION_TYPES = {f.name: f.default_factory for f in dataclasses.fields(Config)}


@functools.lru_cache(maxsize=None)
def _field_types(section_cls: type) -> dict[str, Any]:
    return typing.get_type_hints(section_cls)


@functools.lru_cache(maxsize=None)
def field_docs(section_cls: type) -> dict[str, str]:
    """{field name: docstring} of a section dataclass, read from its source."""
    tree = ast.parse(inspect.getsource(section_cls))
    body = tree.body[0].body
    docs = {}
    for a, b in zip(body, body[1:]):
        if (isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name) and isinstance(b, ast.Expr)
                and isinstance(b.value, ast.Constant) and isinstance(b.value.value, str)):
            docs[a.target.id] = " ".join(b.value.value.split())
    return docs


def _coerce(key: str, kind: Any, value: Any, source: str) -> Any:
    """``value`` checked against the annotation ``kind`` of field ``key`` (ints may be written 3.0)."""
    def bad(what: str) -> Photo3DError:
        return Photo3DError(f"{source}: {key} must be {what}, got {checks.short(value)}")

    args = typing.get_args(kind)
    optional = type(None) in args
    if optional:
        if value is None:
            return None
        kind = next(a for a in args if a is not type(None))
    origin = typing.get_origin(kind)
    if kind is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind is int:
        if not checks.is_int(value):
            raise bad("an integer")
        return int(value)
    if kind is float:
        if not checks.is_number(value):
            raise bad("a number")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            if key == "video.crop_border" and checks.is_number(value):
                return [float(value)] * 4
            raise bad("a list")
        (item,) = typing.get_args(kind) or (Any,)
        if item is str and not all(isinstance(v, str) for v in value):
            raise bad("a list of names")
        return list(value)
    return value


# photo3d's earlier flat keys (before the sections), and where they live now.
FLAT_KEYS = {
    "longer_side": "prepare.longer_side", "disp_rescale": "prepare.disp_rescale",
    "min_disparity": "prepare.min_disparity", "sparse_iter": "prepare.sparse_iter",
    "filter_size": "prepare.filter_size",
    "depth_threshold": "edges.depth_threshold", "min_edge_length": "edges.min_edge_length",
    "min_island_size": "edges.min_island_size",
    "background_thickness": "regions.background_thickness", "context_thickness": "regions.context_thickness",
    "extrapolate_border": "regions.extrapolate_border", "extrapolation_thickness": "regions.extrapolation_thickness",
    "inpaint": "inpaint.method", "checkpoints": "inpaint.checkpoints", "edge_weights": "inpaint.edge_weights",
    "depth_weights": "inpaint.depth_weights", "color_weights": "inpaint.color_weights",
    "ext_edge_threshold": "inpaint.ext_edge_threshold", "largest_size": "inpaint.largest_size",
    "log_depth": "inpaint.log_depth", "device": ("inpaint.device", "depth.device"), "fp16": "inpaint.fp16",
    "max_batch_pixels": "inpaint.max_batch_pixels",
    "depth_kind": "depth.kind",
    "supersample": "render.supersample", "hole_guard": "render.hole_guard", "soft_edge": "render.soft_edge", "render_simplify": "render.simplify",
    "paths": "video.paths", "num_frames": "video.num_frames", "fps": "video.fps", "crop_border": "video.crop_border",
    "custom_trajectories": "video.custom_trajectories",
    "save_ply": "output.save_ply", "save_glb": "output.save_glb",
}
# Flat keys that never changed anything; accepted and reported as ignored.
FLAT_IGNORED = {
    "sigma_s": "weights only the reference's dense bilateral filter, which neither it nor photo3d runs",
    "sigma_r": "weights only the reference's dense bilateral filter, which neither it nor photo3d runs",
    "repeat_inpaint_edge": "photo3d's edge clean-up has no repeated edge-inpainting pass",
}
# Reference argument.yml keys with another name here (same meaning).
REFERENCE_RENAMES = {
    "longer_side_len": "prepare.longer_side",
    "depth_edge_model_ckpt": "inpaint.edge_weights",
    "depth_feat_model_ckpt": "inpaint.depth_weights",
    "rgb_feat_model_ckpt": "inpaint.color_weights",
}
# Reference keys accepted but not applicable (reported as ignored, with the reason).
REFERENCE_IGNORED = {
    "MiDaS_model_ckpt": "depth comes from the depth file or photo3d's own estimators (depth.source)",
    "specific": "photo3d takes files on the command line",
    "src_folder": "photos are given one by one, or as a batch folder",
    "depth_folder": "depth files are given with their photos",
    "mesh_folder": "outputs go under output.out_dir",
    "video_folder": "outputs go under output.out_dir",
    "load_ply": "re-render a saved mesh with 'photo3d render'",
    "offscreen_rendering": "rendering is always offscreen (EGL)",
    "img_format": "any image format is read",
    "depth_format": "the depth format follows the file suffix",
    "require_midas": "depth estimation is chosen with depth.source",
    "redundant_number": "photo3d's edge clean-up has no redundant-edge pass",
    "background_thickness_2": "photo3d inpaints in one round",
    "context_thickness_2": "photo3d inpaints in one round",
    "depth_edge_dilate": "not used by photo3d's region construction",
    "depth_edge_dilate_2": "not used by photo3d's region construction",
    "discount_factor": "not used by the reference either",
    "anti_flickering": "not applicable",
    **FLAT_IGNORED,
}
REFERENCE_TRAJECTORY_KEYS = ("traj_types", "x_shift_range", "y_shift_range", "z_shift_range", "video_postfix")
_REFERENCE_SPECIAL = ("gpu_ids", "inference_video")


def _dotted_keys(data: dict, source: str) -> dict[str, Any]:
    """Nested sections flattened to ``section.field`` keys; other keys unchanged."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            fields = _field_types(type(_SECTION_TYPES[key]()))
            unknown = [k for k in value if k not in fields]
            if unknown:
                raise Photo3DError(f"{source}: unknown key(s) in section {key}: {checks.short_list(sorted(map(str, unknown)))}")
            out.update({f"{key}.{k}": v for k, v in value.items()})
        elif key in SECTIONS and key not in FLAT_KEYS:
            raise Photo3DError(f"{source}: section {key} must be a mapping of keys to values, got {checks.short(value)}")
        else:
            out[key] = value
    return out


def config_from_mapping(data: dict, source: str = "config", base: Config | None = None) -> tuple[Config, list[str]]:
    """Build a :class:`Config` from nested sections, ``section.field`` keys, photo3d's earlier
    flat keys and/or the reference's ``argument.yml`` keys, on top of ``base``.

    Returns the config and the ignored keys (with the reason). Unknown keys raise
    :class:`Photo3DError` naming them.
    """
    if not isinstance(data, dict):
        raise Photo3DError(f"{source}: expected a mapping of keys to values")
    data = _dotted_keys({k: v for k, v in data.items() if k != RUN_RECORD_KEY}, source)
    changes: dict[str, Any] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for key, value in data.items():
        if "." in str(key):
            changes[key] = value
        elif key in FLAT_KEYS:
            targets = FLAT_KEYS[key]
            for target in (targets if isinstance(targets, tuple) else (targets,)):
                changes.setdefault(target, value)
        elif key in REFERENCE_RENAMES:
            changes[REFERENCE_RENAMES[key]] = value
        elif key in REFERENCE_IGNORED:
            ignored.append(f"{key} ({REFERENCE_IGNORED[key]})")
        elif key not in REFERENCE_TRAJECTORY_KEYS and key not in _REFERENCE_SPECIAL:
            unknown.append(str(key))
    if unknown:
        raise Photo3DError(f"{source}: unknown config key(s): {checks.short_list(sorted(unknown))}")
    if "gpu_ids" in data:
        gid = data["gpu_ids"]
        if gid is not None and not checks.is_int(gid):
            raise Photo3DError(f"{source}: gpu_ids must be an integer (-1 for CPU), got {checks.short(gid)}")
        # The reference's default gpu_ids is 0 even on CPU-only machines: treat >= 0 as "auto".
        device = "cpu" if gid is None or int(gid) < 0 else "auto"
        changes.setdefault("inpaint.device", device)
        changes.setdefault("depth.device", device)
    if any(k in data for k in REFERENCE_TRAJECTORY_KEYS):
        changes["video.custom_trajectories"] = _reference_trajectories(data, source)
        changes["video.paths"] = [t["name"] for t in changes["video.custom_trajectories"]]
    if "inference_video" in data:
        if not isinstance(data["inference_video"], bool):
            raise Photo3DError(f"{source}: inference_video must be true or false, got {checks.short(data['inference_video'])}")
        if not data["inference_video"]:  # after the trajectories, which the reference file always has
            changes["video.paths"] = []
    sections = {name: dataclasses.replace(getattr(base, name)) if base is not None else _SECTION_TYPES[name]()
                for name in SECTIONS}
    for key, value in changes.items():
        section, _, name = str(key).partition(".")
        fields = _field_types(type(sections[section])) if section in sections else {}
        if name not in fields:
            raise Photo3DError(f"{source}: unknown config key: {checks.short_list([key])}")
        setattr(sections[section], name, _coerce(key, fields[name], value, source))
    cfg = Config(**sections)
    cfg.validate(source)
    return cfg, ignored


def _reference_trajectories(data: dict, source: str) -> list[dict]:
    missing = [k for k in REFERENCE_TRAJECTORY_KEYS if k not in data]
    if missing:
        raise Photo3DError(f"{source}: trajectory keys must come together; missing {', '.join(missing)}")
    not_lists = [k for k in REFERENCE_TRAJECTORY_KEYS if not isinstance(data[k], (list, tuple))]
    if not_lists:
        raise Photo3DError(f"{source}: {', '.join(not_lists)}: expected a list, one entry per video")
    types, names = list(data["traj_types"]), list(data["video_postfix"])
    xs, ys, zs = (list(data[k]) for k in ("x_shift_range", "y_shift_range", "z_shift_range"))
    if not (len(types) == len(names) == len(xs) == len(ys) == len(zs)):
        raise Photo3DError(f"{source}: traj_types, video_postfix and *_shift_range must have equal lengths")
    bad_types = [str(t) for t in types if t not in TRAJECTORY_TYPES]
    if bad_types:
        raise Photo3DError(f"{source}: unknown traj_types {', '.join(bad_types)}; valid: {', '.join(TRAJECTORY_TYPES)}")
    if not all(checks.is_number(v) for v in xs + ys + zs):
        raise Photo3DError(f"{source}: *_shift_range entries must be numbers")
    return [dict(name=str(n), traj_type=str(t), x=float(x), y=float(y), z=float(z))
            for t, n, x, y, z in zip(types, names, xs, ys, zs)]


MAX_CONFIG_BYTES = 1 << 20  # a config file is a few KB; refuse anything near a megabyte
MAX_YAML_NODES = 100_000  # nodes of a config document with every alias expanded


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes of ``node``'s tree with every alias expanded (shared nodes counted per use)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as a cycle here, never as infinite
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        memo[key] = 1 + sum(_expanded_nodes(child, memo) for child in children)
    return memo[key]


def parse_yaml(text: str, source: str) -> Any:
    """A YAML document as plain data (safe loader), refusing alias bombs: a document whose
    aliases would expand beyond :data:`MAX_YAML_NODES` nodes raises :class:`Photo3DError`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded = _expanded_nodes(node, {})
        if expanded > MAX_YAML_NODES:
            raise Photo3DError(f"{source}: YAML aliases expand to {expanded:,} nodes (at most "
                               f"{MAX_YAML_NODES:,}); not a config file")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise Photo3DError(f"{source}: not valid YAML ({checks.short(str(exc).splitlines()[0])})") from None
    except RecursionError:
        raise Photo3DError(f"{source}: YAML nests too deeply; not a config file") from None
    finally:
        loader.dispose()


def load_config(path: str | Path, base: Config | None = None) -> tuple[Config, list[str]]:
    """Load a YAML config (nested photo3d sections, flat keys, or the reference's argument.yml).

    Raises :class:`Photo3DError` naming the file for a missing, binary, oversized or
    malformed file, a YAML alias bomb, and unknown keys or bad values.
    """
    path = Path(path)
    if not path.is_file():
        raise Photo3DError(f"{path}: config file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Photo3DError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise Photo3DError(f"{path}: config file is {len(raw):,} bytes (at most {MAX_CONFIG_BYTES:,}); not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Photo3DError(f"{path}: not a text file (binary bytes, not UTF-8 YAML)") from None
    data = parse_yaml(text, str(path)) or {}
    return config_from_mapping(data, str(path), base)
