"""The viewer page in Firefox and in WebKit (Safari's engine), as tests/test_web_browser.py
does in Chromium: Debian's ``firefox-esr`` (Marionette) and WebKitGTK's MiniBrowser
(``WebKitWebDriver``), both drawing WebGL2 with llvmpipe on an X display (a private Xvfb
where none is set); see tests/browsers.py. Each browser is skipped, with the reason, where it
is not installed (Debian: ``apt-get install --no-install-recommends firefox-esr
webkit2gtk-driver xvfb``).

Each page loads from a local server with no console error (a recording probe in a copy of the
page: the browsers' drivers have no console log); its pictures match photo3d's own render of
the same web mesh at the input camera (>= 30 dB, centre crop) and at a camera shifted by the
page's ``#camera=x,y,z`` URL option (>= 28 dB); a drag moves the view the way the viewer promises.
"""
from __future__ import annotations

import browsers
import numpy as np
import pytest
from scenes import centre, psnr, small_config, square_scene

from photo3d import Photo3D
from photo3d.render import Renderer
from photo3d.web.glb import read_web_glb
from photo3d.web.serve import start_server

WIDTH, HEIGHT = 256, 192
# The window's viewport: wider than the canvas, since Firefox keeps windows >= 500 px wide;
# the viewer centres its canvas (256 x 192, the aspect of the photo, full height).
VIEWPORT = (512, HEIGHT)
NAMES = ["firefox", "webkit"]
READY = "window.photo3dViewer.then(function (v) { done({frames: v.frames(), camera: v.camera()}); }, " \
        "function (e) { done({error: String(e && e.message)}); })"


def own_render(web, k, camera) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = camera
    with Renderer(k.width, k.height) as renderer:
        renderer.set_mesh(web)
        return renderer.render(pose, k)[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Pages that embed the mesh and that load it from beside, each with the error probe, and a
    page whose mesh is missing (the probe must see that fail), served on 127.0.0.1;
    yields (base URL, web RenderMesh, intrinsics)."""
    folder = tmp_path_factory.mktemp("site")
    image, depth, _ = square_scene(HEIGHT, WIDTH)
    with Photo3D.from_rgbd(image, depth, config=small_config(longer_side=WIDTH)) as p3d:
        p3d.save_html(folder / "embedded_raw.html")
        p3d.save_html(folder / "beside_raw.html", embed=False)
    for name in ("embedded", "beside"):
        page = (folder / f"{name}_raw.html").read_text(encoding="utf-8")
        (folder / f"{name}.html").write_text(browsers.with_error_probe(page), encoding="utf-8")
    broken = (folder / "beside.html").read_text(encoding="utf-8").replace('data-src="beside_raw_web.glb"', 'data-src="missing.glb"')
    (folder / "broken.html").write_text(broken, encoding="utf-8")
    web, k, _ = read_web_glb(folder / "beside_raw_web.glb")
    server, url = start_server(folder)
    yield url, web, k
    server.shutdown()


@pytest.fixture(scope="module")
def display():
    if all(browsers.missing(name) for name in NAMES):
        pytest.skip("; ".join(f"{name}: {browsers.missing(name)}" for name in NAMES))
    shown = browsers.Display()
    yield shown
    shown.close()


@pytest.fixture(scope="module", params=NAMES)
def browser(request, display, tmp_path_factory):
    why = browsers.missing(request.param)
    if why:
        pytest.skip(f"{request.param}: {why}")
    b = browsers.launch(request.param, display, tmp_path_factory.mktemp(request.param))
    try:
        b.set_viewport(*VIEWPORT)
        yield b
    finally:
        b.close()


def load(browser, url: str) -> dict:
    """Open ``url`` as a new document (a changed hash alone would not reload) and wait for the
    viewer: {frames, camera} or {error}."""
    browser.open("about:blank")
    browser.open(url)
    return browser.run_async(READY)


def page_errors(browser, url: str) -> list[str]:
    return browser.run("return window.photo3dErrors || ['no error probe']") + browser.errors(url)


@pytest.mark.parametrize("name", ["embedded.html", "beside.html"])
def test_page_loads_with_no_console_error(site, browser, name):
    url, _, _ = site
    state = load(browser, url + name + "#autoplay=none")
    assert "error" not in state, state
    assert state["frames"] >= 1 and state["camera"] == [0, 0, 0]
    assert browser.run("return document.getElementById('photo3d-status').hidden") is True
    assert browser.run("return !!document.createElement('canvas').getContext('webgl2')") is True
    assert page_errors(browser, url) == []


def test_a_missing_mesh_is_reported(site, browser):
    """The probe and the viewer's own report see a failure (so an empty list above means something)."""
    url, _, _ = site
    state = load(browser, url + "broken.html")
    assert "missing.glb" in state.get("error", ""), state
    assert any("missing.glb" in e for e in page_errors(browser, url))
    assert "missing.glb" in browser.run("return document.getElementById('photo3d-status').textContent")


def test_identity_and_shifted_views_match_photo3ds_own_render(site, browser):
    url, web, k = site
    load(browser, url + "embedded.html#autoplay=none")
    shot = browser.screenshot("#photo3d-canvas")
    assert shot.shape == (HEIGHT, WIDTH, 3)
    assert psnr(centre(shot), centre(own_render(web, k, [0, 0, 0]))) >= 30
    camera = [0.012, -0.008, 0.03]
    state = load(browser, url + "embedded.html#camera=" + ",".join(map(str, camera)))
    np.testing.assert_allclose(state["camera"], camera, atol=1e-9)
    shot = browser.screenshot("#photo3d-canvas")
    shifted = own_render(web, k, camera)
    assert psnr(centre(shot), centre(shifted)) >= 28
    assert psnr(centre(shot), centre(shifted)) > psnr(centre(shot), centre(own_render(web, k, [0, 0, 0]))) + 3
    assert page_errors(browser, url) == []


def red_centroid_x(image: np.ndarray) -> float:
    red = (image[..., 0] > 150) & (image[..., 1] < 100) & (image[..., 2] < 100)
    return float(np.nonzero(red)[1].mean())


def test_dragging_right_moves_the_foreground_right(site, browser):
    url, web, k = site
    load(browser, url + "embedded.html#autoplay=none")
    before = browser.screenshot("#photo3d-canvas")
    box = browser.run("return document.getElementById('photo3d-canvas').getBoundingClientRect().toJSON()")
    x, y = box["left"] + box["width"] / 2, box["top"] + box["height"] / 2
    browser.drag(x, y, x + box["width"] / 4, y)
    # after two more animation frames, so that the moved camera has been drawn
    camera = np.array(browser.run_async("window.photo3dViewer.then(function (v) { requestAnimationFrame(function () { "
                                        "requestAnimationFrame(function () { done(v.camera()); }); }); })"))
    after = browser.screenshot("#photo3d-canvas")
    assert camera[0] < 0 and abs(camera[1]) < 1e-9  # grabbing: the camera moves against the pointer
    assert red_centroid_x(after) > red_centroid_x(before) + 1  # the near square follows the pointer
    mirrored = camera * [-1, 1, 1]
    assert psnr(centre(after), centre(own_render(web, k, camera))) > psnr(centre(after), centre(own_render(web, k, mirrored)))
    assert page_errors(browser, url) == []


def test_tilting_moves_the_camera(site, browser):
    url, _, _ = site
    load(browser, url + "embedded.html#autoplay=none")
    if not browser.run("return typeof DeviceOrientationEvent === 'function'"):
        pytest.skip("this engine has no DeviceOrientationEvent (WebKitGTK is built without it; iOS has it)")
    tilt = "window.dispatchEvent(new DeviceOrientationEvent('deviceorientation', {alpha: 0, beta: arguments[0], gamma: arguments[1]}))"
    bounds = np.asarray(browser.run_async("window.photo3dViewer.then(function (v) { done(v.bounds); })"))
    browser.run(tilt, 40, 0)  # where the phone is when tilting begins
    browser.run(tilt, 40, 10)  # right edge down by 10 degrees: half of the way to the right end
    camera = browser.run_async("window.photo3dViewer.then(function (v) { done(v.camera()); })")
    mid, half = bounds.mean(axis=0), (bounds[1] - bounds[0]) / 2
    np.testing.assert_allclose(camera[:2], [mid[0] + 0.5 * half[0], mid[1]], atol=1e-9)
    assert page_errors(browser, url) == []
