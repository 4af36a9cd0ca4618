"""Downloading weights (issue 12) against a server each test starts on 127.0.0.1: mirrors
tried in order (after a 404, after a hang), pinned hashes, schema checks for files without
one, HTML pages / truncated / random files never installed, resumable ``.part``, offline
variables, ``--no-download``, first use, and ``weights list`` verified/unverified/corrupt."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import logging
import threading
import time

import numpy as np
import pytest
import torch

from photo3d import weights
from photo3d.cli import weights as weights_cli
from photo3d.errors import Photo3DError


class Server:
    """Serves ``files[path]`` with Range support; ``modes[path]`` changes the answer:
    "hang" (no answer), "html" (an HTML page), "truncate" (half the bytes, then close),
    "truncate-norange" (the same from a server that takes no ranges)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                mode = server.modes.get(self.path, "")
                if mode == "hang":
                    time.sleep(3)
                    return
                if mode == "html":
                    body = b"<!DOCTYPE html><html><body>Index of /checkpoints</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start, rng = 0, self.headers.get("Range")
                ranges = "norange" not in mode
                if rng and ranges:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                if ranges:
                    self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                end = start + (len(data) - start) // 2 if mode.startswith("truncate") else len(data)
                self.wfile.write(data[start:end])
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.delenv("PHOTO3D_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("PHOTO3D_WEIGHTS_URL", raising=False)
    monkeypatch.setenv("PHOTO3D_CONNECT_TIMEOUT", "0.3")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PHOTO3D_CHECKPOINTS", str(tmp_path / "none"))
    monkeypatch.setattr(weights, "project_checkpoints_dir", lambda: tmp_path / "project")
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def state_dict_bytes(seed: int = 0) -> bytes:
    """A small torch state dict file: {"w": (2, 3), "b": (3,)}."""
    g = torch.Generator().manual_seed(seed)
    buffer = io.BytesIO()
    torch.save({"w": torch.randn(2, 3, generator=g), "b": torch.randn(3, generator=g)}, buffer)
    return buffer.getvalue()


def pinned(monkeypatch, server: Server, data: bytes, *paths: str, name: str = "edge") -> weights.WeightSpec:
    """Registry entry ``name`` pointed at ``paths`` of the server, its sha256 pinned to ``data``'s."""
    urls = [server.url + p for p in paths]
    spec = dataclasses.replace(weights.REGISTRY[name], url=urls[0], mirrors=tuple(urls[1:]),
                               sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(weights.REGISTRY, name, spec)
    return spec


def unpinned(monkeypatch, server: Server, *paths: str, name: str = "depth_anything_v2_vits") -> weights.WeightSpec:
    """Registry entry ``name`` pointed at the server, no sha256, schema {"w": (2, 3)}."""
    urls = [server.url + p for p in paths]
    spec = dataclasses.replace(weights.REGISTRY[name], url=urls[0], mirrors=tuple(urls[1:]), sha256=None,
                               schema=(("w", (2, 3)),))
    monkeypatch.setitem(weights.REGISTRY, name, spec)
    return spec


def test_mirror_after_a_404_and_the_hash_checked(server, monkeypatch, tmp_path):
    data = state_dict_bytes()
    server.files["/b/edge-model.pth"] = data
    pinned(monkeypatch, server, data, "/a/edge-model.pth", "/b/edge-model.pth")
    path = weights.download_one("edge", tmp_path / "dl", progress=False)
    assert path.read_bytes() == data and sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["edge-model.pth"]
    assert [r[0] for r in server.requests] == ["/a/edge-model.pth", "/b/edge-model.pth"]
    assert weights.weight_status("edge", path) == "verified"


def test_mirror_after_a_hang_within_the_connect_timeout(server, monkeypatch, tmp_path):
    data = state_dict_bytes()
    server.files["/b/edge-model.pth"] = data
    server.modes["/a/edge-model.pth"] = "hang"
    pinned(monkeypatch, server, data, "/a/edge-model.pth", "/b/edge-model.pth")
    start = time.perf_counter()
    assert weights.download_one("edge", tmp_path, progress=False).read_bytes() == data
    assert time.perf_counter() - start < 2.5


@pytest.mark.parametrize("problem, needle", [
    ("mismatch", "sha256 mismatch"), ("html", "HTML page"), ("hang", "no answer"), ("404", "HTTP 404")])
def test_a_bad_download_is_never_installed(server, monkeypatch, tmp_path, problem, needle):
    data = state_dict_bytes()
    server.files["/a/edge-model.pth"] = b"<random bytes>" * 100 if problem == "mismatch" else data
    if problem in ("html", "hang"):
        server.modes["/a/edge-model.pth"] = problem
    pinned(monkeypatch, server, data, "/a/edge-model.pth" if problem != "404" else "/gone/edge-model.pth")
    with pytest.raises(Photo3DError) as info:
        weights.download_one("edge", tmp_path, progress=False)
    message = str(info.value)
    assert needle in message and server.url in message and "\n" not in message
    assert "weights_only" not in message
    assert list(tmp_path.iterdir()) == []


def test_the_cli_reports_a_bad_download_in_one_line_with_exit_2(server, monkeypatch, tmp_path, capsys):
    server.modes["/a/edge-model.pth"] = "html"
    pinned(monkeypatch, server, b"x", "/a/edge-model.pth")
    assert weights_cli.main(["download", "edge", "--dir", str(tmp_path / "dl"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTML page" in err
    assert list((tmp_path / "dl").iterdir()) == []
    (tmp_path / "file").write_text("x")
    assert weights_cli.main(["download", "edge", "--dir", str(tmp_path / "file"), "--quiet"]) == 2


def test_a_truncated_download_keeps_a_part_that_resumes(server, monkeypatch, tmp_path):
    data = state_dict_bytes() * 3  # any bytes: only the pinned hash matters
    server.files["/a/edge-model.pth"] = data
    server.modes["/a/edge-model.pth"] = "truncate"
    pinned(monkeypatch, server, data, "/a/edge-model.pth")
    with pytest.raises(Photo3DError, match="incomplete.*run again to resume"):
        weights.download_one("edge", tmp_path, progress=False)
    part = tmp_path / "edge-model.pth.part"
    assert part.stat().st_size == len(data) // 2 and not (tmp_path / "edge-model.pth").exists()
    del server.modes["/a/edge-model.pth"]
    assert weights.download_one("edge", tmp_path, progress=False).read_bytes() == data
    assert server.requests[-1] == ("/a/edge-model.pth", f"bytes={len(data) // 2}-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge-model.pth"]


def test_a_truncated_download_without_range_support_leaves_nothing(server, monkeypatch, tmp_path):
    data = state_dict_bytes()
    server.files["/a/edge-model.pth"] = data
    server.modes["/a/edge-model.pth"] = "truncate-norange"
    pinned(monkeypatch, server, data, "/a/edge-model.pth")
    with pytest.raises(Photo3DError, match="incomplete"):
        weights.download_one("edge", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_file_without_a_pinned_hash_is_installed_only_with_the_expected_schema(server, monkeypatch, tmp_path,
                                                                                 capsys):
    good = state_dict_bytes()
    buffer = io.BytesIO()
    torch.save({"other": torch.zeros(4)}, buffer)
    server.files["/a/depth_anything_v2_vits.pth"] = buffer.getvalue()  # loads, wrong schema
    server.files["/b/depth_anything_v2_vits.pth"] = b"\x00" * 5000  # random bytes
    server.files["/c/depth_anything_v2_vits.pth"] = good
    unpinned(monkeypatch, server, "/a/depth_anything_v2_vits.pth", "/b/depth_anything_v2_vits.pth",
             "/c/depth_anything_v2_vits.pth")
    path = weights.download_one("depth_anything_v2_vits", tmp_path, progress=False)
    assert path.read_bytes() == good
    recorded = weights.recorded_hash_path(path)
    assert recorded.read_text().split()[0] == hashlib.sha256(good).hexdigest()
    assert weights.weight_status("depth_anything_v2_vits", path) == "verified"
    path.write_bytes(good[:-10])
    assert weights.weight_status("depth_anything_v2_vits", path) == "corrupt"
    recorded.unlink()
    assert weights.weight_status("depth_anything_v2_vits", path) == "unverified"


def test_weights_list_shows_verified_unverified_corrupt(server, monkeypatch, tmp_path, capsys):
    data = state_dict_bytes()
    pinned(monkeypatch, server, data, "/a/edge-model.pth", name="edge")
    pinned(monkeypatch, server, data, "/a/depth-model.pth", name="depth")
    folder = tmp_path / "ck"
    folder.mkdir()
    (folder / "edge-model.pth").write_bytes(data)
    (folder / "depth-model.pth").write_bytes(data[:-1])
    (folder / "depth_anything_v2_vits.pth").write_bytes(data)
    assert weights_cli.main(["list", "--dir", str(folder)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "verified" in lines["edge"] and "corrupt" in lines["depth"]
    assert "unverified" in lines["depth_anything_v2_vits"] and "MISSING" in lines["color"]


@pytest.mark.parametrize("var", ["PHOTO3D_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_variables_switch_downloads_off(server, monkeypatch, tmp_path, var):
    data = state_dict_bytes()
    server.files["/a/edge-model.pth"] = data
    pinned(monkeypatch, server, data, "/a/edge-model.pth")
    monkeypatch.setenv(var, "1")
    with pytest.raises(Photo3DError, match=var):
        weights.download_one("edge", tmp_path, progress=False)
    assert weights.ensure_weights("edge", allow_download=True) is None
    assert server.requests == []


def _photo(tmp_path):
    import cv2

    yy, xx = np.mgrid[0:48, 0:64]
    cv2.imwrite(str(tmp_path / "p.png"), np.stack([xx * 4, yy * 5, xx * 0 + 90], 2).astype(np.uint8))
    return tmp_path / "p.png"


def _run(args, capsys) -> tuple[int, str]:
    from photo3d.cli import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_no_download_flag_and_offline_fall_back_to_the_prior_with_one_warning(server, monkeypatch, tmp_path, capsys):
    server.files["/a/depth_anything_v2_vits.pth"] = state_dict_bytes()
    unpinned(monkeypatch, server, "/a/depth_anything_v2_vits.pth")
    base = ["--image", _photo(tmp_path), "--out", tmp_path / "out", "--inpaint", "fill", "--quiet",
            "--longer-side", "64", "--paths", "none"]
    code, err = _run([*base, "--no-download"], capsys)
    assert code == 0 and server.requests == [] and err.count("warning") == 1 and "heuristic" in err
    monkeypatch.setenv("PHOTO3D_OFFLINE", "1")
    code, err = _run(base, capsys)
    assert code == 0 and server.requests == [] and err.count("warning") == 1


def test_an_unreachable_mirror_falls_back_to_the_prior_within_seconds(server, monkeypatch, tmp_path, capsys):
    server.modes["/a/depth_anything_v2_vits.pth"] = "hang"
    unpinned(monkeypatch, server, "/a/depth_anything_v2_vits.pth")
    start = time.perf_counter()
    code, err = _run(["--image", _photo(tmp_path), "--out", tmp_path / "out", "--inpaint", "fill", "--quiet",
                      "--longer-side", "64", "--paths", "none"], capsys)
    assert code == 0 and time.perf_counter() - start < 10
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert any("no answer" in w and "heuristic" in w for w in warnings), err
    assert not any(p.name.endswith(".part") for p in (tmp_path / "cache").rglob("*"))


def test_first_use_downloads_depth_anything_and_uses_it(server, monkeypatch, tmp_path, caplog):
    from photo3d.depth import resolve_depth
    from photo3d.depth.depth_anything import DepthAnythingV2Small

    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(DepthAnythingV2Small().state_dict(), buffer)
    server.files["/hf/depth_anything_v2_vits.pth"] = buffer.getvalue()
    spec = dataclasses.replace(weights.REGISTRY["depth_anything_v2_vits"],
                               url=server.url + "/hf/depth_anything_v2_vits.pth", mirrors=())
    monkeypatch.setitem(weights.REGISTRY, "depth_anything_v2_vits", spec)
    image = np.random.default_rng(0).integers(0, 255, (42, 56, 3), dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        result = resolve_depth(None, image, allow_download=True, model_input_size=56)
    assert result.source == "Depth Anything V2 Small" and result.values.shape == (42, 56)
    assert sum("downloading Depth Anything V2 Small" in r.getMessage() for r in caplog.records) == 1
    installed = tmp_path / "cache" / "photo3d" / "depth_anything_v2_vits.pth"
    assert installed.is_file() and weights.weight_status("depth_anything_v2_vits", installed) == "verified"
    caplog.clear()
    again = resolve_depth(None, image, allow_download=True, model_input_size=56)  # no second download
    assert again.source == result.source and len(server.requests) == 1 and not caplog.records


@pytest.mark.parametrize("variant", ["vits", "vitb", "vitl"])
def test_each_depth_anything_variant_has_the_schema_its_download_is_checked_against(variant):
    from photo3d.depth.depth_anything import DepthAnythingV2, get_variant, variant_of

    with torch.device("meta"):  # shapes only: no memory for the Large weights
        state = DepthAnythingV2(variant).state_dict()
    spec = weights.get_spec(get_variant(variant).weights)
    for key, shape in spec.schema:
        assert tuple(state[key].shape) == shape, (variant, key)
    assert variant_of(state, "x.pth").name == variant
    assert (spec.licence == "Apache-2.0") == get_variant(variant).commercial_use


def test_a_pickled_object_is_refused_without_suggesting_weights_only_false(tmp_path):
    path = tmp_path / "object.pth"
    torch.save({"w": torch.zeros(2), "obj": Server}, path)
    with pytest.raises(Photo3DError) as info:
        weights.load_state_dict(path)
    assert "weights_only" not in str(info.value) and "never unpickles" in str(info.value)


def test_a_non_commercial_variant_prints_its_licence_once(monkeypatch, tmp_path, caplog):
    from photo3d.depth import resolve as resolve_module

    monkeypatch.setattr(resolve_module, "_LICENCES_SHOWN", set())
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        resolve_module._note_licence("vitb")
        resolve_module._note_licence("vitb")
        resolve_module._note_licence("vits")
    assert [r.getMessage().count("CC-BY-NC-4.0") for r in caplog.records] == [1]


def test_auto_inpainting_tries_the_networks_once_then_fills_with_one_warning(server, monkeypatch, tmp_path, capsys):
    server.modes["/a/edge-model.pth"] = "hang"
    pinned(monkeypatch, server, b"x", "/a/edge-model.pth", name="edge")
    image = _photo(tmp_path)
    np.save(tmp_path / "d.npy", np.linspace(1, 2, 48 * 64, dtype=np.float32).reshape(48, 64))
    code, err = _run(["--image", image, "--depth", tmp_path / "d.npy", "--out", tmp_path / "out", "--quiet",
                      "--longer-side", "64", "--paths", "none"], capsys)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert code == 0 and len(warnings) == 1, err  # no server answered: no note, one line with the fallback
    assert "no answer" in warnings[0] and "non-learned fill" in warnings[0]
    assert [r[0] for r in server.requests] == ["/a/edge-model.pth"]


def test_two_processes_downloading_one_file_take_turns(server, monkeypatch, tmp_path):
    data = state_dict_bytes()
    server.files["/a/edge-model.pth"] = data
    pinned(monkeypatch, server, data, "/a/edge-model.pth")
    results = []
    threads = [threading.Thread(target=lambda: results.append(weights.download_one("edge", tmp_path, progress=False)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(server.requests) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edge-model.pth"]
