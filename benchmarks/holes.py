"""Holes at the extreme camera moves (issue 9, item 3): pixels left at the clear colour.

For each of the 16 Middlebury 2005/2006 scenes (true depth, ``normalize=False``, as
``benchmarks.artefacts``) and the bundled sample (``inputs/sample.png``, default settings),
the 3D photo is rendered at

* the translations of item 3: twice the default path ranges (x, y 0.03; z 0.1 normalised
  units, i.e. times the scene's ``depth_scale``) left, right, up, down, forward and back;
* 5 and 10 degrees of yaw either way, alone and with the sideways move;
* ``--frames`` frames of each default video path (``0``: every frame of the videos), at the
  videos' framing (border crop, dolly focal scale);

once per view of :data:`VIEWS`: photo3d's videos (``guard``: the renderer simplified for the
videos' motion, or for the extreme poses' as a custom path would be, soft rim and hole guard),
the exported mesh as read back from its file (``export``: ``with_exported_guard``, no
render-only guard, no soft rim) through the same renderer (``photo3d render x.glb``), and the
same drawn with every triangle (``plain``: another viewer). ``--photos`` adds photos without
depth (estimated or prior depth). A pixel is *clear* when nothing was drawn on it (the mesh is
rendered with every colour raised to at least 16 grey levels, supersample 1, so any pixel at 0
is a hole; the videos' supersample 2 would average a clear sample with its neighbours).
(Near-black pixels need the true view: ``benchmarks.artefacts`` measures them.)

    python -m benchmarks.holes                         # 16 scenes at 480 px + the sample
    python -m benchmarks.holes --scenes Art --crops /tmp/holes   # crops around clear pixels
    python -m benchmarks.holes --scenes Art,sample --photos ../shared/data/bsds500/test/100039.jpg \
        --frames 0 --views guard,export                # every frame of the four videos

Writes ``<out>/holes.json`` and prints one line per scene and a summary.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

from benchmarks import middlebury as ev  # noqa: E402
from benchmarks.artefacts import lifted_mesh  # noqa: E402
from photo3d.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "middlebury_2005_2006_half"


def extreme_poses(scale: float = 1.0) -> dict[str, np.ndarray]:
    """Twice the default ranges (x, y 0.015; z 0.05 normalised units, times ``scale``) in six
    directions, and 5 / 10 degrees of yaw, alone and with the sideways move."""
    poses = {}
    for axis, reach in ((0, 0.03), (1, 0.03), (2, 0.1)):
        for sign in (-1, 1):
            p = np.eye(4)
            p[axis, 3] = sign * reach * scale
            poses[f"{'xyz'[axis]}{sign * reach:+.2f}"] = p
    for deg in (-10, -5, 5, 10):
        a = np.radians(deg)
        p = np.eye(4)
        p[:3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
        poses[f"yaw{deg:+d}"] = p
        q = p.copy()
        q[0, 3] = 0.03 * scale * np.sign(deg)
        poses[f"yaw{deg:+d}+x"] = q
    return poses


def all_poses(scene, config: Config, frames: int) -> dict[str, tuple[np.ndarray, "Intrinsics"]]:
    """{name: (pose, camera)}: the extreme poses (the mesh's own camera) and ``frames`` frames of
    each default path (0: the videos' own frame count) at the videos' framing (the border crop
    and the dolly's focal scale, as ``write_path_video`` renders them)."""
    from photo3d.camera import DEFAULT_PATHS
    from photo3d.pipeline import path_frames, video_options
    from photo3d.video import video_intrinsics

    k = scene.mesh.intrinsics
    poses = {n: (p, k) for n, p in extreme_poses(scene.prepared.depth_scale).items()}
    options = video_options(config.video, scene.prepared.depth_scale)
    for name in DEFAULT_PATHS:
        for i, f in enumerate(path_frames(name, config.video, scene.prepared.center_depth, scene.prepared.depth_scale,
                                          num_frames=frames or None, intrinsics=k)):
            poses[f"{name}{i}"] = (f.pose, video_intrinsics(k, f, options["crop"], options["size"], options["aspect"]))
    return poses


def save_crops(rgb: np.ndarray, clear: np.ndarray, path: Path, size: int = 40, zoom: int = 4) -> None:
    """Crops (enlarged ``zoom`` x) around up to 4 clusters of clear pixels, clear ones magenta."""
    marked = rgb.copy()
    marked[clear] = (255, 0, 255)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(clear.astype(np.uint8), connectivity=8)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:4] + 1
    h, w = clear.shape
    tiles = []
    for i in order:
        cx, cy = cents[i]
        y0 = int(np.clip(cy - size // 2, 0, max(h - size, 0)))
        x0 = int(np.clip(cx - size // 2, 0, max(w - size, 0)))
        tile = cv2.resize(marked[y0: y0 + size, x0: x0 + size], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
        tiles.append(np.pad(tile, ((0, 2), (0, 2), (0, 0)), constant_values=255))
    if tiles:
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))


VIEWS = ("guard", "export", "plain", "web")
"""What is rendered: ``guard``, photo3d's videos (the scene's mesh, soft rim and render-only
hole guard, simplified as the pipeline's renderer does for the videos' motion); ``export``,
the exported mesh (``with_exported_guard``) as read back from its file (no render-only guard,
no soft rim) through the same renderer (what ``photo3d render x.glb`` shows); ``plain``, the
same mesh with every triangle drawn, opaque (what another viewer shows); ``web``, the ``--web``
GLB (PNG atlas, its guard node) read back as photo3d's web viewer draws it (``read_web_glb``)."""


def web_render_mesh(mesh):
    """The RenderMesh that photo3d's web viewer draws of ``mesh``'s ``--web`` GLB (lossless atlas)."""
    import tempfile

    from photo3d.web.glb import read_web_glb, web_glb

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m_web.glb"
        path.write_bytes(web_glb(mesh, max_bytes=None))
        return read_web_glb(path)[0]


def measure(name: str, scene, config: Config, frames: int, crops: Path | None,
            views: tuple[str, ...] = VIEWS, masked_patches: bool | None = None) -> dict:
    """Clear pixels per pose, per view of :data:`VIEWS`; ``masked_patches``: the renderer's
    (default ``config.render.masked_patches``)."""
    from photo3d.camera import CameraFrame, motion_extent
    from photo3d.core.guard import with_exported_guard
    from photo3d.pipeline import video_motion
    from photo3d.render import Renderer

    mesh = scene.mesh
    k = mesh.intrinsics
    exported = dataclasses.replace(with_exported_guard(mesh), guard=None, soft=None)
    poses = all_poses(scene, config, frames)
    extreme = set(extreme_poses())
    # the renderer simplifies for the motion it is told: the videos' for their frames, a custom
    # path's (the extreme poses') for the extreme poses
    groups = [({n: v for n, v in poses.items() if n in extreme},
               motion_extent([[CameraFrame(p) for n, (p, _) in poses.items() if n in extreme]])),
              ({n: v for n, v in poses.items() if n not in extreme}, video_motion(scene, config.video))]
    out = {}
    for what in views:
        m = lifted_mesh(mesh if what in ("guard", "web") else exported)
        if what == "web":  # simplified once, for the default paths' motion, as the export is
            m = web_render_mesh(m)
        out[what] = {}
        with Renderer(k.width, k.height, supersample=1.0, simplify=what != "plain" and bool(config.render.simplify),
                      simplify_error=float(config.render.simplify_error),
                      masked_patches=bool(config.render.masked_patches if masked_patches is None else masked_patches)) as r:
            for group, motion in groups:
                r.set_mesh(m, motion=motion)
                for pose_name, (pose, camera) in group.items():
                    rgb, _ = r.render(pose, camera)
                    clear = rgb.max(axis=2) == 0
                    out[what][pose_name] = int(clear.sum())
                    if crops is not None and clear.any():
                        save_crops(rgb, clear, crops / f"{name}_{what}_{pose_name}.png")
    return {w: {n: out[w][n] for n in poses} for w in views}


def middlebury_scene(folder: Path, max_size: int):
    """photo3d's scene of a Middlebury folder, built as ``benchmarks.artefacts`` builds it."""
    from photo3d.api import Photo3D

    sc = ev.load_middlebury_scene(folder, max_size)
    image, disparity, k = ev.view1_input(sc)
    config = Config.from_keys(longer_side=max(sc.size), inpaint="fill", paths=[]).with_changes(
        {"prepare.crop_scan_border": False})
    p3d = Photo3D.from_rgbd(image, ev.depth_from_disparity(disparity, k.fx), intrinsics=(k.fx, k.fy, k.cx, k.cy),
                            config=config, normalize=False)
    return p3d.scene, Config()


def sample_scene():
    """The bundled sample at default settings (what ``setup.sh`` renders)."""
    from photo3d.api import Photo3D

    config = Config.from_keys(inpaint="fill")
    p3d = Photo3D.from_files(REPO / "inputs" / "sample.png", REPO / "inputs" / "sample_disparity.png", config=config)
    return p3d.scene, config


def photo_scene(path: Path):
    """A photo without depth at default settings (fill inpainting): the depth is what photo3d
    finds or estimates for it (``photo3d.depth.resolve_depth``; offline, the prior)."""
    from photo3d.api import Photo3D

    config = Config.from_keys(inpaint="fill")
    p3d = Photo3D.from_files(path, None, config=config)
    return p3d.scene, config, p3d.depth_source


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--scenes", default="", help="comma-separated scene names (default: all; 'sample' for the sample)")
    p.add_argument("--max-size", type=int, default=480)
    p.add_argument("--frames", type=int, default=8, help="frames per default path (0: the videos' count)")
    p.add_argument("--photos", default="", help="comma-separated photo files without depth (estimated depth)")
    p.add_argument("--views", default=",".join(VIEWS[:3]), help=f"comma-separated views of {VIEWS} (default: the first three)")
    p.add_argument("--crops", type=Path, default=None, help="folder for crops around clear pixels")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "holes")
    p.add_argument("--masked-patches", choices=("config", "on", "off"), default="config",
                   help="the renderer's masked patches (render.masked_patches): as configured, on or off")
    args = p.parse_args(argv)
    masked = None if args.masked_patches == "config" else args.masked_patches == "on"
    folders = sorted(q for q in args.data.iterdir() if (q / "disp1.png").exists())
    names = [q.name for q in folders] + ["sample"]
    if args.scenes:
        wanted = set(args.scenes.split(","))
        names = [n for n in names if n in wanted]
    photos = [Path(q) for q in args.photos.split(",") if q]
    views = tuple(v for v in args.views.split(",") if v)
    results, sources = {}, {}
    start = time.perf_counter()
    for name in names + [str(q) for q in photos]:
        t0 = time.perf_counter()
        if name == "sample":
            scene, config = sample_scene()
        elif name in names:
            scene, config = middlebury_scene(args.data / name, args.max_size)
        else:
            scene, config, sources[Path(name).stem] = photo_scene(Path(name))
            name = Path(name).stem
        res = measure(name, scene, config, args.frames, args.crops, views, masked)
        results[name] = res
        bad = {w: {k: v for k, v in res[w].items() if v} for w in views}
        size = scene.mesh.intrinsics
        print(f"{name} ({size.width}x{size.height}, {len(next(iter(res.values())))} poses, "
              f"{time.perf_counter() - t0:.0f} s): " + ", ".join(f"{w} max {max(res[w].values())} px" for w in views)
              + f"; {bad}", file=sys.stderr, flush=True)
    summary = {
        "poses": {n: len(next(iter(r.values()))) for n, r in results.items()},
        "renders": int(sum(len(v) for r in results.values() for v in r.values())),
        **{f"{w}_clear_total": int(sum(sum(r[w].values()) for r in results.values())) for w in views},
        **{f"{w}_clear_max": int(max((max(r[w].values()) for r in results.values()), default=0)) for w in views},
        **{f"{w}_renders_with_clear": int(sum(sum(v > 0 for v in r[w].values()) for r in results.values()))
           for w in views},
        "depth_sources": sources,
        "frames_per_path": args.frames or "all",
        "seconds": time.perf_counter() - start,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "holes.json").write_text(json.dumps({"summary": summary, "scenes": results}, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
