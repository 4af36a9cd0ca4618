"""``photo3d render MESH [--paths ...] [video options] [--still PATH@T]``: re-render a saved
photo3d mesh (``.ply`` or ``.glb``) into videos or a still, without rebuilding it.

The camera (intrinsics), the centre depth and the depth scale come from the mesh file, so
the paths are those of the run that made it. Outputs go beside the mesh
(``<folder>/<name>_<path>.mp4``), or to ``--out DIR/<name>/``. The render-only hole guard
is not saved with a mesh, so wide disocclusions may show the background colour black
where the original run's videos showed the guard.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import Photo3DError


def parse_still(spec: str, paths: set[str]) -> tuple[str | None, float]:
    """``input`` (the input camera) or ``PATH@T`` (``T`` in [0, 1] along the path) -> (path, t)."""
    if spec == "input":
        return None, 0.0
    name, sep, t = spec.rpartition("@")
    try:
        position = float(t)
    except ValueError:
        position = float("nan")
    if not sep or name not in paths or not 0.0 <= position <= 1.0:
        raise Photo3DError(f"--still: expected 'input' or PATH@T with T in [0, 1] and PATH one of "
                           f"{', '.join(sorted(paths))}, got {spec!r}")
    return name, position


def build_parser() -> argparse.ArgumentParser:
    """``photo3d render``'s options (the video options of the build commands, and its own)."""
    from .options import add_video

    ap = argparse.ArgumentParser(prog="photo3d render", description=__doc__.splitlines()[0])
    ap.add_argument("mesh", help="a photo3d mesh: <name>.ply or <name>.glb")
    ap.add_argument("--out", help="output folder (files go to OUT/<name>/; default: beside the mesh)")
    ap.add_argument("--name", help="output name (default: the mesh's file name without suffix)")
    ap.add_argument("--config", help="YAML config (e.g. the run's config.yml); its video and render sections apply")
    ap.add_argument("--still", metavar="PATH@T", help="write <name>_still.png at a pose: 'input', or a path and "
                    "a position along it in [0, 1] (e.g. circle@0.25); no videos unless --paths is given")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    add_video(ap)
    return ap


def main(argv: list[str]) -> int:
    """Re-render a saved mesh; returns the exit code."""
    from ..camera import CameraFrame
    from ..checks import check_output_name
    from ..io import OutputTransaction, atomic_write, read_mesh
    from ..pipeline import make_renderer, path_frames, video_file_name, video_options
    from ..video import video_intrinsics, write_path_video
    from .options import effective_config

    args = build_parser().parse_args(argv)
    still_only = args.still is not None and args.paths is None
    out_flag, args.out = args.out, None  # not output.out_dir here: by default outputs go beside the mesh
    config, _ = effective_config(args)
    mesh_path = Path(args.mesh)
    mesh = read_mesh(mesh_path)
    name = check_output_name(args.name, "--name") if args.name else mesh_path.stem
    out_dir = Path(out_flag) / name if out_flag else mesh_path.parent
    transaction = OutputTransaction(out_dir, name)  # the videos and the still: all or none
    video = config.video
    progress = not args.quiet and sys.stderr.isatty()
    k = mesh.intrinsics
    center_depth, depth_scale = float(mesh.info.center_depth), float(mesh.info.depth_scale)
    options = video_options(video, depth_scale)
    written: list[str] = []
    start = time.perf_counter()
    with transaction as staging, make_renderer(k, config.render) as renderer:
        from ..camera import PATH_NAMES, motion_extent

        motion = motion_extent([path_frames(n, video, center_depth, depth_scale, intrinsics=k)
                                for n in (video.paths or PATH_NAMES)])
        renderer.set_mesh(mesh, motion=motion)
        if args.still is not None:
            path_name, t = parse_still(args.still, video.known_paths())
            frame = CameraFrame(np.eye(4))
            if path_name is not None:
                frames = path_frames(path_name, video, center_depth, depth_scale, intrinsics=k)
                frame = frames[int(round(t * (len(frames) - 1)))]
            camera = video_intrinsics(k, frame, options["crop"], options["size"], options["aspect"])
            rgb, _ = renderer.render(frame.pose, camera, mask=False)
            import cv2

            target = staging / f"{name}_still.png"
            with atomic_write(target) as tmp:  # the temporary name ends in .png
                if not cv2.imwrite(str(tmp), rgb[..., ::-1]):
                    raise Photo3DError(f"{target}: could not write the still")
            written.append(str(transaction.final_path(target)))
        for path_name in ([] if still_only else video.paths):
            frames = path_frames(path_name, video, center_depth, depth_scale, intrinsics=k)
            result = write_path_video(renderer, frames, k, staging / video_file_name(name, path_name, video),
                                      float(video.fps), progress=progress, **options)
            written.append(str(transaction.final_path(result.path)))
    print(f"{name}: {mesh.num_faces:,} triangles re-rendered in {time.perf_counter() - start:.1f} s -> {out_dir}")
    for f in written:
        print(f"  {f}")
    return 0
