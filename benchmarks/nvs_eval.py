"""Novel-view accuracy on real photographs: Middlebury 2005/2006 (16 scenes, 7 views each).

For every scene a 3D photo is built from view1 + its ground-truth disparity (unknowns
filled with the farther neighbour), rendered at the camera positions of views 0, 2..6
(t = -0.25, 0.25 ... 1.25 view1-view5 baselines) and compared with those photographs:
PSNR/SSIM over every scored pixel ("all"), over those view1 sees ("seen") and those it
cannot see ("disoccluded"), over the part outside view1's frame ("outside"), and the
fraction of the frame the render leaves empty. Masks and metrics: photo3d/evaluation.py.
For photo3d methods it also records where the disoccluded pixels come from in the layered
depth image (``reveal_breakdown``) and every method's PSNR on the revealed pixels that the
photo3d render covers (``same_pixels``).

Methods: photo3d with the non-learned fill (``fill``), photo3d with the networks
(``learned``, when their weights are found), and two baselines: ``plain_mesh`` (view1's
single-layer mesh, stretched across depth edges) and ``warp_inpaint`` (z-buffered forward
splat + cv2.inpaint).

    python -m benchmarks.nvs_eval                         # all 16 scenes at --max-size 480
    python -m benchmarks.nvs_eval --scenes Art,Dolls --max-size 320 --methods fill,warp_inpaint
    python -m benchmarks.nvs_eval --methods fill,fill:sparse_iter=0  # a photo3d Config change

Writes <out>/results.json (every number), <out>/results.md (tables) and
<out>/sheets/<scene>.png (photos, renders and error maps at one shift).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import yaml

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

from benchmarks import middlebury as ev  # noqa: E402
from photo3d.config import Config, config_from_mapping  # noqa: E402
from photo3d.errors import Photo3DError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "middlebury_2005_2006_half"
ALL_METHODS = ("fill", "learned", "plain_mesh", "warp_inpaint")
REGIONS = ("all", "seen", "disoccluded", "outside")
SHEET_VIEW = 5  # t = 1.0: the view1-view5 baseline


# ---------------------------------------------------------------------------------------
# Running the methods
# ---------------------------------------------------------------------------------------

def learned_unavailable(checkpoints: str | None) -> str | None:
    """Why photo3d's learned inpainting cannot run here, or None when its weights exist (the
    published networks, else photo3d's shipped ones, as ``inpaint.method: learned`` uses them)."""
    from photo3d.inpaint import shipped
    from photo3d.weights import find_weights

    missing = [name for name in ("edge", "depth", "color") if find_weights(name, checkpoints) is None]
    if missing and shipped.find_shipped(checkpoints) is None:
        return f"weights not found: {', '.join(missing)} (photo3d weights download edge depth color)"
    return None


def parse_method(spec: str) -> tuple[str, dict]:
    """``"fill"`` or ``"fill:sparse_iter=0:depth_threshold=0.08"`` -> ("fill", {overrides}).
    Overrides (photo3d Config keys, YAML values) apply to the photo3d methods only."""
    base, *pairs = spec.split(":")
    if base not in ALL_METHODS:
        raise Photo3DError(f"--methods: unknown method {base!r} (choose from {', '.join(ALL_METHODS)})")
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Photo3DError(f"--methods: expected key=value after {base!r}, got {pair!r}")
        overrides[key] = yaml.safe_load(value)
    if overrides and base not in ("fill", "learned"):
        raise Photo3DError(f"--methods: {base} takes no Config overrides ({spec!r})")
    if overrides:
        config_from_mapping(overrides, f"--methods {spec}")  # validates keys and types now
    return base, overrides


def run_method(spec: str, scene: ev.StereoScene, renderer, checkpoints: str | None) -> ev.MethodRenders:
    method, overrides = parse_method(spec)
    w, h = scene.size
    if method in ("fill", "learned"):
        base = Config.from_keys(longer_side=max(w, h), inpaint=method, checkpoints=checkpoints)
        config, _ = config_from_mapping(overrides, f"--methods {spec}", base) if overrides else (base, [])
        return ev.photo3d_renders(scene, config, renderer)
    if method == "plain_mesh":
        return ev.plain_mesh_renders(scene, renderer)
    return ev.warp_inpaint_renders(scene)


def nanmean(values) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def mean_scores(view_scores: list[ev.ViewScore]) -> dict[str, float]:
    """Mean over views of each region's PSNR and SSIM (views with an empty region skipped)
    and of the empty fraction."""
    out: dict[str, float] = {}
    for region in REGIONS:
        out[f"{region}_psnr"] = nanmean(s.regions[region].psnr for s in view_scores)
        out[f"{region}_ssim"] = nanmean(s.regions[region].ssim for s in view_scores)
    out["empty_fraction"] = nanmean(s.empty_fraction for s in view_scores)
    return out


def pooled_psnr(view_scores: list[ev.ViewScore]) -> dict[str, float]:
    """PSNR of each region with the squared error pooled over every pixel of every view
    (large regions weigh more; robust to views with a handful of revealed pixels)."""
    out = {}
    for region in REGIONS:
        n = sum(s.regions[region].pixels for s in view_scores)
        sse = sum(s.regions[region].mse * s.regions[region].pixels for s in view_scores if s.regions[region].pixels)
        out[f"{region}_psnr_pooled"] = ev.psnr_from_mse(sse / n) if n else float("nan")
    return out


def same_pixel_psnr(scene: ev.StereoScene, geometry: dict[int, ev.ViewGeometry],
                    renders: dict[str, ev.MethodRenders], method: str) -> dict[str, float]:
    """PSNR of every method over the disoccluded pixels that ``method``'s render covers
    (mean over views): compares the inpainted colours themselves, holes aside."""
    out = {}
    for other, result in renders.items():
        values = []
        for k in ev.TARGET_VIEWS:
            mask = geometry[k].disoccluded & renders[method].renders[k][1]
            values.append(ev.masked_psnr(result.renders[k][0], scene.views[k], mask))
        out[other] = nanmean(values)
    return out


# ---------------------------------------------------------------------------------------
# Contact sheet
# ---------------------------------------------------------------------------------------

def _label(panel: np.ndarray, lines: list[str]) -> np.ndarray:
    """Write ``lines`` at the top-left of an RGB panel on a dark box (cv2.putText)."""
    out = panel.copy()
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1
    height = 14
    width = max(cv2.getTextSize(t, font, scale, thick)[0][0] for t in lines) + 6
    box = out[: height * len(lines) + 4, :width]
    box[:] = (box.astype(np.float32) * 0.35).astype(np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(out, text, (3, 12 + height * i), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def reference_panel(target: np.ndarray, geometry: ev.ViewGeometry) -> np.ndarray:
    """The target photo with the scored regions tinted: disoccluded red, outside view1's
    frame blue, excluded (unknown geometry, unconfirmed gaps) grey."""
    out = target.astype(np.float32)
    excluded = ~geometry.valid & ~geometry.outside
    for mask, colour in ((geometry.disoccluded, (255, 0, 0)), (geometry.outside, (0, 80, 255)), (excluded, (128, 128, 128))):
        out[mask] = 0.35 * out[mask] + 0.65 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def error_panel(render: np.ndarray, target: np.ndarray, valid: np.ndarray, full_scale: float = 80.0) -> np.ndarray:
    """Mean absolute RGB error as a colour map (0 -> dark, ``full_scale`` and above -> bright);
    pixels outside ``valid`` (not scored) are dimmed to grey."""
    err = np.abs(render.astype(np.float32) - target.astype(np.float32)).mean(axis=2)
    grey = np.clip(err / full_scale * 255.0, 0, 255).astype(np.uint8)
    out = cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    out[~valid] = (0.3 * out[~valid] + 0.7 * 90).astype(np.uint8)
    return out


def contact_sheet(scene: ev.StereoScene, geometry: ev.ViewGeometry, view: int,
                  renders: dict[str, ev.MethodRenders], scores: dict[str, ev.ViewScore]) -> np.ndarray:
    """Rows: inputs and reference masks; each method's render (empty pixels magenta); its
    error map. Returns (rows*H, cols*W, 3) uint8 RGB."""
    w, h = scene.size
    target = scene.views[view]
    top = [
        _label(scene.views[1], ["input: view1 (t = 0)"]),
        _label(target, [f"target: view{view} (t = {geometry.t:+.2f})"]),
        _label(reference_panel(target, geometry), ["scored: red disoccluded", "blue outside view1, grey excluded"]),
    ]
    middle, bottom = [], []
    for name, result in renders.items():
        rgb, mask = result.renders[view]
        shown = rgb.copy()
        shown[~mask] = (255, 0, 255)
        s = scores[name]
        middle.append(_label(shown, [name, f"all {s.regions['all'].psnr:.2f} dB  SSIM {s.regions['all'].ssim:.3f}",
                                     f"disocc {s.regions['disoccluded'].psnr:.2f} dB  SSIM {s.regions['disoccluded'].ssim:.3f}",
                                     f"empty {100 * s.empty_fraction:.1f}% (magenta)"]))
        bottom.append(_label(error_panel(rgb, target, geometry.valid | geometry.outside),
                             [f"|error| {name}", "0..80 grey levels; grey: not scored"]))
    cols = max(len(top), len(middle))
    blank = np.zeros((h, w, 3), np.uint8)
    rows = [np.concatenate(r + [blank] * (cols - len(r)), axis=1) for r in (top, middle, bottom) if r]
    return np.concatenate(rows, axis=0)


# ---------------------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------------------

def _finite(obj):
    """JSON-safe copy: NaN -> None, +-inf -> "inf"/"-inf"."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return round(obj, 5)
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _f(value: float, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def markdown_report(result: dict) -> str:
    methods = [m for m in result["methods"] if result["methods"][m]["status"] == "ok"]
    skipped = {m: v["status"] for m, v in result["methods"].items() if v["status"] != "ok"}
    summary = result["summary"]
    n = len(result["scenes"])
    lines = [
        f"Middlebury 2005/2006, {n} scenes, longer side {result['settings']['max_size']} px, "
        f"targets view0, view2..view6 (t = -0.25, 0.25 ... 1.25 baselines). "
        "Means over views, then over scenes; PSNR in dB.",
        "",
        "| method | PSNR all | SSIM all | PSNR seen | PSNR disoccluded | SSIM disoccluded | PSNR disocc. pooled "
        "| PSNR outside frame | empty % | s / scene |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        s = summary[m]
        lines.append(
            f"| {m} | {_f(s['all_psnr'])} | {_f(s['all_ssim'], 3)} | {_f(s['seen_psnr'])} | {_f(s['disoccluded_psnr'])} | "
            f"{_f(s['disoccluded_ssim'], 3)} | {_f(s['disoccluded_psnr_pooled'])} | {_f(s['outside_psnr'])} | "
            f"{_f(100 * s['empty_fraction'], 2)} | {_f(s['seconds_per_scene'], 2)} |"
        )
    for m, why in skipped.items():
        lines.append(f"| {m} | skipped: {why} | | | | | | | | |")
    if "fill" in methods:
        lines += ["", "Margins of photo3d `fill` (mean over scenes of per-scene differences; scenes won):", ""]
        lines += ["| vs | Δ PSNR all | Δ PSNR disoccluded | Δ SSIM all | Δ SSIM disoccluded |", "|---|---|---|---|---|"]
        for m in methods:
            if m == "fill":
                continue
            cells = []
            for key in ("all_psnr", "disoccluded_psnr", "all_ssim", "disoccluded_ssim"):
                diffs = [sc["methods"]["fill"]["mean"][key] - sc["methods"][m]["mean"][key] for sc in result["scenes"].values()]
                diffs = [d for d in diffs if not math.isnan(d)]
                digits = 3 if "ssim" in key else 2
                cells.append(f"{np.mean(diffs):+.{digits}f} ({sum(d > 0 for d in diffs)}/{len(diffs)})")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")

    diagnosed = [m for m in methods if "reveal_breakdown" in summary[m]]
    if diagnosed:
        lines += ["", "Where the disoccluded pixels of views 2..6 come from in photo3d's layered depth image "
                  "(each traced back to the view1 position x + t·d it needs; % of those pixels, and % of them "
                  "the render leaves empty):", ""]
        lines += ["| method | " + " | ".join(ev.REVEAL_CAUSES) + " |", "|---|" + "---|" * len(ev.REVEAL_CAUSES)]
        for m in diagnosed:
            b = summary[m]["reveal_breakdown"]
            total = max(sum(b["all"].values()), 1)
            cells = [f"{100 * b['all'][c] / total:.1f} % ({100 * b['empty'][c] / total:.1f} % empty)" for c in ev.REVEAL_CAUSES]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")

    compared = [m for m in methods if "same_pixels" in summary[m]]
    if compared:
        lines += ["", "Inpainted colour, holes aside: PSNR of each method (columns) over the disoccluded "
                  "pixels that the row's render covers:", ""]
        lines += ["| covered by | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for m in compared:
            lines.append(f"| {m} | " + " | ".join(_f(summary[m]["same_pixels"].get(o)) for o in methods) + " |")

    lines += ["", "By camera shift (mean over scenes), PSNR all / disoccluded:", ""]
    shifts = sorted(result["by_shift"][methods[0]], key=float) if methods else []
    lines += ["| method | " + " | ".join(f"t = {float(t):+.2f}" for t in shifts) + " |",
              "|---|" + "---|" * len(shifts)]
    for m in methods:
        cells = [f"{_f(result['by_shift'][m][t]['all_psnr'])} / {_f(result['by_shift'][m][t]['disoccluded_psnr'])}"
                 for t in shifts]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")

    lines += ["", "Per scene, PSNR all / disoccluded (mean over the six views):", ""]
    lines += ["| scene | " + " | ".join(methods) + " | disoccluded % of frame |", "|---|" + "---|" * (len(methods) + 1)]
    for name, sc in result["scenes"].items():
        cells = [f"{_f(sc['methods'][m]['mean']['all_psnr'])} / {_f(sc['methods'][m]['mean']['disoccluded_psnr'])}"
                 for m in methods]
        frac = nanmean(v["fraction"]["disoccluded"] for v in sc["views"].values())
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_f(100 * frac, 1)} |")
    t = result["timing"]
    lines += ["", f"Run time: {t['total_seconds']:.1f} s for {n} scenes ({t['machine']})."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of Middlebury 2005/2006 scenes")
    p.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    p.add_argument("--max-size", type=int, default=480, help="longer image side in pixels (default 480)")
    p.add_argument("--methods", default=",".join(ALL_METHODS),
                   help=f"comma-separated, from {', '.join(ALL_METHODS)}; photo3d methods take Config "
                        "overrides, e.g. fill:sparse_iter=0:depth_threshold=0.08")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "nvs")
    p.add_argument("--link-threshold", type=float, default=1.0,
                   help="disparity step (px) separating surfaces in the reference masks")
    p.add_argument("--checkpoints", default=None, help="folder with the inpainting networks' weights")
    p.add_argument("--no-sheets", action="store_true", help="skip the PNG contact sheets")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data}: Middlebury data folder not found", file=sys.stderr)
        return 2
    names = [s for s in args.scenes.split(",") if s] or sorted(p.name for p in args.data.iterdir() if (p / "disp1.png").is_file())
    methods = [m for m in args.methods.split(",") if m]
    try:
        bases = {m: parse_method(m)[0] for m in methods}
    except Photo3DError as exc:
        print(exc, file=sys.stderr)
        return 2
    status = {m: "ok" for m in methods}
    why = learned_unavailable(args.checkpoints) if "learned" in bases.values() else None
    for m in methods:
        if bases[m] == "learned" and why:
            status[m] = why
    (args.out / "sheets").mkdir(parents=True, exist_ok=True)

    from photo3d.render import Renderer

    start_all = time.perf_counter()
    renderer = Renderer(16, 16, supersample=float(Config().render.supersample))  # one GL target, resized per scene
    scenes: dict[str, dict] = {}
    per_method_views: dict[str, dict[float, list[ev.ViewScore]]] = {m: {} for m in methods}
    try:
        for name in names:
            t0 = time.perf_counter()
            scene = ev.load_middlebury_scene(args.data / name, args.max_size)
            geometry = {k: ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(k), args.link_threshold)
                        for k in ev.TARGET_VIEWS}
            w, h = scene.size
            record = {"size": [w, h], "scale": scene.scale, "views": {}, "methods": {}}
            for k, g in geometry.items():
                record["views"][f"view{k}"] = {
                    "t": g.t,
                    "fraction": {"valid": float(g.valid.mean()), "seen": float(g.seen.mean()), "gap": float(g.gap.mean()),
                                 "disoccluded": float(g.disoccluded.mean()), "outside": float(g.outside.mean())},
                }
            renders: dict[str, ev.MethodRenders] = {}
            sheet_scores: dict[str, ev.ViewScore] = {}
            for m in methods:
                if status[m] != "ok":
                    continue
                try:
                    result = run_method(m, scene, renderer, args.checkpoints)
                except Photo3DError as exc:
                    status[m] = f"failed on {name}: {exc}"
                    print(f"{name}: {m}: {exc}", file=sys.stderr)
                    continue
                renders[m] = result
                view_scores = []
                for k in ev.TARGET_VIEWS:
                    rgb, mask = result.renders[k]
                    s = ev.score_view(rgb, mask, scene.views[k], geometry[k], view=k)
                    view_scores.append(s)
                    per_method_views[m].setdefault(s.t, []).append(s)
                    if k == SHEET_VIEW:
                        sheet_scores[m] = s
                record["methods"][m] = {
                    "views": {f"view{s.view}": asdict(s) for s in view_scores},
                    "mean": mean_scores(view_scores),
                    "pooled": pooled_psnr(view_scores),
                    "build_seconds": result.build_seconds,
                    "render_seconds": result.render_seconds,
                    "info": result.info,
                }
                if result.scene is not None:
                    record["methods"][m]["reveal_breakdown"] = ev.reveal_breakdown(
                        scene, result.scene, result.renders, args.link_threshold, geometry)
            for m, result in renders.items():
                if result.scene is not None:  # photo3d: every method on the revealed pixels this one covers
                    record["methods"][m]["same_pixels"] = same_pixel_psnr(scene, geometry, renders, m)
            if not args.no_sheets and renders:
                sheet = contact_sheet(scene, geometry[SHEET_VIEW], SHEET_VIEW, renders, sheet_scores)
                cv2.imwrite(str(args.out / "sheets" / f"{name}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
            record["seconds"] = time.perf_counter() - t0
            scenes[name] = record
            brief = "  ".join(f"{m} {record['methods'][m]['mean']['all_psnr']:.2f}/{record['methods'][m]['mean']['disoccluded_psnr']:.2f}"
                              for m in record["methods"])
            print(f"{name:<11} {w}x{h} {record['seconds']:5.1f} s  PSNR all/disocc: {brief}", flush=True)
    finally:
        renderer.close()
    total = time.perf_counter() - start_all

    ok = [m for m in methods if status[m] == "ok"]
    summary, by_shift = {}, {}
    for m in ok:
        per_scene = [sc["methods"][m] for sc in scenes.values() if m in sc["methods"]]
        summary[m] = {key: nanmean(ps["mean"][key] for ps in per_scene) for key in per_scene[0]["mean"]}
        summary[m]["seconds_per_scene"] = nanmean(ps["build_seconds"] + ps["render_seconds"] for ps in per_scene)
        summary[m].update(pooled_psnr([s for v in per_method_views[m].values() for s in v]))
        if "same_pixels" in per_scene[0]:
            summary[m]["same_pixels"] = {o: nanmean(ps["same_pixels"][o] for ps in per_scene)
                                         for o in per_scene[0]["same_pixels"]}
        if "reveal_breakdown" in per_scene[0]:
            summary[m]["reveal_breakdown"] = {
                part: {cause: sum(ps["reveal_breakdown"][part][cause] for ps in per_scene) for cause in ev.REVEAL_CAUSES}
                for part in ("all", "empty")}
        by_shift[m] = {f"{t:g}": mean_scores(v) for t, v in sorted(per_method_views[m].items())}
    result = {
        "settings": {"data": str(args.data), "max_size": args.max_size, "link_threshold": args.link_threshold,
                     "target_views": list(ev.TARGET_VIEWS), "sheet_view": SHEET_VIEW,
                     "camera": "pinhole, f = max(W, H), principal point at the image centre, Z = f / d1 (baselines)"},
        "methods": {m: {"status": status[m]} for m in methods},
        "summary": summary,
        "by_shift": by_shift,
        "scenes": scenes,
        "timing": {"total_seconds": total, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"},
    }
    (args.out / "results.json").write_text(json.dumps(_finite(result), indent=1))
    (args.out / "results.md").write_text(markdown_report(result))
    print(markdown_report(result))
    print(f"wrote {args.out / 'results.json'}, {args.out / 'results.md'}" + ("" if args.no_sheets else f", {args.out / 'sheets'}/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
