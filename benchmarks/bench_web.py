"""The web export on real photos: file sizes, quality against the full mesh, and the viewer's
load time and fidelity in headless Chromium.

For each photo (Middlebury 2005/2006 view1 with its ground-truth disparity, and a BSDS500
photo with photo3d's heuristic depth prior, from ../shared/data) at each size: triangles of the
full and the web mesh; sizes of the full GLB, the web GLB and the self-contained page; PSNR of
photo3d's render of the web GLB against the full mesh's at the input camera and at the most
extreme camera of the circle path; per browser (headless Chromium; Firefox and WebKitGTK's
MiniBrowser on Xvfb, as in the tests), seconds from navigation to the first frame (served
from 127.0.0.1), and PSNR of its picture (centre crop) against photo3d's own render of the
web GLB.

    python -m benchmarks.bench_web                        # 960 px: Art, Baby1, BSDS 100007
    python -m benchmarks.bench_web --sizes 640 960 --screenshot docs/viewer.jpg
    python -m benchmarks.bench_web --browsers firefox webkit
    python -m benchmarks.bench_web --photos Books Moebius Reindeer Dolls bsds100039 bsds101027 sample --browsers chromium
    python -m benchmarks.bench_web --browsers --photos Dolls Moebius bsds103029   # no browser: sizes, PSNR

Any BSDS500 test photo is ``bsds<number>``; ``atlas`` says whether the size budget
(``output.web_max_mb``) made the atlas JPEG.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from photo3d.api import Photo3D
from photo3d.camera import camera_path
from photo3d.config import Config
from photo3d.io import write_glb
from photo3d.render import Renderer
from photo3d.web.glb import read_web_glb
from photo3d.web.serve import start_server

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PHOTOS = {
    **{name: (f"middlebury_2005_2006_half/{name}/view1.png", f"middlebury_2005_2006_half/{name}/disp1.png")
       for name in ("Art", "Baby1", "Baby2", "Books", "Bowling1", "Cloth1", "Cloth3", "Cloth4", "Dolls", "Lampshade1",
                    "Laundry", "Midd1", "Moebius", "Reindeer", "Rocks1", "Wood1")},
    **{f"bsds{n}": (f"bsds500/test/{n}.jpg", None) for n in ("100007", "100039", "101027")},
    "sample": (str(REPO / "inputs" / "sample.png"), str(REPO / "inputs" / "sample_disparity.png")),  # bundled
}
DEFAULT = ["Art", "Baby1", "bsds100007"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def extreme_pose(p3d: Photo3D) -> np.ndarray:
    """The circle path's frame farthest from the input camera."""
    frames = camera_path("circle", 240, center_depth=p3d.scene.prepared.center_depth,
                         shift_scale=p3d.scene.prepared.depth_scale)
    return max(frames, key=lambda f: np.linalg.norm(f.center)).pose


def _shot_psnr(shot: np.ndarray, web, k) -> float:
    if shot.shape[:2] != (k.height, k.width):
        raise RuntimeError(f"the viewer's canvas is {shot.shape[1]}x{shot.shape[0]}, not {k.width}x{k.height}")
    with Renderer(k.width, k.height) as r:
        r.set_mesh(web)
        own, _ = r.render(np.eye(4), k)
    h, w = own.shape[:2]
    crop = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    return round(psnr(shot[crop], own[crop]), 2)


def _chromium(url: str, k) -> tuple[float, np.ndarray] | None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        tab = browser.new_page(viewport={"width": k.width, "height": k.height})
        tab.set_default_timeout(240_000)  # a loaded machine can take long over a 10 MB page
        start = time.perf_counter()
        tab.goto(url + "#autoplay=none")
        tab.evaluate("window.photo3dViewer.then(v => v.frames())")
        load = time.perf_counter() - start
        png = tab.locator("#photo3d-canvas").screenshot()
        browser.close()
    return load, cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def _gecko_or_webkit(name: str, url: str, k, workdir: Path) -> tuple[float, np.ndarray] | None:
    """firefox-esr or WebKitGTK's MiniBrowser through the tests' drivers (tests/browsers.py)."""
    from tests import browsers

    if browsers.missing(name):
        return None
    display = browsers.Display()
    try:
        b = browsers.launch(name, display, workdir)
        try:
            b.set_viewport(max(k.width, 512), k.height)  # Firefox: >= 500 px; the canvas is k's size, centred
            b.open("about:blank")
            start = time.perf_counter()
            b.open(url + "#autoplay=none")
            b.run_async("window.photo3dViewer.then(function (v) { done(v.frames()); })")
            load = time.perf_counter() - start
            return load, b.screenshot("#photo3d-canvas")
        finally:
            b.close()
    finally:
        display.close()


def browser_check(folder: Path, page: str, web, k, screenshot: Path | None, names: list[str]) -> dict:
    """Per browser: load time (s, navigation to the first frame) and centre-crop PSNR of the
    viewer's first frame vs photo3d's render."""
    server, url = start_server(folder)
    out = {}
    try:
        for name in names:
            got = _chromium(url + page, k) if name == "chromium" else _gecko_or_webkit(name, url + page, k, folder)
            if got is None:
                out[f"{name}"] = "not installed"
                continue
            load, shot = got
            out[f"load_s_{name}"] = round(load, 2)
            out[f"browser_psnr_centre_{name}"] = _shot_psnr(shot, web, k)
            if screenshot is not None:  # the first browser's at the path, the others' beside it
                path = screenshot if name == names[0] else screenshot.with_name(f"{screenshot.stem}_{name}{screenshot.suffix}")
                cv2.imwrite(str(path), shot[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    finally:
        server.shutdown()
    return out


def photo(name: str) -> tuple[str, str | None]:
    """(image, depth or None) under DATA for a name of PHOTOS or any ``bsds<number>`` of BSDS500's test set."""
    if name in PHOTOS:
        return PHOTOS[name]
    if name.startswith("bsds") and (DATA / f"bsds500/test/{name[4:]}.jpg").is_file():
        return f"bsds500/test/{name[4:]}.jpg", None
    raise SystemExit(f"unknown photo {name!r}: one of {', '.join(PHOTOS)} or bsds<number> of {DATA / 'bsds500/test'}")


def run(name: str, side: int, screenshot: Path | None, browsers: list[str]) -> dict:
    image, depth = photo(name)
    config = Config()
    config.prepare.longer_side = side
    config.prepare.enlarge = True  # the half-size Middlebury photos and BSDS (481 px) at the size asked for
    config.inpaint.method = "fill"
    config.depth.download = False  # offline: photos without a depth file get the heuristic prior
    p3d = Photo3D.from_files(DATA / image, DATA / depth if depth else None, config=config)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        glb = p3d.save_web_glb(tmp / f"{name}_web.glb")
        web_s = time.perf_counter() - start
        page = p3d.save_html(tmp / f"{name}.html")
        full = write_glb(p3d.mesh, tmp / f"{name}.glb")
        web, k, extras = read_web_glb(glb)
        row = {"photo": name, "size": f"{k.width}x{k.height}", "triangles_full": p3d.mesh.num_faces,
               "triangles_web": int(len(web.tex_faces) + len(web.flat.faces)),
               "guard_triangles": int(len(web.hole_faces) + len(web.hole_flat.faces)),
               "full_glb_MB": round(full.stat().st_size / 1e6, 2), "web_glb_MB": round(glb.stat().st_size / 1e6, 2),
               "html_MB": round(page.stat().st_size / 1e6, 2), "web_export_s": round(web_s, 2),
               "atlas": f"jpeg q{q}" if (q := extras["photo3d"]["texture"].get("jpeg_quality")) else "png"}
        with Renderer(k.width, k.height) as r:
            for label, pose in (("identity", np.eye(4)), ("extreme", extreme_pose(p3d))):
                r.set_mesh(p3d.mesh)
                a, _ = r.render(pose, k)
                r.set_mesh(web)
                b, _ = r.render(pose, k)
                row[f"psnr_{label}"] = round(psnr(a, b), 2)
        row.update(browser_check(tmp, page.name, web, k, screenshot, browsers))
    p3d.close()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", nargs="+", default=DEFAULT, help=f"of {', '.join(PHOTOS)}, or bsds<number>")
    ap.add_argument("--sizes", nargs="+", type=int, default=[960])
    ap.add_argument("--screenshot", type=Path, help="save the first browser's first frame of the first photo (JPEG); the other browsers' as <stem>_<browser>.jpg")
    ap.add_argument("--browsers", nargs="*", default=["chromium", "firefox", "webkit"], choices=["chromium", "firefox", "webkit"],
                    help="none given: sizes and PSNR only")
    args = ap.parse_args()
    rows = []
    for i, name in enumerate(args.photos):
        for side in args.sizes:
            rows.append(run(name, side, args.screenshot if i == 0 and side == args.sizes[0] else None, args.browsers))
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
