"""The viewer page in a real browser: headless Chromium (Debian's ``chromium``, driven by the
``playwright`` package; skipped with the reason where either is missing) loads it from a local
server with no console error and no request beyond its own files; its pictures match
photo3d's own render of the same web mesh, at the input camera and at a shifted camera; a
drag moves the view the way the viewer promises (the scene follows the pointer)."""
from __future__ import annotations

import os
import shutil

import cv2
import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.render import Renderer
from photo3d.web.glb import read_web_glb
from photo3d.web.serve import start_server
from scenes import centre, psnr, small_config, square_scene

CHROMIUM = os.environ.get("PHOTO3D_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no chromium executable (Debian: apt-get install chromium; or set PHOTO3D_CHROMIUM)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
WIDTH, HEIGHT = 256, 192


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder with a page that embeds the mesh and one that loads it from beside, served on
    127.0.0.1; yields (base URL, web RenderMesh, intrinsics, foreground mask)."""
    folder = tmp_path_factory.mktemp("site")
    image, depth, fg = square_scene(HEIGHT, WIDTH)
    with Photo3D.from_rgbd(image, depth, config=small_config(longer_side=WIDTH)) as p3d:
        p3d.save_html(folder / "embedded.html")
        p3d.save_html(folder / "beside.html", embed=False)
        p3d.config.output.web_max_mb = 0.01  # over any budget: the atlas as JPEG
        p3d.save_html(folder / "jpeg.html", embed=False)
    web, k, _ = read_web_glb(folder / "beside_web.glb")
    server, url = start_server(folder)
    yield url, web, k
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with its console errors and every request it made."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.evaluate("window.photo3dViewer.then(v => v.frames())")

    def shot(self) -> np.ndarray:
        png = self.page.locator("#photo3d-canvas").screenshot()
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]

    def set_camera(self, c) -> None:
        self.page.evaluate(f"window.photo3dViewer.then(v => v.setCamera({list(map(float, c))}))")
        self.page.wait_for_timeout(100)

    def camera(self) -> np.ndarray:
        return np.array(self.page.evaluate("window.photo3dViewer.then(v => v.camera())"))


def own_render(web, k, camera) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, 3] = camera
    with Renderer(k.width, k.height) as renderer:
        renderer.set_mesh(web)
        return renderer.render(pose, k)[0]


@pytest.mark.parametrize("name", ["embedded.html", "beside.html"])
def test_page_loads_with_no_console_error_and_requests_only_its_own_files(site, browser, name):
    url, _, _ = site
    page = Page(browser, url + name + "#autoplay=none")
    assert page.errors == []
    own = {url + name + "#autoplay=none", url + name} | ({url + "beside_web.glb"} if name == "beside.html" else set())
    assert set(page.requests) <= own, set(page.requests) - own
    page.page.close()


def test_identity_and_shifted_views_match_photo3ds_own_render(site, browser):
    url, web, k = site
    page = Page(browser, url + "embedded.html#autoplay=none")
    shot = page.shot()
    assert shot.shape == (HEIGHT, WIDTH, 3)
    assert psnr(centre(shot), centre(own_render(web, k, [0, 0, 0]))) >= 30
    camera = [0.012, -0.008, 0.03]
    page.set_camera(camera)
    np.testing.assert_allclose(page.camera(), camera, atol=1e-9)
    shot = page.shot()
    assert psnr(centre(shot), centre(own_render(web, k, camera))) >= 28
    page.page.close()


def test_a_jpeg_atlas_draws_like_photo3ds_own_render_of_it(site, browser, tmp_path):
    import urllib.request

    url, _, k = site
    with urllib.request.urlopen(url + "jpeg_web.glb") as response:  # the file the page loads
        (tmp_path / "jpeg_web.glb").write_bytes(response.read())
    web, _, extras = read_web_glb(tmp_path / "jpeg_web.glb")
    assert extras["photo3d"]["texture"]["jpeg_quality"] is not None
    page = Page(browser, url + "jpeg.html#autoplay=none")
    assert page.errors == []
    assert psnr(centre(page.shot()), centre(own_render(web, k, [0, 0, 0]))) >= 30
    page.page.close()


def red_centroid_x(image: np.ndarray) -> float:
    red = (image[..., 0] > 150) & (image[..., 1] < 100) & (image[..., 2] < 100)
    return float(np.nonzero(red)[1].mean())


def test_dragging_right_moves_the_foreground_right(site, browser):
    url, web, k = site
    page = Page(browser, url + "embedded.html#autoplay=none")
    before = page.shot()
    page.page.mouse.move(WIDTH // 2, HEIGHT // 2)
    page.page.mouse.down()
    page.page.mouse.move(WIDTH // 2 + WIDTH // 4, HEIGHT // 2, steps=5)
    page.page.mouse.up()
    page.page.wait_for_timeout(100)
    camera = page.camera()
    after = page.shot()
    assert camera[0] < 0 and abs(camera[1]) < 1e-9  # grabbing: the camera moves against the pointer
    assert red_centroid_x(after) > red_centroid_x(before) + 1  # the near square follows the pointer
    mirrored = camera * [-1, 1, 1]
    assert psnr(centre(after), centre(own_render(web, k, camera))) > psnr(centre(after), centre(own_render(web, k, mirrored)))
    page.page.close()


def test_autoplay_moves_the_camera_along_the_path(site, browser):
    url, _, _ = site
    page = Page(browser, url + "embedded.html")
    first = page.camera()
    page.page.wait_for_timeout(400)
    assert np.abs(page.camera() - first).max() > 0
    assert page.errors == []
    page.page.close()


# iOS's permission API, stubbed: counts its calls, answers window.tiltAnswer ("granted" unless
# set). (Chromium has the function too; on iOS no event arrives before it was granted.)
IOS_PERMISSION = """
DeviceOrientationEvent.requestPermission = function () {
  window.permissionAsked = (window.permissionAsked || 0) + 1;
  return Promise.resolve(window.tiltAnswer || "granted");
};
"""
NO_PERMISSION_API = "delete DeviceOrientationEvent.requestPermission;"


def tilt(page, gamma: float, beta: float) -> None:
    page.evaluate(f"window.dispatchEvent(new DeviceOrientationEvent('deviceorientation', {{alpha: 0, beta: {beta}, gamma: {gamma}}}))")


def tilt_page(browser, url: str, init: str, touch: bool = True):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, has_touch=touch)
    page.add_init_script(init)
    page.goto(url + "embedded.html#autoplay=none")
    bounds = page.evaluate("window.photo3dViewer.then(v => v.bounds)")
    return page, np.asarray(bounds)


def viewer_camera(page) -> np.ndarray:
    return np.array(page.evaluate("window.photo3dViewer.then(v => v.camera())"))


def test_ios_tilt_asks_permission_on_a_tap_then_tilting_moves_the_camera(site, browser):
    url, _, _ = site
    page, bounds = tilt_page(browser, url, IOS_PERMISSION)
    button = page.locator("#photo3d-tilt")
    assert page.evaluate("navigator.maxTouchPoints") > 0 and button.is_visible()
    page.wait_for_timeout(100)
    assert page.evaluate("window.permissionAsked || 0") == 0  # never asked without a gesture
    button.click()
    page.wait_for_function("document.getElementById('photo3d-tilt').hidden")
    assert page.evaluate("window.permissionAsked") == 1
    tilt(page, 0, 40)  # where the phone is when tilting begins: the camera stays
    assert np.all(viewer_camera(page) == 0)
    tilt(page, 10, 40)  # right edge down by 10 degrees: half of the way to the right end
    mid, half = bounds.mean(axis=0), (bounds[1] - bounds[0]) / 2
    np.testing.assert_allclose(viewer_camera(page)[:2], [mid[0] + 0.5 * half[0], mid[1]], atol=1e-9)
    tilt(page, 10, 40.2)  # sensor noise of a phone held still: nothing moves
    np.testing.assert_allclose(viewer_camera(page)[:2], [mid[0] + 0.5 * half[0], mid[1]], atol=1e-9)
    tilt(page, 60, 20)  # beyond 20 degrees: held at the ends of the range
    np.testing.assert_allclose(viewer_camera(page)[:2], [bounds[1][0], mid[1] - half[1]], atol=1e-9)
    page.close()


def test_ios_tilt_refused_hides_the_button_and_reports_nothing(site, browser):
    url, _, _ = site
    page, _ = tilt_page(browser, url, IOS_PERMISSION + "window.tiltAnswer = 'denied';")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.locator("#photo3d-tilt").click()
    page.wait_for_function("document.getElementById('photo3d-tilt').hidden")
    assert page.evaluate("window.permissionAsked") == 1 and errors == []
    page.close()


def test_no_button_without_a_permission_api_or_a_touch_screen(site, browser):
    url, _, _ = site
    for init, touch in [(NO_PERMISSION_API, True), (IOS_PERMISSION, False)]:
        page, _ = tilt_page(browser, url, init, touch)
        assert page.locator("#photo3d-tilt").is_hidden()
        page.close()


def test_tilt_follows_the_screen_rotation_and_needs_no_tap_where_events_come(site, browser):
    """Android: events come without asking (the button goes away); in landscape (screen turned
    by 90 degrees) the device's beta is the screen's left-right tilt."""
    url, _, _ = site
    landscape = "Object.defineProperty(screen, 'orientation', {get: () => ({angle: 90, addEventListener() {}})});"
    page, bounds = tilt_page(browser, url, landscape)
    tilt(page, 0, 0)
    assert page.locator("#photo3d-tilt").is_hidden()
    tilt(page, 0, 10)  # landscape: the phone's top (now at the screen's left) up = the screen's right edge down
    mid, half = bounds.mean(axis=0), (bounds[1] - bounds[0]) / 2
    np.testing.assert_allclose(viewer_camera(page)[:2], [mid[0] + 0.5 * half[0], mid[1]], atol=1e-9)
    page.close()
