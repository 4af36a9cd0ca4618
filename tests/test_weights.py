"""Weight lookup, safe loading with clear errors, and downloading from a local HTTP server."""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from photo3d import weights
from photo3d.cli import weights as weights_cli
from photo3d.errors import Photo3DError


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    """Empty arg/env/project/cache directories; returns them as a dict."""
    dirs = {k: tmp_path / k for k in ("arg", "env", "project", "xdg")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("PHOTO3D_CHECKPOINTS", str(dirs["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["xdg"]))
    monkeypatch.setattr(weights, "project_checkpoints_dir", lambda: dirs["project"])
    return dirs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


# --------------------------------------------------------------------------- lookup

def test_lookup_order(isolated_dirs):
    d = isolated_dirs
    cache = d["xdg"] / "photo3d"
    assert weights.cache_dir() == cache
    assert weights.search_dirs(d["arg"]) == [d["arg"], d["env"], d["project"], cache]
    assert weights.find_weights("edge", d["arg"]) is None

    # Each newly added, higher-priority location wins over the previous ones.
    assert weights.find_weights("edge", d["arg"]) is None
    expected = _touch(cache / "edge-model.pth")
    assert weights.find_weights("edge", d["arg"]) == expected
    expected = _touch(d["project"] / "edge-model.pth")
    assert weights.find_weights("edge", d["arg"]) == expected
    expected = _touch(d["env"] / "edge-model.pth")
    assert weights.find_weights("edge", d["arg"]) == expected
    expected = _touch(d["arg"] / "edge-model.pth")
    assert weights.find_weights("edge", d["arg"]) == expected
    # Without the argument the env directory is first.
    assert weights.find_weights("edge") == d["env"] / "edge-model.pth"
    # Other names are independent.
    assert weights.find_weights("color", d["arg"]) is None


def test_lookup_default_cache_and_safetensors(isolated_dirs, monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv("PHOTO3D_CHECKPOINTS")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert weights.cache_dir() == tmp_path / "home" / ".cache" / "photo3d"
    st = _touch(tmp_path / "home" / ".cache" / "photo3d" / "depth_anything_v2_vits.safetensors")
    assert weights.find_weights("depth_anything_v2_vits") == st
    # In one directory the reference name is preferred over the .safetensors file.
    pth = _touch(st.with_suffix(".pth"))
    assert weights.find_weights("depth_anything_v2_vits") == pth


def test_unknown_name():
    with pytest.raises(Photo3DError, match="unknown weights 'nope'.*edge"):
        weights.find_weights("nope")


def test_registry_urls():
    assert weights.REGISTRY["edge"].url.endswith("/3DPhoto/model/edge-model.pth")
    assert weights.REGISTRY["depth_anything_v2_vits"].url == (
        "https://huggingface.co/depth-anything/Depth-Anything-V2-Small/resolve/main/"
        "depth_anything_v2_vits.pth")


# --------------------------------------------------------------------------- loading

def _small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))


def test_load_pth_safetensors_and_wrappers(tmp_path):
    sd = _small_net().state_dict()
    plain = tmp_path / "plain.pth"
    torch.save(sd, plain)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"epoch": 3, "state_dict": sd}, wrapped)
    st = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(st))
    for path in (plain, wrapped, st):
        loaded = weights.load_state_dict(path)
        assert sorted(loaded) == sorted(sd)  # safetensors stores keys sorted
        for k in sd:
            torch.testing.assert_close(loaded[k], sd[k], rtol=0, atol=0)
        net = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
        weights.load_into(net, loaded, path)
        torch.testing.assert_close(net[0].weight, sd["0.weight"], rtol=0, atol=0)


def test_load_damaged_and_non_state_dict(tmp_path):
    good = tmp_path / "good.pth"
    torch.save(_small_net().state_dict(), good)
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(Photo3DError, match="damaged.pth: cannot read weights"):
        weights.load_state_dict(damaged)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(Photo3DError, match="garbage.safetensors: cannot read weights"):
        weights.load_state_dict(garbage)
    not_sd = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], not_sd)
    with pytest.raises(Photo3DError, match="list.pth: does not contain a state dict"):
        weights.load_state_dict(not_sd)
    with pytest.raises(Photo3DError, match="absent.pth: weight file not found"):
        weights.load_state_dict(tmp_path / "absent.pth")


def test_load_refuses_pickled_objects(tmp_path):
    """weights_only=True: arbitrary pickled classes are refused, not executed."""
    evil = tmp_path / "object.pth"
    torch.save({"w": torch.zeros(1), "obj": argparse.Namespace(a=1)}, evil)
    with pytest.raises(Photo3DError, match="object.pth: cannot read weights"):
        weights.load_state_dict(evil)


def test_load_into_reports_wrong_keys_and_shapes():
    net = _small_net()
    sd = dict(net.state_dict())
    sd.pop("1.running_var")
    sd["extra.weight"] = torch.zeros(1)
    sd["0.weight"] = torch.zeros(3, 2, 5, 5)
    with pytest.raises(Photo3DError) as info:
        weights.load_into(_small_net(), sd, "ckpt.pth")
    msg = str(info.value)
    assert msg.startswith("ckpt.pth: weights do not fit Sequential")
    assert "missing 1 key(s): 1.running_var" in msg
    assert "unexpected 1 key(s): extra.weight" in msg
    assert "0.weight (3, 2, 5, 5) != (3, 2, 3, 3)" in msg
    assert "\n" not in msg


def test_load_into_truncates_long_lists():
    net = torch.nn.Sequential(*[torch.nn.Linear(1, 1) for _ in range(20)])
    with pytest.raises(Photo3DError, match=r"missing 40 key\(s\): .*\.\.\. \(32 more\)"):
        weights.load_into(net, {}, "empty.pth")


# --------------------------------------------------------------------------- download

class _Server:
    """A 127.0.0.1 HTTP server in a thread serving in-memory files with Range support."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.status_override: int | None = None
        self.ignore_range = False
        self.truncate_to: int | None = None  # send only this many bytes, then close
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                range_header = self.headers.get("Range")
                server.requests.append((self.path, range_header))
                if server.status_override is not None:
                    self.send_error(server.status_override)
                    return
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                start = 0
                if range_header and not server.ignore_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                end = len(data) if server.truncate_to is None else server.truncate_to
                self.wfile.write(data[start:end])
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with _Server() as s:
        yield s


def _payload(n: int = 300_000) -> bytes:
    return bytes(torch.randint(0, 256, (n,), generator=torch.Generator().manual_seed(1),
                               dtype=torch.uint8).tolist())


def test_download_success(server, tmp_path, isolated_dirs):
    data = _payload()
    server.files["edge-model.pth"] = data
    server.files["color-model.pth"] = data[:1000]
    paths = weights.download(["edge", "color"], tmp_path / "dl", base_url=server.url,
                             progress=False)
    assert paths == [tmp_path / "dl" / "edge-model.pth", tmp_path / "dl" / "color-model.pth"]
    assert paths[0].read_bytes() == data and paths[1].read_bytes() == data[:1000]
    assert not list((tmp_path / "dl").glob("*.part"))
    assert server.requests[0] == ("/files/edge-model.pth", None)
    # Already present: no new request.
    weights.download(["edge"], tmp_path / "dl", base_url=server.url, progress=False)
    assert len(server.requests) == 2


def test_download_default_dir_env_url_and_cli(server, isolated_dirs, monkeypatch, capsys):
    server.files["depth-model.pth"] = b"abc" * 1000
    monkeypatch.setenv("PHOTO3D_WEIGHTS_URL", server.url + "/")
    assert weights_cli.main(["download", "depth", "--quiet"]) == 0
    target = isolated_dirs["xdg"] / "photo3d" / "depth-model.pth"
    assert target.read_bytes() == b"abc" * 1000
    assert str(target) in capsys.readouterr().out
    assert weights_cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert str(target) in out
    assert "missing: edge color depth_anything_v2_vits" in out


def test_download_resumes_partial_file(server, tmp_path):
    data = _payload()
    server.files["edge-model.pth"] = data
    dest = tmp_path / "dl"
    dest.mkdir()
    (dest / "edge-model.pth.part").write_bytes(data[:123_456])
    path = weights.download_one("edge", dest, base_url=server.url, progress=False)
    assert path.read_bytes() == data
    assert server.requests == [("/files/edge-model.pth", "bytes=123456-")]
    assert not (dest / "edge-model.pth.part").exists()


def test_download_interrupted_then_resumed(server, tmp_path):
    data = _payload()
    server.files["color-model.pth"] = data
    server.truncate_to = 100_000
    with pytest.raises(Photo3DError, match="color-model.pth: download (interrupted|incomplete).*"
                                           "run again to resume"):
        weights.download_one("color", tmp_path, base_url=server.url, progress=False)
    assert (tmp_path / "color-model.pth.part").stat().st_size == 100_000
    assert not (tmp_path / "color-model.pth").exists()
    server.truncate_to = None
    path = weights.download_one("color", tmp_path, base_url=server.url, progress=False)
    assert path.read_bytes() == data
    assert server.requests[-1] == ("/files/color-model.pth", "bytes=100000-")


def test_download_restarts_when_server_ignores_range(server, tmp_path):
    data = _payload(50_000)
    server.files["edge-model.pth"] = data
    server.ignore_range = True
    (tmp_path / "edge-model.pth.part").write_bytes(b"stale bytes")
    path = weights.download_one("edge", tmp_path, base_url=server.url, progress=False)
    assert path.read_bytes() == data


def test_download_bad_hash_deletes_file(server, tmp_path, monkeypatch):
    data = _payload(5000)
    server.files["edge-model.pth"] = data
    spec = weights.REGISTRY["edge"]
    monkeypatch.setitem(weights.REGISTRY, "edge",
                        dataclasses.replace(spec, sha256=hashlib.sha256(b"other").hexdigest()))
    with pytest.raises(Photo3DError, match="sha256 mismatch for edge-model.pth"):
        weights.download_one("edge", tmp_path, base_url=server.url, progress=False)
    assert list(tmp_path.iterdir()) == []
    # The right hash passes.
    monkeypatch.setitem(weights.REGISTRY, "edge",
                        dataclasses.replace(spec, sha256=hashlib.sha256(data).hexdigest()))
    assert weights.download_one("edge", tmp_path, base_url=server.url,
                                progress=False).read_bytes() == data


def test_download_server_errors(server, tmp_path, capsys):
    with pytest.raises(Photo3DError, match=r"edge-model.pth: download failed \(HTTP 404"):
        weights.download(["edge"], tmp_path, base_url=server.url, progress=False)
    server.files["edge-model.pth"] = b"x"
    server.status_override = 500
    with pytest.raises(Photo3DError, match=r"download failed \(HTTP 500"):
        weights.download(["edge"], tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / "edge-model.pth").exists()
    assert weights_cli.main(["download", "edge", "--dir", str(tmp_path), "--url", server.url,
                         "--quiet"]) == 2
    assert "HTTP 500" in capsys.readouterr().err
    with pytest.raises(Photo3DError, match="unknown weights"):
        weights.download(["edge", "bogus"], tmp_path, base_url=server.url, progress=False)
