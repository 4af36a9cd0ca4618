"""Artefact harness: halos, colour bleeding, holes and dust of photo3d's 3D photos, measured
on the 16 Middlebury 2005/2006 scenes against the real photographs (issue 9, item 6).

Every scene is built from view1 + its ground-truth disparity (``normalize=False``, depth
in view1-view5 baselines, the camera of ``../shared/data/INDEX.md``: focal max(W, H),
principal point at the image centre), exactly as ``benchmarks/middlebury`` does, and
rendered at t = -0.25 (view0), 0.5 (view3) and 1.0 (view5). Per view:

* ``disoccluded``: PSNR / SSIM over the pixels view1 cannot see (evaluation's masks);
* ``band``: PSNR over the scored pixels within ``--band`` px (Euclidean, default 4) of a
  disoccluded pixel, the disoccluded pixels included: where halos (background colour
  rimming the foreground) and bleeding (foreground colour copied behind it) show;
* ``near_black``: fraction of the frame that the render leaves near-black (every channel
  <= 12) where the photograph is not dark (its brightest channel >= 48);
* ``clear``: fraction of the frame left at the clear colour (nothing drawn: black and not
  covered, hole guard included);
* ``outside``: PSNR over the pixels beyond view1's frame (the border extension: what the
  camera sees past the photo's edge).

Per scene (the exported mesh, i.e. ``Mesh.faces``): connected pieces with fewer than 10
vertices per 100k vertices (``fragments_per_100k``) and vertices no face uses.

The baseline ``warp_inpaint`` (forward splat + cv2.inpaint) gets the same band and
disoccluded numbers. A sheet per scene (``<out>/sheets/<scene>.png``) shows, for t = -0.25
and t = 1.0, the three windows with the largest photo3d error in the band and the one with
the largest error outside view1's frame: target, photo3d, warp + inpaint and photo3d's
error, enlarged 3x.

    python -m benchmarks.artefacts                              # 16 scenes at 480 px
    python -m benchmarks.artefacts --scenes Art,Bowling1 --max-size 320 --out /tmp/a
    python -m benchmarks.artefacts --set prepare.sparse_iter=0  # a photo3d Config change

Writes ``<out>/artefacts.json`` and ``<out>/artefacts.md``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

from benchmarks import middlebury as ev  # noqa: E402
from photo3d.config import Config, config_from_mapping  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "middlebury_2005_2006_half"
VIEWS = (0, 3, 5)  # t = -0.25, 0.5, 1.0
SHEET_VIEWS = (0, 5)
DARK_RENDER = 12  # a render pixel is near-black when every channel is at most this
BRIGHT_PHOTO = 48  # ... and counts when the photograph's brightest channel is at least this
SMALL_PIECE = 10  # vertices


# ---------------------------------------------------------------------------------------
# Measures
# ---------------------------------------------------------------------------------------

def edge_band(disoccluded: np.ndarray, valid: np.ndarray, radius: float) -> np.ndarray:
    """Scored pixels within ``radius`` px (Euclidean) of a disoccluded pixel, the
    disoccluded pixels included. (H, W) bool x2 -> (H, W) bool."""
    if not disoccluded.any():
        return np.zeros_like(disoccluded)
    dist = cv2.distanceTransform((~disoccluded).astype(np.uint8), cv2.DIST_L2, 5)
    return valid & (dist <= radius)


def near_black(render: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Render pixels that are near-black where the photograph is not dark.
    (H, W, 3) uint8 x2 -> (H, W) bool."""
    return (render.max(axis=2) <= DARK_RENDER) & (photo.max(axis=2) >= BRIGHT_PHOTO)


def mesh_pieces(num_vertices: int, faces: np.ndarray, small: int = SMALL_PIECE) -> dict[str, int]:
    """Connected pieces of a triangle mesh (vertices joined by face edges).

    Args:
        num_vertices: V; faces: (F, 3) int vertex indices.
    Returns:
        {"pieces": pieces with at least one face, "small_pieces": of those, with fewer
        than ``small`` vertices, "unused_vertices": vertices no face uses}.
    """
    faces = np.asarray(faces, dtype=np.int64)
    used = np.zeros(num_vertices, dtype=bool)
    used[faces.ravel()] = True
    rows = np.concatenate([faces[:, 0], faces[:, 1]])
    cols = np.concatenate([faces[:, 1], faces[:, 2]])
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(num_vertices, num_vertices))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels[used])
    sizes = sizes[sizes > 0]
    return {"pieces": int(sizes.size), "small_pieces": int((sizes < small).sum()),
            "unused_vertices": int((~used).sum())}


def region_error(render: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    """(mean squared error per RGB value, pixel count) over ``mask``; (nan, 0) when empty."""
    n = int(mask.sum())
    if n == 0:
        return float("nan"), 0
    diff = render[mask].astype(np.float64) - photo[mask].astype(np.float64)
    return float(np.mean(diff * diff)), n


def view_measures(render: np.ndarray, covered: np.ndarray, photo: np.ndarray, geometry: ev.ViewGeometry,
                  band_radius: float, ssim: np.ndarray | None = None, clear: np.ndarray | None = None) -> dict:
    """Every per-view number of one render (see the module docstring). ``clear``: (H, W)
    bool pixels nothing was drawn on (:func:`clear_pixels`); default: black and uncovered."""
    band = edge_band(geometry.disoccluded, geometry.valid, band_radius)
    d_mse, d_n = region_error(render, photo, geometry.disoccluded)
    b_mse, b_n = region_error(render, photo, band)
    s_mse, s_n = region_error(render, photo, band & ~geometry.disoccluded)
    o_mse, o_n = region_error(render, photo, geometry.outside)
    if ssim is None:
        ssim = ev.ssim_map(render, photo)
    if clear is None:
        clear = ~covered & (render.max(axis=2) == 0)
    return {
        "disoccluded_psnr": ev.psnr_from_mse(d_mse), "disoccluded_ssim": ev.masked_mean(ssim, geometry.disoccluded),
        "disoccluded_mse": d_mse, "disoccluded_pixels": d_n,
        "band_psnr": ev.psnr_from_mse(b_mse), "band_mse": b_mse, "band_pixels": b_n,
        "band_seen_psnr": ev.psnr_from_mse(s_mse), "band_seen_mse": s_mse, "band_seen_pixels": s_n,
        "outside_psnr": ev.psnr_from_mse(o_mse), "outside_mse": o_mse, "outside_pixels": o_n,
        "near_black": float(near_black(render, photo).mean()), "clear": float(clear.mean()),
    }


def lifted_mesh(mesh):
    """``mesh`` with every colour (its guard's and its soft rim's too) raised to at least 16 grey
    levels, so that only pixels nothing was drawn on stay (0, 0, 0)."""
    guard = mesh.guard
    if guard is not None:
        guard = dataclasses.replace(guard, colors=np.maximum(guard.colors, 16).astype(np.uint8))
    soft = mesh.soft
    if soft is not None:
        fringe = soft.fringe_colors
        if fringe is not None:
            fringe = np.concatenate([np.maximum(fringe[:, :3], 16), fringe[:, 3:]], axis=1).astype(np.uint8)
        soft = dataclasses.replace(soft, colors=np.maximum(soft.colors, 16).astype(np.uint8), fringe_colors=fringe)
    return dataclasses.replace(mesh, colors=np.maximum(mesh.colors, 16).astype(np.uint8), guard=guard, soft=soft)


def clear_pixels(renderer, mesh, views: tuple[int, ...]) -> dict[int, np.ndarray]:
    """{view: (H, W) bool pixels left at the clear colour}: rendered once more with every
    colour raised to at least 16 grey levels, so that a black surface or a black hole-guard
    quad (both legitimate: dark photos) is not mistaken for nothing drawn."""
    renderer.set_mesh(lifted_mesh(mesh))
    out = {}
    for k in views:
        rgb, _ = renderer.render(ev.camera_pose(ev.view_shift(k)), mesh.intrinsics)
        out[k] = rgb.max(axis=2) == 0
    return out


# ---------------------------------------------------------------------------------------
# Sheet
# ---------------------------------------------------------------------------------------

def worst_windows(error: np.ndarray, size: int, count: int) -> list[tuple[int, int]]:
    """Top-left corners of the ``count`` non-overlapping ``size`` x ``size`` windows with the
    largest summed ``error`` (greedy: take the best, blank its neighbourhood, repeat)."""
    h, w = error.shape
    size = min(size, h, w)
    score = cv2.boxFilter(error.astype(np.float32), -1, (size, size), normalize=False,
                          anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[: h - size + 1, : w - size + 1].copy()
    out = []
    for _ in range(count):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] <= 0:
            break
        out.append((int(y), int(x)))
        score[max(0, y - size + 1): y + size, max(0, x - size + 1): x + size] = -1
    return out


def crop_row(panels: list[np.ndarray], y: int, x: int, size: int, zoom: int) -> np.ndarray:
    """The same window of every panel, enlarged ``zoom`` times (nearest), side by side with
    a 2 px white gap."""
    crops = []
    for p in panels:
        c = cv2.resize(p[y: y + size, x: x + size], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST)
        crops.append(np.pad(c, ((0, 2), (0, 2), (0, 0)), constant_values=255))
    return np.concatenate(crops, axis=1)


def scene_sheet(scene: ev.StereoScene, geometry: dict[int, ev.ViewGeometry], p3d: dict, base: dict,
                band_radius: float, size: int = 48, zoom: int = 3) -> np.ndarray:
    """Rows of crops at photo3d's worst band windows (and its worst window outside view1's
    frame) for the views of ``SHEET_VIEWS``:
    target | photo3d | warp + inpaint | photo3d |error| (0..80 grey levels).
    Returns (rows * (size * zoom + 2), 4 * (size * zoom + 2), 3) uint8 RGB."""
    rows = []
    for k in SHEET_VIEWS:
        g = geometry[k]
        photo = scene.views[k]
        render = p3d[k][0]
        err = np.abs(render.astype(np.float32) - photo.astype(np.float32)).mean(axis=2)
        band = edge_band(g.disoccluded, g.valid, band_radius)
        err_img = cv2.cvtColor(cv2.applyColorMap(np.clip(err / 80 * 255, 0, 255).astype(np.uint8),
                                                 cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
        windows = [(y, x, "") for y, x in worst_windows(np.where(band, err, 0.0), size, 3)]
        windows += [(y, x, " outside") for y, x in worst_windows(np.where(g.outside, err, 0.0), size, 1)]
        for y, x, what in windows:
            row = crop_row([photo, render, base[k][0], err_img], y, x, size, zoom)
            cv2.putText(row, f"t={g.t:+.2f} x={x} y={y}{what}", (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0),
                        1, cv2.LINE_AA)
            rows.append(row)
    if not rows:
        return np.zeros((8, 8, 3), np.uint8)
    return np.concatenate(rows, axis=0)


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------

def run_scene(folder: Path, max_size: int, overrides: dict, renderer, band_radius: float, sheets: Path | None) -> dict:
    """All numbers of one scene (photo3d with ``overrides`` on its defaults, and the
    warp + inpaint baseline) at longer side ``max_size``."""
    scene = ev.load_middlebury_scene(folder, max_size)
    base = Config.from_keys(longer_side=max(scene.size), inpaint="fill", paths=[])  # keeps the scene's size exactly
    config, _ = config_from_mapping(overrides, "--set", base) if overrides else (base, [])
    geometry = {k: ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(k)) for k in VIEWS}
    result = ev.photo3d_renders(scene, config, renderer, VIEWS)
    mesh = result.scene.mesh
    raw = {}  # the renderer's own coverage (evaluation's "covered" counts painted guard pixels)
    renderer.set_mesh(mesh)
    for k in VIEWS:
        raw[k] = renderer.render(ev.camera_pose(ev.view_shift(k)), mesh.intrinsics)
    clear = clear_pixels(renderer, mesh, VIEWS)
    base = ev.warp_inpaint_renders(scene, VIEWS).renders
    views = {}
    for k in VIEWS:
        photo = scene.views[k]
        rgb, covered = raw[k]
        views[str(k)] = {"t": ev.view_shift(k),
                         "photo3d": view_measures(rgb, covered, photo, geometry[k], band_radius, clear=clear[k]),
                         "warp_inpaint": view_measures(base[k][0], base[k][1], photo, geometry[k], band_radius)}
    pieces = mesh_pieces(mesh.num_vertices, mesh.faces)
    pieces["vertices"] = int(mesh.num_vertices)
    pieces["fragments_per_100k"] = 1e5 * pieces["small_pieces"] / max(mesh.num_vertices, 1)
    if sheets is not None:
        sheets.mkdir(parents=True, exist_ok=True)
        sheet = scene_sheet(scene, geometry, raw, base, band_radius)
        cv2.imwrite(str(sheets / f"{scene.name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return {"scene": scene.name, "size": list(scene.size), "build_seconds": result.build_seconds,
            "stages": result.info.get("stages", {}), "views": views, "mesh": pieces}


def pooled(scenes: list[dict], method: str, view: str | None, region: str) -> float:
    """PSNR with the squared error pooled over the region's pixels of every scene (and
    every view when ``view`` is None)."""
    sse = n = 0.0
    for s in scenes:
        for k, v in s["views"].items():
            if view is not None and k != view:
                continue
            m = v[method]
            if m[f"{region}_pixels"]:
                sse += m[f"{region}_mse"] * m[f"{region}_pixels"]
                n += m[f"{region}_pixels"]
    return ev.psnr_from_mse(sse / n) if n else float("nan")


def mean_of(scenes: list[dict], method: str, view: str | None, key: str) -> float:
    """Mean of a per-view number over scenes (and views when ``view`` is None), NaN skipped."""
    vals = [v[method][key] for s in scenes for k, v in s["views"].items() if view is None or k == view]
    vals = [x for x in vals if x is not None and not math.isnan(x)]
    return float(np.mean(vals)) if vals else float("nan")


def summary(scenes: list[dict]) -> dict:
    """Headline numbers: per view and over all views, pooled PSNR and means."""
    out = {}
    for view in [None] + [str(k) for k in VIEWS]:
        key = "all" if view is None else f"t={ev.view_shift(int(view)):+.2f}"
        row = {}
        for method in ("photo3d", "warp_inpaint"):
            row[method] = {
                "band_psnr_pooled": pooled(scenes, method, view, "band"),
                "band_seen_psnr_pooled": pooled(scenes, method, view, "band_seen"),
                "disoccluded_psnr_pooled": pooled(scenes, method, view, "disoccluded"),
                "outside_psnr_pooled": pooled(scenes, method, view, "outside"),
                "outside_psnr_mean": mean_of(scenes, method, view, "outside_psnr"),
                "band_psnr_mean": mean_of(scenes, method, view, "band_psnr"),
                "disoccluded_psnr_mean": mean_of(scenes, method, view, "disoccluded_psnr"),
                "disoccluded_ssim_mean": mean_of(scenes, method, view, "disoccluded_ssim"),
                "near_black_mean": mean_of(scenes, method, view, "near_black"),
                "clear_mean": mean_of(scenes, method, view, "clear"),
            }
        out[key] = row
    small = sum(s["mesh"]["small_pieces"] for s in scenes)
    verts = sum(s["mesh"]["vertices"] for s in scenes)
    out["mesh"] = {"fragments_per_100k": 1e5 * small / max(verts, 1),
                   "unused_vertices": int(sum(s["mesh"]["unused_vertices"] for s in scenes)),
                   "pieces": int(sum(s["mesh"]["pieces"] for s in scenes))}
    out["build_seconds_total"] = float(sum(s["build_seconds"] for s in scenes))
    return out


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def markdown(result: dict) -> str:
    """Tables of a harness run."""
    s = result["summary"]
    lines = [f"# Artefact harness ({len(result['scenes'])} scenes, longer side {result['max_size']} px)", "",
             f"Settings: {result['settings'] or 'defaults'}. Band: scored pixels within {result['band']} px of "
             "the disoccluded ones. Near-black: render <= 12 where the photo >= 48 (brightest channel). "
             "PSNR pooled over every scene's pixels; 'mean' = mean over scenes.", "",
             "| view | band photo3d | band warp+inpaint | band diff | band seen photo3d / warp | disocc photo3d "
             "| disocc warp+inpaint | disocc SSIM photo3d | near-black photo3d | clear photo3d "
             "| outside photo3d / warp (pooled) | outside photo3d / warp (mean) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in ["all"] + [f"t={ev.view_shift(k):+.2f}" for k in VIEWS]:
        p, b = s[key]["photo3d"], s[key]["warp_inpaint"]
        lines.append(f"| {key} | {_f(p['band_psnr_pooled'])} | {_f(b['band_psnr_pooled'])} | "
                     f"{_f(p['band_psnr_pooled'] - b['band_psnr_pooled'])} | "
                     f"{_f(p['band_seen_psnr_pooled'])} / {_f(b['band_seen_psnr_pooled'])} | {_f(p['disoccluded_psnr_pooled'])} | "
                     f"{_f(b['disoccluded_psnr_pooled'])} | {_f(p['disoccluded_ssim_mean'], 3)} | "
                     f"{100 * p['near_black_mean']:.3f} % | {100 * p['clear_mean']:.3f} % | "
                     f"{_f(p['outside_psnr_pooled'])} / {_f(b['outside_psnr_pooled'])} | "
                     f"{_f(p['outside_psnr_mean'])} / {_f(b['outside_psnr_mean'])} |")
    m = s["mesh"]
    lines += ["", f"Mesh: {_f(m['fragments_per_100k'], 1)} pieces under {SMALL_PIECE} vertices per 100k vertices; "
              f"{m['unused_vertices']} unused vertices; {m['pieces']} pieces in all. "
              f"Build time (all scenes, before rendering): {s['build_seconds_total']:.1f} s.", "",
              "## Per scene (band / disoccluded PSNR at t = -0.25, 0.5, 1.0; photo3d vs warp+inpaint)", "",
              "| scene | band photo3d | band warp | disocc photo3d | disocc warp | near-black % | frag/100k | unused |",
              "|---|---|---|---|---|---|---|---|"]
    for sc in result["scenes"]:
        v = sc["views"]
        ks = [str(k) for k in VIEWS]
        lines.append(
            f"| {sc['scene']} | {' / '.join(_f(v[k]['photo3d']['band_psnr'], 1) for k in ks)} | "
            f"{' / '.join(_f(v[k]['warp_inpaint']['band_psnr'], 1) for k in ks)} | "
            f"{' / '.join(_f(v[k]['photo3d']['disoccluded_psnr'], 1) for k in ks)} | "
            f"{' / '.join(_f(v[k]['warp_inpaint']['disoccluded_psnr'], 1) for k in ks)} | "
            f"{' / '.join('%.2f' % (100 * v[k]['photo3d']['near_black']) for k in ks)} | "
            f"{_f(sc['mesh']['fragments_per_100k'], 0)} | {sc['mesh']['unused_vertices']} |")
    return "\n".join(lines) + "\n"


def _finite(obj):
    """JSON-safe copy (NaN/inf -> None)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of Middlebury 2005/2006 scenes")
    p.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    p.add_argument("--max-size", type=int, default=480, help="longer image side in pixels (default 480)")
    p.add_argument("--band", type=float, default=4.0, help="band radius around disoccluded pixels (px)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="photo3d Config override")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "artefacts")
    p.add_argument("--no-sheets", action="store_true", help="skip the crop sheets")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from photo3d.render import Renderer

    folders = sorted(p for p in args.data.iterdir() if (p / "disp1.png").exists())
    if args.scenes:
        wanted = set(args.scenes.split(","))
        folders = [p for p in folders if p.name in wanted]
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    args.out.mkdir(parents=True, exist_ok=True)
    sheets = None if args.no_sheets else args.out / "sheets"
    scenes = []
    start = time.perf_counter()
    with Renderer(64, 64) as renderer:
        for folder in folders:
            scenes.append(run_scene(folder, args.max_size, overrides, renderer, args.band, sheets))
            v = scenes[-1]["views"]["5"]
            print(f"{folder.name}: band {v['photo3d']['band_psnr']:.2f} (warp {v['warp_inpaint']['band_psnr']:.2f}) "
                  f"disocc {v['photo3d']['disoccluded_psnr']:.2f} at t=1.0", file=sys.stderr)
    result = {"max_size": args.max_size, "band": args.band, "settings": overrides, "scenes": scenes,
              "seconds": time.perf_counter() - start}
    result["summary"] = summary(scenes)
    (args.out / "artefacts.json").write_text(json.dumps(_finite(result), indent=1))
    (args.out / "artefacts.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
