"""``photo3d --image IMG [--depth DEPTH] [options]``: one photo to a 3D photo (also
``python run.py``). The batch runner calls :func:`process_one` per photo.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import Photo3DError

log = logging.getLogger("photo3d")


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


def output_name(image_path: Path, config: Config, name: str | None = None) -> str:
    """The run's name: ``name``, else ``config.output.name``, else the image's stem (leading
    dots dropped, so that a hidden photo does not make hidden outputs); checked safe."""
    from ..checks import check_output_name

    if name is None and config.output.name is None:
        stem = Path(image_path).stem.lstrip(".") or "photo"
        return check_output_name(stem, f"{image_path}: output name")
    return check_output_name(name if name is not None else config.output.name, "output name")


def process_one(image_path: Path, depth_path: Path | None, config: Config, ignored: list[str],
                inpainter=None, name: str | None = None) -> dict:
    """Build one 3D photo and write its outputs under ``config.output.out_dir``/<name>/.

    ``name`` defaults to ``config.output.name``, else the image's stem. All files are made
    in a private folder inside the output folder and moved into place together only when
    every one succeeded (:class:`photo3d.io.OutputTransaction`); a failure or an
    interruption leaves the output folder as it was. Returns a summary dict (name, files,
    seconds, stages: the (stage, seconds) timings).
    """
    from ..inputs import load_inputs
    from ..io import OutputTransaction
    from ..pipeline import build_scene, check_video_plan, write_outputs

    out = config.output
    # Progress bars only on a terminal: in a log file they are carriage-return noise.
    progress = not out.quiet and sys.stderr.isatty()
    start = time.perf_counter()
    name = output_name(Path(image_path), config, name)
    out_root = Path(out.out_dir)
    out_dir = out_root / name
    check_output_dir(out_dir)
    with OutputTransaction(out_dir, name, staging_parent=out_root, replace_set=True) as staging:
        rgbd = load_inputs(image_path, depth_path, config.depth, config.inpaint.checkpoints,
                           progress=not out.quiet)
        check_video_plan(rgbd.image.shape, config, str(image_path))  # before the (slow) build
        scene = build_scene(rgbd.image, rgbd.depth, config, kind=rgbd.kind, source=rgbd.source,
                            progress=progress, inpainter=inpainter)
        depth_files: list[Path] = []
        if out.save_depth and np.isfinite(rgbd.depth).all():
            from ..depth import save_depth

            depth_files = list(save_depth(staging / f"{name}_depth", rgbd.depth, rgbd.kind))
        elif out.save_depth:  # a depth file with holes: it is its own record, and saved maps must be finite
            log.warning(f"--save-depth: not saving {name}'s depth, it has NaN/inf holes (use {rgbd.source} as it is)")
        config.save(staging / "config.yml", run_record={
            "image": str(image_path), "depth": str(depth_path) if depth_path else None,
            "depth_source": rgbd.depth_source, "inpaint_used": scene.inpaint_method, "ignored_keys": ignored})
        result = write_outputs(scene, staging, name, config, progress=progress)
    if not out.quiet:
        print(scene.timings.table(), file=sys.stderr)
    made = [result[k] for k in ("ply", "glb", "web_glb", "html") if result.get(k)] + [v.path for v in result["videos"].values()]
    files = [str(out_dir / Path(p).name) for p in made + depth_files]
    print(f"{name}: depth from {rgbd.depth_source}, inpainting {scene.inpaint_method}, "
          f"{scene.mesh.num_faces:,} triangles, {time.perf_counter() - start:.1f} s -> {out_dir}")
    for f in files:
        print(f"  {f}")
    return {"name": name, "files": files, "seconds": time.perf_counter() - start, "stages": scene.timings.stages}


def main(argv: list[str]) -> int:
    """The single-photo command; raises Photo3DError on bad input (the caller reports it)."""
    from .options import build_parser, effective_config

    args = build_parser().parse_args(argv)
    config, ignored = effective_config(args)
    if ignored and not config.output.quiet:
        print(f"photo3d: config keys ignored: {'; '.join(ignored)}", file=sys.stderr)
    process_one(Path(args.image), Path(args.depth) if args.depth else None, config, ignored)
    return 0
