"""The soft foreground rim in exported files (issue 9, item 2): what another viewer shows.

photo3d's renderer draws the rim pixels beside a depth cut blended, in the foreground's colour
freed of the background's share (``photo3d.core.soft_edge``). A PLY or GLB holds no alpha, so a
viewer outside photo3d draws them opaque: in the photo's mixed colour before (a rim of the
background the foreground hid, once the camera moves), in the freed colour now
(``SoftEdge.opaque``). For each Middlebury scene (true depth, ``normalize=False``, as
``benchmarks.artefacts``) the PLY (no guard) and the GLB (with ``--export-guard``'s geometry) are
written, read back through photo3d's readers and rendered with every triangle drawn (as a
generic viewer does; the GLB's rim blended as its material says, and opaque as by a viewer that
ignores alpha), at t = 0 (the input camera), -0.25 (view0), 0.5 and 1.0; scored against
the real photographs in the band within 4 px of the disoccluded pixels (``band``: halos) and
over the whole frame (``all``), beside photo3d's own render (``photo3d``) and the files as they
were written before (``before``: the photo's colours on the rim).

    python -m benchmarks.export_rim --scenes Art,Reindeer --max-size 640 --crops docs/artefacts

Writes ``<out>/export_rim.json`` and prints one line per scene, format and view.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

from benchmarks import middlebury as ev  # noqa: E402
from benchmarks.artefacts import edge_band, region_error  # noqa: E402
from photo3d.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "middlebury_2005_2006_half"
VIEWS = (1, 0, 3, 5)  # t = 0 (the input), -0.25, 0.5, 1.0
CROPS = {  # (view, x, y, size) at 640 px, scaled with the scene: the places issue 9 names
    "Art_brush_head": (5, 30, 140, 100),
    "Art_brush_head_zoom": (5, 55, 165, 48),
    "Reindeer_antlers": (5, 30, 100, 130),
    "Reindeer_antlers_zoom": (5, 25, 150, 48),
}


def file_meshes(mesh, folder: Path) -> dict:
    """{"ply", "glb", "glb_opaque", "ply_before", "glb_before"}: the files written as
    ``write_outputs`` writes them (the GLB with the exported guard), read back: ``glb`` with its
    blended rim (as a glTF viewer draws it), ``glb_opaque`` with the rim's alpha ignored;
    ``*_before``: opaque in the photo's colours, as both were written before."""
    from photo3d.core.guard import with_exported_guard
    from photo3d.io import read_mesh, write_glb, write_ply

    before = dataclasses.replace(mesh, soft=None)
    out = {}
    for tag, m in (("", mesh), ("_before", before)):
        out[f"ply{tag}"] = read_mesh(write_ply(m, folder / f"m{tag}.ply"))
        out[f"glb{tag}"] = read_mesh(write_glb(with_exported_guard(m), folder / f"m{tag}.glb"))
    out["glb_before"] = dataclasses.replace(out["glb_before"], soft=None)  # the GLB as written before: opaque
    out["glb_opaque"] = dataclasses.replace(out["glb"], soft=None)  # a viewer that ignores the rim's alpha
    return out


def run_scene(folder: Path, max_size: int, band_radius: float, crops: Path | None) -> dict:
    from photo3d.render import Renderer

    scene = ev.load_middlebury_scene(folder, max_size)
    config = Config.from_keys(longer_side=max(scene.size), inpaint="fill", paths=[])
    with Renderer(*scene.size, supersample=2.0) as own, Renderer(*scene.size, supersample=2.0, simplify=False) as plain:
        result = ev.photo3d_renders(scene, config, own, VIEWS)
        mesh = result.scene.mesh
        renders = {"photo3d": {k: v[0] for k, v in result.renders.items()}}
        with tempfile.TemporaryDirectory() as tmp:
            for name, m in file_meshes(mesh, Path(tmp)).items():
                plain.set_mesh(m)
                renders[name] = {k: plain.render(ev.camera_pose(ev.view_shift(k)), m.intrinsics)[0] for k in VIEWS}
    scores = {}
    for k in VIEWS:
        photo = scene.views[k]
        if k == 1:
            band = np.zeros(photo.shape[:2], bool)
        else:
            geometry = ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(k))
            band = edge_band(geometry.disoccluded, geometry.valid, band_radius)
        everything = np.ones(photo.shape[:2], bool)
        own = renders["photo3d"][k]
        # where photo3d's render and a file's differ at all: the rim and what the guard adds
        differs = np.zeros(photo.shape[:2], bool)
        for r in renders.values():
            differs |= (r[k] != own).any(axis=2)
        scores[str(k)] = {name: {"band_psnr": ev.psnr_from_mse(region_error(r[k], photo, band)[0]),
                                 "all_psnr": ev.psnr_from_mse(region_error(r[k], photo, everything)[0]),
                                 "vs_photo3d_psnr": ev.psnr_from_mse(region_error(r[k], own, differs)[0])}
                          for name, r in renders.items() if name != "photo3d"} | {
            "photo3d": {"band_psnr": ev.psnr_from_mse(region_error(own, photo, band)[0]),
                        "all_psnr": ev.psnr_from_mse(region_error(own, photo, everything)[0])}}
    if crops is not None:
        scale = max(scene.size) / 640.0
        for crop_name, (k, x, y, size) in CROPS.items():
            if not crop_name.startswith(scene.name + "_"):
                continue
            x, y, size = (int(round(c * scale)) for c in (x, y, size))
            zoom = max(2, int(round(288 / size)))
            own = renders["photo3d"][k].astype(np.int16)
            diff = [np.clip(4 * np.abs(renders[n][k].astype(np.int16) - own), 0, 255).astype(np.uint8)
                    for n in ("glb_before", "glb")]
            panels = [scene.views[k]] + [renders[n][k] for n in ("photo3d", "ply_before", "ply", "glb_before",
                                                                  "glb_opaque", "glb")]
            panels += diff
            tiles = [np.pad(cv2.resize(p[y:y + size, x:x + size], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST),
                            ((0, 4), (0, 4), (0, 0)), constant_values=255) for p in panels]
            crops.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(crops / f"export_rim_{crop_name}.png"),
                        cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))
    return {"scene": scene.name, "size": list(scene.size), "views": scores}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--scenes", default="Art,Reindeer,Bowling1")
    p.add_argument("--max-size", type=int, default=640)
    p.add_argument("--band", type=float, default=4.0)
    p.add_argument("--crops", type=Path, default=None,
                   help="folder for the crops (target | photo3d | PLY before | PLY | GLB before | GLB alpha ignored | GLB "
                        "| 4x |GLB before - photo3d| | 4x |GLB - photo3d|)")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "export_rim")
    args = p.parse_args(argv)
    results = []
    for name in args.scenes.split(","):
        res = run_scene(args.data / name, args.max_size, args.band, args.crops)
        results.append(res)
        for k, v in res["views"].items():
            line = "  ".join(f"{n} {s['band_psnr']:.2f}/{s['all_psnr']:.2f}/{s.get('vs_photo3d_psnr', float('nan')):.2f}"
                             for n, s in v.items())
            print(f"{name} t={ev.view_shift(int(k)):+.2f} (band/all/vs photo3d dB): {line}", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "export_rim.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
