"""Weight lookup, safe loading with clear errors, and downloading from a local HTTP server."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from photo3d import weights
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
    # the live mirror first, then the reference's own (often dead) link; pinned hashes
    assert weights.REGISTRY["edge"].url.startswith("https://huggingface.co/spaces/Epoching/3D_Photo_Inpainting/")
    assert weights.REGISTRY["edge"].urls[-1].endswith("/3DPhoto/model/edge-model.pth")
    assert all(len(weights.REGISTRY[k].sha256) == 64 for k in ("edge", "depth", "color"))
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

# Downloading is tested in tests/test_downloads.py (a server on 127.0.0.1).
