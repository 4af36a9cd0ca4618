"""Command line: ``photo3d --image IMG [--depth DEPTH] [options]`` (also ``python run.py``),
``photo3d batch FOLDER`` and ``photo3d weights list|download``.

Bad input prints one line ``photo3d: error: <file>: <problem>`` and exits with code 2.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from .config import DEFAULT_PATHS, Config, config_from_mapping, load_config
from .errors import Photo3DError

log = logging.getLogger("photo3d")
EXIT_BAD_INPUT = 2


def _add_common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--depth-kind", choices=["disparity", "depth"], help="what the depth file holds (default disparity)")
    ap.add_argument("--depth-source", choices=["auto", "embedded", "model", "file"], default="auto",
                    help="where depth comes from when --depth is not given (default auto)")
    ap.add_argument("--depth-model", metavar="ONNX", help="an ONNX depth model to use instead of Depth Anything V2")
    ap.add_argument("--depth-model-output", choices=["disparity", "depth"], default="disparity",
                    help="what the ONNX model outputs (default disparity)")
    ap.add_argument("--depth-model-size", type=int, default=518, help="ONNX model input size (default 518)")
    ap.add_argument("--save-depth", action="store_true", help="also write the depth used (16-bit PNG and .npy)")
    ap.add_argument("--out", default="outputs", help="output folder (default outputs/)")
    ap.add_argument("--config", help="YAML config (photo3d keys or the reference's argument.yml keys)")
    ap.add_argument("--longer-side", type=int, help="working resolution, longer side in pixels (default 960)")
    ap.add_argument("--frames", type=int, help="frames per video (default 240)")
    ap.add_argument("--fps", type=float, help="video frame rate (default 40)")
    ap.add_argument("--paths", help=f"comma-separated camera paths, or 'none' (default {','.join(DEFAULT_PATHS)})")
    ap.add_argument("--inpaint", choices=["auto", "learned", "fill"], help="inpainting method (default auto)")
    ap.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    ap.add_argument("--checkpoints", help="folder holding the network weights")
    ap.add_argument("--fp16", action="store_true", help="float16 inference for the inpainting networks on CUDA")
    ap.add_argument("--supersample", type=float, help="render scale for anti-aliasing (default 2)")
    ap.add_argument("--no-ply", action="store_true", help="do not write the mesh")
    ap.add_argument("--glb", action="store_true", help="also write the mesh as <name>.glb (binary glTF)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars or timing table")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="photo3d",
        description="Turn a photo (and its depth) into a layered 3D photo: a mesh and parallax videos. "
        "Subcommands: 'photo3d batch FOLDER' and 'photo3d weights list|download'.",
    )
    ap.add_argument("--image", required=True, help="the photo (jpg, png, webp, tiff, heic)")
    ap.add_argument("--depth", help="its depth or disparity map (.npy, .png 8/16-bit, .pfm, .tiff)")
    ap.add_argument("--name", help="output name (default: the image's file name without suffix)")
    _add_common(ap)
    return ap


def effective_config(args: argparse.Namespace) -> tuple[Config, list[str]]:
    """Config file, then CLI flags on top."""
    cfg, ignored = (load_config(args.config) if args.config else (Config(), []))
    flags = {
        "depth_kind": args.depth_kind,
        "longer_side": args.longer_side,
        "num_frames": args.frames,
        "fps": args.fps,
        "inpaint": args.inpaint,
        "device": args.device,
        "checkpoints": args.checkpoints,
        "supersample": args.supersample,
    }
    changes = {k: v for k, v in flags.items() if v is not None}
    if args.paths is not None:
        paths = [] if args.paths.strip().lower() == "none" else [p.strip() for p in args.paths.split(",") if p.strip()]
        known = set(DEFAULT_PATHS) | {t["name"] for t in (cfg.custom_trajectories or [])}
        bad = [p for p in paths if p not in known]
        if bad:
            raise Photo3DError(f"--paths: unknown path(s) {', '.join(bad)}; valid: {', '.join(sorted(known))}, none")
        changes["paths"] = paths
    if args.no_ply:
        changes["save_ply"] = False
    if args.glb:
        changes["save_glb"] = True
    if args.fp16:
        changes["fp16"] = True
    if changes:
        cfg, _ = config_from_mapping(changes, "command line", base=cfg)
    return cfg, ignored


def load_inputs(image_path, depth_path, config: Config, *, source: str = "auto", onnx_model=None,
                onnx_options: dict | None = None, device: str | None = None):
    """Read the image and find its depth. Returns (image, depth values, kind, depth source, warning)."""
    from .io import read_depth, read_image

    image = read_image(image_path)
    if depth_path is not None:
        depth = read_depth(depth_path)
        warning = None
        (ih, iw), (dh, dw) = image.shape[:2], depth.shape
        if abs(np.log((iw / ih) / (dw / dh))) > 0.02:
            hint = " (transposed? check the photo's EXIF orientation)" if (dh, dw) == (iw, ih) else ""
            warning = (f"{depth_path}: depth map {dw}x{dh} has another aspect ratio than the image {iw}x{ih}; "
                       f"it is stretched to fit{hint}")
        return image, depth, config.depth_kind, "file", warning
    if source == "file":
        raise Photo3DError(f"{image_path}: --depth-source file needs --depth")
    from .depth import resolve_depth

    res = resolve_depth(
        image_path, image, source=source, depth_path=None, depth_kind=config.depth_kind, onnx_model=onnx_model,
        onnx_options=onnx_options, checkpoints_dir=config.checkpoints, device=device or config.device,
    )
    return image, res.values, res.kind, res.source, res.warning


def check_output_dir(out_dir: Path) -> None:
    """Fail before the (slow) build when ``out_dir`` cannot be created or written: its nearest
    existing ancestor must be a writable folder."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise Photo3DError(f"{existing}: output path is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise Photo3DError(f"{existing}: output folder is not writable")


def process_one(image_path: Path, depth_path: Path | None, out_root: Path, name: str, config: Config,
                args: argparse.Namespace, ignored: list[str], inpainter=None) -> dict:
    """Build one 3D photo and write its outputs; returns a summary dict."""
    from .pipeline import build_scene, write_outputs

    # Progress bars only on a terminal: in a log file they are carriage-return noise.
    quiet = args.quiet
    progress = not quiet and sys.stderr.isatty()
    warn = (lambda msg: print(f"photo3d: warning: {msg}", file=sys.stderr))
    start = time.perf_counter()
    out_dir = out_root / name
    check_output_dir(out_dir)
    onnx_options = {"input_size": args.depth_model_size, "output": args.depth_model_output}
    image, depth, kind, depth_source, warning = load_inputs(
        image_path, depth_path, config, source=args.depth_source, onnx_model=args.depth_model, onnx_options=onnx_options,
    )
    if warning:
        warn(warning)
    scene = build_scene(image, depth, config, kind=kind, source=str(depth_path or image_path), progress=progress, warn=warn,
                        inpainter=inpainter)
    out_dir.mkdir(parents=True, exist_ok=True)
    depth_files: list[str] = []
    # Saved only once the depth proved usable, so that a failed input leaves no output behind.
    if args.save_depth and np.isfinite(depth).all():
        from .depth import save_depth

        depth_files = [str(p) for p in save_depth(out_dir / f"{name}_depth", depth, kind)]
    elif args.save_depth:  # a depth file with holes: it is its own record, and saved maps must be finite
        warn(f"--save-depth: not saving {name}'s depth, it has NaN/inf holes (use {depth_path or 'the input'} as it is)")
    config.save(out_dir / "config.yml", run_record={
        "image": str(image_path), "depth": str(depth_path) if depth_path else None,
        "depth_source": depth_source, "inpaint_used": scene.inpaint_method, "ignored_keys": ignored})
    result = write_outputs(scene, out_dir, name, config, progress=progress)
    if not quiet:
        print(scene.timings.table(), file=sys.stderr)
    files = [str(result[k]) for k in ("ply", "glb") if result.get(k)] + [str(v.path) for v in result["videos"].values()] + depth_files
    print(f"{name}: depth from {depth_source}, inpainting {scene.inpaint_method}, "
          f"{scene.mesh.num_faces:,} triangles, {time.perf_counter() - start:.1f} s -> {out_dir}")
    for f in files:
        print(f"  {f}")
    return {"name": name, "files": files, "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    logging.basicConfig(level=logging.WARNING, format="photo3d: warning: %(message)s")
    try:
        if argv and argv[0] == "weights":
            from .weights import main as weights_main

            return weights_main(argv[1:])
        if argv and argv[0] == "batch":
            from .batch import main as batch_main

            return batch_main(argv[1:])
        args = build_parser().parse_args(argv)
        config, ignored = effective_config(args)
        if ignored and not args.quiet:
            print(f"photo3d: config keys ignored: {'; '.join(ignored)}", file=sys.stderr)
        image_path = Path(args.image)
        depth_path = Path(args.depth) if args.depth else None
        name = args.name or image_path.stem
        process_one(image_path, depth_path, Path(args.out), name, config, args, ignored)
        return 0
    except Photo3DError as exc:
        print(f"photo3d: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # disk full, permissions: the system's problem, not the input's
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"photo3d: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photo3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
