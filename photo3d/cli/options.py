"""The command-line options shared by ``photo3d`` and ``photo3d batch``, and how they land in
the config: every option is a config key (``--config`` file first, flags on top), so the
``config.yml`` written beside the outputs reproduces the run.
"""
from __future__ import annotations

import argparse

from ..checks import short
from ..config import (
    DEFAULT_PATHS,
    PRESET_PATHS,
    STEREO_MODES,
    VIDEO_CODECS,
    VIDEO_FORMATS,
    VIDEO_PRESETS,
    Config,
    config_from_mapping,
    load_config,
)
from ..errors import Photo3DError

# flag (argparse dest) -> config key(s)
FLAG_KEYS: dict[str, tuple[str, ...]] = {
    "depth_kind": ("depth.kind",),
    "depth_source": ("depth.source",),
    "depth_model": ("depth.model",),
    "depth_model_output": ("depth.model_output",),
    "depth_model_size": ("depth.model_size",),
    "out": ("output.out_dir",),
    "longer_side": ("prepare.longer_side",),
    "frames": ("video.num_frames",),
    "fps": ("video.fps",),
    "inpaint": ("inpaint.method",),
    "device": ("inpaint.device", "depth.device"),
    "checkpoints": ("inpaint.checkpoints",),
    "export_guard": ("output.export_guard",),
    "supersample": ("render.supersample",),
    "video_size": ("video.size",),
    "aspect": ("video.aspect",),
    "format": ("video.format",),
    "codec": ("video.codec",),
    "crf": ("video.crf",),
    "preset": ("video.preset",),
    "stereo": ("video.stereo",),
    "eye_separation": ("video.eye_separation",),
    "motion": ("video.motion",),
    "duration": ("video.duration",),
    "loops": ("video.loops",),
    "autoplay": ("output.html_autoplay",),
}
# store_true flags -> (config key, value they set)
SWITCH_KEYS: dict[str, tuple[str | tuple[str, ...], bool]] = {
    "save_depth": ("output.save_depth", True),
    "no_ply": ("output.save_ply", False),
    "simplify": ("output.simplify_ply", True),
    "glb": ("output.save_glb", True),
    "web": ("output.save_web_glb", True),
    "html": ("output.save_html", True),
    "html_glb_beside": ("output.html_embed", False),
    "fp16": ("inpaint.fp16", True),
    "quiet": ("output.quiet", True),
    "enlarge": ("prepare.enlarge", True),
    "no_download": (("depth.download", "inpaint.download"), False),
}


def video_size(text: str) -> list[int]:
    """``WxH`` (e.g. 1080x1920) as [width, height]."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.strip().isdigit() or not h.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT (e.g. 1080x1920), got {text!r}")
    return [int(w), int(h)]


def add_video(ap: argparse.ArgumentParser) -> None:
    """Options of the videos (shared by the build commands and ``photo3d render``)."""
    ap.add_argument("--frames", type=int, help="frames per video (default 240)")
    ap.add_argument("--fps", type=float, help="video frame rate (default 40)")
    ap.add_argument("--duration", type=float, metavar="SECONDS", help="video length; sets the frames to duration x fps")
    ap.add_argument("--paths", help=f"comma-separated camera paths ({', '.join(DEFAULT_PATHS + PRESET_PATHS)}, "
                                    f"or a motion of the config), or 'none' (default {','.join(DEFAULT_PATHS)})")
    ap.add_argument("--motion", type=float, metavar="S", help="scale every path's range (default 1)")
    ap.add_argument("--loops", type=float, help="cycles of the path per video; periodic paths loop seamlessly (default 1)")
    ap.add_argument("--video-size", type=video_size, metavar="WxH",
                    help="output size, cropped and scaled from the render (never squashed)")
    ap.add_argument("--aspect", metavar="W:H", help="output aspect ratio, e.g. 9:16 or 1:1, cut from the centre")
    ap.add_argument("--format", choices=list(VIDEO_FORMATS), help="mp4 (default), webm, gif, png or jpg (sequences)")
    ap.add_argument("--codec", choices=list(VIDEO_CODECS), help="mp4 codec: h264 (default) or h265")
    ap.add_argument("--crf", type=int, help="quality for mp4/webm, lower = better (default 16 H.264, 22 H.265, 31 VP9)")
    ap.add_argument("--preset", choices=list(VIDEO_PRESETS), help="encoder speed preset (default veryfast H.264, fast H.265 and VP9)")
    ap.add_argument("--stereo", choices=list(STEREO_MODES), help="sbs: side-by-side stereo for VR players")
    ap.add_argument("--eye-separation", type=float, help="stereo eye distance in normalised depth units (default 0.03)")
    ap.add_argument("--supersample", type=float, help="render scale for anti-aliasing (default 2)")


def add_common(ap: argparse.ArgumentParser) -> None:
    """Options of both the single-photo command and batch (defaults come from the config)."""
    ap.add_argument("--depth-kind", choices=["disparity", "depth"], help="what the depth file holds (default disparity)")
    ap.add_argument("--depth-source", choices=["auto", "embedded", "model", "file"],
                    help="where depth comes from when --depth is not given (default auto)")
    ap.add_argument("--depth-model", metavar="vits|vitb|vitl|FILE",
                    help="Depth Anything V2 Small (vits, default), Base (vitb) or Large (vitl; both non-commercial), "
                         "or a file: an ONNX model or Depth Anything V2 weights")
    ap.add_argument("--depth-model-output", choices=["disparity", "depth"],
                    help="what the ONNX model outputs (default disparity)")
    ap.add_argument("--depth-model-size", type=int, help="depth model input size (default 518; larger for large photos)")
    ap.add_argument("--no-download", action="store_true",
                    help="never download missing weights on first use (also: PHOTO3D_OFFLINE=1)")
    ap.add_argument("--save-depth", action="store_true", help="also write the depth used (16-bit PNG and .npy)")
    ap.add_argument("--out", help="output folder (default outputs/)")
    ap.add_argument("--config", help="YAML config (photo3d's config.yml, or the reference's argument.yml keys)")
    ap.add_argument("--longer-side", type=int,
                    help="working resolution, longer side in pixels (default 960; smaller photos keep their size)")
    ap.add_argument("--enlarge", action="store_true", help="enlarge photos smaller than --longer-side to it")
    ap.add_argument("--inpaint", choices=["auto", "learned", "fill"], help="inpainting method (default auto)")
    ap.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    ap.add_argument("--checkpoints", help="folder holding the network weights")
    ap.add_argument("--fp16", action="store_true", help="float16 inference for the inpainting networks on CUDA")
    add_video(ap)
    ap.add_argument("--no-ply", action="store_true", help="do not write the mesh")
    ap.add_argument("--simplify", action="store_true",
                    help="write the PLY simplified as rendered (~10x fewer triangles), colour from <name>_texture.png")
    ap.add_argument("--glb", action="store_true", help="also write the mesh as <name>.glb (binary glTF)")
    ap.add_argument("--web", action="store_true",
                    help="also write <name>_web.glb: simplified, textured, quantised for the web, hole guard included")
    ap.add_argument("--html", action="store_true",
                    help="also write <name>.html: an interactive 3D photo in any browser (mesh embedded)")
    ap.add_argument("--html-glb-beside", action="store_true",
                    help="with --html: load <name>_web.glb from beside the page instead of embedding it")
    ap.add_argument("--autoplay", metavar="PATH", help="video path the page plays when idle, or 'none' (default swing)")
    ap.add_argument("--export-guard", choices=["none", "glb", "all"],
                    help="mesh files that include the hole guard's exportable part: border skirt, "
                    "quads over the inpainted layer's gaps, bare cuts (default glb)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars or timing table")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="photo3d",
        description="Turn a photo (and its depth) into a layered 3D photo: a mesh and parallax videos. "
        "Subcommands: 'photo3d batch INPUTS', 'photo3d render MESH' and 'photo3d weights list|download'.",
    )
    ap.add_argument("--image", required=True, help="the photo (jpg, png, webp, tiff, heic)")
    ap.add_argument("--depth", help="its depth or disparity map (.npy, .png 8/16-bit, .pfm, .tiff)")
    ap.add_argument("--name", help="output name (default: the image's file name without suffix)")
    add_common(ap)
    return ap


def parse_paths(text: str) -> list[str]:
    """``--paths`` as a list of path names: ``none`` is no videos; an empty list is an error."""
    if text.strip().lower() == "none":
        return []
    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise Photo3DError(f"--paths: no path names in {short(text)} (use 'none' for no videos)")
    return names


def effective_config(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """The config file (if any), then the flags given on top. Returns (config, ignored keys)."""
    cfg, ignored = (load_config(args.config) if args.config else (Config(), []))
    changes: dict = {}
    for dest, keys in FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            changes.update({key: value for key in keys})
    for dest, (keys, value) in SWITCH_KEYS.items():
        if getattr(args, dest, False):
            changes.update({key: value for key in ((keys,) if isinstance(keys, str) else keys)})
    if getattr(args, "name", None) is not None:
        changes["output.name"] = args.name
    if getattr(args, "paths", None) is not None:
        changes["video.paths"] = parse_paths(args.paths)
    if changes:
        cfg, _ = config_from_mapping(changes, "command line", base=cfg)
    return cfg, ignored
