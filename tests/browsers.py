"""Firefox and WebKit (Safari's engine) for the viewer tests, driven without Playwright, whose
own builds of those browsers cannot be installed offline: Debian's ``firefox-esr`` through its
Marionette protocol (length-prefixed JSON on a TCP port), Debian's WebKitGTK through
``WebKitWebDriver`` (W3C WebDriver over HTTP) and its MiniBrowser. Both draw WebGL2 with
Mesa's llvmpipe, which needs an X display: a private ``Xvfb`` is started where none is set
(Firefox's ``--headless`` mode has no WebGL here: "Exhausted GL driver options").

Console errors: classic WebDriver has no console log. Firefox writes the page's uncaught errors
to its stdout (pref ``devtools.console.stdout.content``), read back from a file; MiniBrowser
writes nothing in automation mode (it ignores ``--enable-write-console-messages-to-stdout``
there). So the tests serve a copy of each page with ``ERROR_PROBE`` first in its head: it
records console.error calls, uncaught errors and rejections, failed resources and CSP
violations in ``window.photo3dErrors``, for both browsers alike.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np

FIREFOX = os.environ.get("PHOTO3D_FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")
WEBKIT_DRIVER = os.environ.get("PHOTO3D_WEBKIT_DRIVER") or shutil.which("WebKitWebDriver")
MINIBROWSER = next((str(p) for p in sorted(Path("/usr/lib").glob("*/webkit2gtk-4.*/MiniBrowser"))), None)
XVFB = shutil.which("Xvfb")
START_TIMEOUT_S = 90.0
# A loaded machine (CI shares its cores) can take long over a page; the drivers' defaults
# (30 s per script) are too short there.
COMMAND_TIMEOUT_S = 300.0
TIMEOUTS_MS = {"script": 240_000, "pageLoad": 240_000, "implicit": 0}
# Marionette's and WebDriver's name for an element reference in JSON
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"

# Firefox prefs of the throwaway test profile: WebGL on llvmpipe (Firefox blocks software GL
# by default), page console on stdout (not the browser's own), nothing fetched from outside.
FIREFOX_PREFS = {
    "marionette.port": 0,  # a free port, written to the profile's MarionetteActivePort
    "webgl.force-enabled": True,
    "devtools.console.stdout.content": True,
    "devtools.console.stdout.chrome": False,
    "browser.shell.checkDefaultBrowser": False,
    "app.update.disabledForTesting": True,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "services.settings.server": "data:,",
    "extensions.update.enabled": False,
}


# Recording only: the page under test runs unchanged after it (its CSP allows inline scripts).
ERROR_PROBE = """<script>
window.photo3dErrors = [];
addEventListener("error", function (e) {
  photo3dErrors.push("error: " + (e.message || (e.target && (e.target.src || e.target.href)) || e.type));
}, true);
addEventListener("unhandledrejection", function (e) {
  photo3dErrors.push("unhandled rejection: " + ((e.reason && e.reason.message) || e.reason));
});
addEventListener("securitypolicyviolation", function (e) {
  photo3dErrors.push("CSP " + e.violatedDirective + ": " + e.blockedURI);
});
(function (original) {
  console.error = function () {
    photo3dErrors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
})(console.error);
</script>
"""


def with_error_probe(page: str) -> str:
    """The HTML ``page`` with ``ERROR_PROBE`` as the first thing in its head."""
    at = page.index("<head>") + len("<head>")
    return page[:at] + "\n" + ERROR_PROBE + page[at:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reap(proc: subprocess.Popen, timeout_s: float = 20) -> None:
    """Wait for a browser process to end; kill it after ``timeout_s``."""
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait(what: str, ready, timeout_s: float = START_TIMEOUT_S):
    """Poll ``ready()`` until it returns something truthy (returned), or raise after timeout_s."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = ready()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")


def missing(browser: str) -> str | None:
    """Why ``browser`` ('firefox' or 'webkit') cannot run here, or None when it can."""
    need = {"firefox": [("firefox-esr", FIREFOX)],
            "webkit": [("WebKitWebDriver (Debian: webkit2gtk-driver)", WEBKIT_DRIVER), ("MiniBrowser", MINIBROWSER)]}[browser]
    if not os.environ.get("DISPLAY"):
        need.append(("Xvfb (Debian: xvfb) or a DISPLAY", XVFB))
    absent = [name for name, path in need if not path]
    return f"{', '.join(absent)} not installed" if absent else None


class Display:
    """The X display for the browsers: $DISPLAY when set, else a private Xvfb (stopped by close)."""

    def __init__(self):
        self.proc = None
        self.name = os.environ.get("DISPLAY")
        if self.name:
            return
        read, write = os.pipe()
        self.proc = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                     pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            self.close()
            raise RuntimeError("Xvfb did not start")
        self.name = ":" + number

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            _reap(self.proc, 10)
            self.proc = None


class Browser:
    """One browser window: open a URL, run a script, take an element's screenshot, drag."""

    log: Path

    def command(self, name: str, params: dict | None = None):
        raise NotImplementedError

    def open(self, url: str) -> None:
        self.log_mark = self.log.stat().st_size  # errors() reads the log from here on
        self.command("navigate", {"url": url})

    def run_async(self, script: str, *args):
        """Run ``script`` in the page; it finishes by calling ``done(value)``; returns the value."""
        body = "const done = arguments[arguments.length - 1];\n" + script
        return self.command("execute_async", {"script": body, "args": list(args)})

    def run(self, script: str, *args):
        return self.command("execute", {"script": script, "args": list(args)})

    def set_viewport(self, width: int, height: int) -> None:
        """Resize the window so that the page's viewport is width x height CSS px (the
        window's frame measured, not assumed; X without a window manager resizes
        asynchronously). Firefox keeps windows at least 500 px wide."""
        want, seen = [width, height], []
        outer = [width + 200, height + 200]
        for _ in range(20):
            rect = self.command("set_rect", {"width": outer[0], "height": outer[1]})
            time.sleep(0.1)
            inner = self.run("return [innerWidth, innerHeight]")
            if inner == want:
                return
            seen.append(inner)
            if seen[-3:] == [inner] * 3:  # stuck: the window cannot be that size
                break
            outer = [rect["width"] - inner[0] + width, rect["height"] - inner[1] + height]
        raise RuntimeError(f"viewport {inner}, wanted {want}")

    def screenshot(self, css: str) -> np.ndarray:
        """The element's pixels as (H, W, 3) uint8 RGB."""
        element = self.command("find", {"using": "css selector", "value": css})[ELEMENT_KEY]
        png = base64.b64decode(self.command("element_screenshot", {"id": element}))
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]

    def drag(self, x0: float, y0: float, x1: float, y1: float, steps: int = 5) -> None:
        """Press the mouse at viewport (x0, y0), move to (x1, y1) in ``steps``, release."""
        moves = [{"type": "pointerMove", "x": round(x0 + (x1 - x0) * i / steps), "y": round(y0 + (y1 - y0) * i / steps),
                  "origin": "viewport", "duration": 10} for i in range(1, steps + 1)]
        chain = [{"type": "pointerMove", "x": round(x0), "y": round(y0), "origin": "viewport"},
                 {"type": "pointerDown", "button": 0}, *moves, {"type": "pointerUp", "button": 0}]
        self.command("actions", {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                                              "actions": chain}]})

    def log_text(self) -> str:
        """What the browser logged since the last open()."""
        with open(self.log, "rb") as log:
            log.seek(getattr(self, "log_mark", 0))
            return log.read().decode(errors="replace")


class Firefox(Browser):
    """firefox-esr on ``display`` with a fresh profile, driven over Marionette."""

    NAMES: ClassVar[dict[str, str]] = {"navigate": "WebDriver:Navigate", "execute_async": "WebDriver:ExecuteAsyncScript",
             "execute": "WebDriver:ExecuteScript", "find": "WebDriver:FindElement",
             "element_screenshot": "WebDriver:TakeScreenshot", "set_rect": "WebDriver:SetWindowRect",
             "actions": "WebDriver:PerformActions", "timeouts": "WebDriver:SetTimeouts"}

    def __init__(self, display: Display, workdir: Path):
        self.profile = Path(tempfile.mkdtemp(prefix="firefox-profile-", dir=workdir))
        (self.profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                                      for k, v in FIREFOX_PREFS.items()))
        self.log = workdir / "firefox.log"
        env = {**os.environ, "DISPLAY": display.name}
        env.pop("MOZ_HEADLESS", None)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([FIREFOX, "--marionette", "--no-remote", "--new-instance", "--profile", str(self.profile)],
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        port_file = self.profile / "MarionetteActivePort"
        port = _wait("Firefox's Marionette port", lambda: port_file.exists() and port_file.read_text().strip())
        self.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=COMMAND_TIMEOUT_S)
        self.buffer = b""
        self.next_id = 0
        hello = self._receive()
        assert hello.get("marionetteProtocol") == 3, hello
        self.version = self._send("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {}}})["capabilities"]["browserVersion"]
        self.command("timeouts", TIMEOUTS_MS)

    def _receive(self):
        while b":" not in self.buffer:
            self.buffer += self.sock.recv(1 << 16)
        length, rest = self.buffer.split(b":", 1)
        while len(rest) < int(length):
            rest += self.sock.recv(1 << 20)
        self.buffer = rest[int(length):]
        return json.loads(rest[:int(length)])

    def _send(self, name: str, params: dict):
        self.next_id += 1
        data = json.dumps([0, self.next_id, name, params]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        kind, reply_id, error, result = self._receive()
        assert kind == 1 and reply_id == self.next_id
        if error:
            raise RuntimeError(f"{name}: {error.get('error')}: {error.get('message')}")
        return result

    def command(self, name: str, params: dict | None = None):
        params = dict(params or {})
        if name == "element_screenshot":
            params.update(full=False, hash=False, scroll=True)
        result = self._send(self.NAMES[name], params)
        return result.get("value") if isinstance(result, dict) and set(result) == {"value"} else result

    def errors(self, url: str) -> list[str]:
        """Uncaught errors of pages under ``url`` that Firefox logged since the last open()."""
        return [line for line in self.log_text().splitlines() if line.startswith("JavaScript error:") and url in line]

    def close(self) -> None:
        try:
            self._send("Marionette:Quit", {"flags": ["eForceQuit"]})
        except (OSError, RuntimeError, AssertionError):
            pass
        self.sock.close()
        _reap(self.proc)


class WebKit(Browser):
    """WebKitGTK's MiniBrowser on ``display``, driven by WebKitWebDriver (W3C WebDriver)."""

    ROUTES: ClassVar[dict[str, tuple[str, str]]] = {"navigate": ("POST", "/url"), "execute_async": ("POST", "/execute/async"), "execute": ("POST", "/execute/sync"),
              "find": ("POST", "/element"), "element_screenshot": ("GET", "/element/{id}/screenshot"),
              "set_rect": ("POST", "/window/rect"), "actions": ("POST", "/actions"), "timeouts": ("POST", "/timeouts")}

    def __init__(self, display: Display, workdir: Path):
        self.log = workdir / "webkit.log"
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "DISPLAY": display.name}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([WEBKIT_DRIVER, f"--port={port}"], stdout=log, stderr=subprocess.STDOUT, env=env)
        _wait("WebKitWebDriver", self._up)
        options = {"binary": MINIBROWSER, "args": ["--automation"]}
        session = self._http("POST", "/session", {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": options}}})
        self.session = f"/session/{session['sessionId']}"
        self.version = session["capabilities"].get("browserVersion")
        self.command("timeouts", TIMEOUTS_MS)

    def _up(self) -> bool:
        try:
            self._http("GET", "/status")
            return True
        except OSError:
            return False

    def _http(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=COMMAND_TIMEOUT_S) as reply:
                return json.loads(reply.read())["value"]
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{method} {path}: {err.read().decode(errors='replace')}") from None

    def command(self, name: str, params: dict | None = None):
        method, route = self.ROUTES[name]
        params = dict(params or {})
        route = route.format(**params)
        return self._http(method, self.session + route, params if method == "POST" else None)

    def errors(self, url: str) -> list[str]:
        """Nothing: WebKitWebDriver has no console log, and MiniBrowser ignores
        ``--enable-write-console-messages-to-stdout`` in automation mode (see ``ERROR_PROBE``)."""
        return []

    def close(self) -> None:
        try:
            self._http("DELETE", self.session)
        except (OSError, RuntimeError):
            pass
        self.proc.terminate()
        _reap(self.proc)


def launch(browser: str, display: Display, workdir: Path) -> Browser:
    return {"firefox": Firefox, "webkit": WebKit}[browser](display, workdir)
