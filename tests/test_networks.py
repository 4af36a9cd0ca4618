"""Inpainting networks: checkpoint compatibility (reference vectors), strict loading, batching."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from photo3d.inpaint.recipe_weights import recipe_network, recipe_state_dict
from photo3d import weights
from photo3d.errors import Photo3DError
from photo3d.inpaint import load_network
from photo3d.inpaint.batching import padded_size, run_batched
from photo3d.device import pick_device
from photo3d.inpaint.networks import (PartialConv2d, SpectralNormConv2d, build_network,
                                      color_inpaint_net, depth_inpaint_net)

DATA = Path(__file__).resolve().parent / "data"
KINDS = ("edge", "depth", "color")


@pytest.fixture(scope="module")
def recipe_networks():
    return {kind: recipe_network(kind) for kind in KINDS}


# --------------------------------------------------------------------------- compatibility

@pytest.mark.parametrize("kind", KINDS)
def test_reference_vectors(kind, recipe_networks):
    """The reference networks' outputs with the recipe weights are reproduced to 1e-4."""
    vectors = np.load(DATA / f"{kind}_vectors.npz")
    n_inputs = len([k for k in vectors.files if k.startswith("input_")])
    assert n_inputs >= 2
    for i in range(n_inputs):
        with torch.inference_mode():
            out = recipe_networks[kind](torch.from_numpy(vectors[f"input_{i}"]))
        expected = torch.from_numpy(vectors[f"output_{i}"])
        assert out.shape == expected.shape
        assert float((out - expected).abs().max()) < 1e-4, (kind, i)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_matches_schema(kind, shared_compat):
    schema_path = shared_compat / f"{kind}_schema.json"
    if not schema_path.exists():
        pytest.skip(f"reference schema not found at {schema_path}")
    schema = json.loads(schema_path.read_text())["state_dict"]
    sd = build_network(kind).state_dict()
    assert [(e["key"], tuple(e["shape"]), e["dtype"]) for e in schema] == [
        (k, tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in sd.items()]


def test_output_ranges(recipe_networks):
    vectors = np.load(DATA / "color_vectors.npz")
    with torch.inference_mode():
        rgb = recipe_networks["color"](torch.from_numpy(vectors["input_0"]))
    assert rgb.shape[1] == 3 and 0 < float(rgb.min()) and float(rgb.max()) < 1


# --------------------------------------------------------------------------- building blocks

@pytest.mark.parametrize("transposed", [False, True])
def test_spectral_norm_matches_torch(transposed):
    """Eval: weight_orig / (u · W v) with the stored u, v; training: torch's power iteration."""
    torch.manual_seed(0)
    cls = torch.nn.ConvTranspose2d if transposed else torch.nn.Conv2d
    reference = torch.nn.utils.spectral_norm(cls(6, 5, 4, stride=2, padding=1))
    mine = SpectralNormConv2d(6, 5, 4, stride=2, padding=1, transposed=transposed)
    mine.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 6, 8, 8)
    for training in (False, True, True):
        reference.train(training)
        mine.train(training)
        torch.testing.assert_close(mine(x), reference(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(mine.weight_u, reference.weight_u)
    # In eval mode, u and v are not changed.
    mine.eval()
    u = mine.weight_u.clone()
    mine(x)
    assert torch.equal(u, mine.weight_u)


def _partial_conv_reference(conv: torch.nn.Conv2d, x: torch.Tensor, mask: torch.Tensor):
    """The partial convolution written out with a full all-ones mask convolution."""
    out = conv(x * mask)
    bias = conv.bias.view(1, -1, 1, 1) if conv.bias is not None else torch.zeros(1)
    ones = torch.ones_like(conv.weight)
    msum = F.conv2d(mask, ones, None, conv.stride, conv.padding)
    holes = msum == 0
    y = (out - bias) * (ones[0].numel()) / msum.masked_fill(holes, 1) + bias
    return y.masked_fill(holes, 0), (~holes).float()


@pytest.mark.parametrize("bias", [True, False])
def test_partial_conv_matches_full_mask_convolution(bias):
    torch.manual_seed(1)
    layer = PartialConv2d(5, 4, 3, stride=2, bias=bias)
    if bias:
        torch.nn.init.normal_(layer.input_conv.bias)
    x = torch.randn(2, 5, 16, 12)
    # Two mask pieces (3 + 2 channels), sparse so that some windows are empty.
    m1 = (torch.rand(2, 1, 16, 12) > 0.85).float()
    m2 = (torch.rand(2, 1, 16, 12) > 0.9).float()
    full = torch.cat([m1.expand(-1, 3, -1, -1), m2.expand(-1, 2, -1, -1)], dim=1)
    y, new_mask = layer(x, [(m1, 3), (m2, 2)])
    y_ref, mask_ref = _partial_conv_reference(layer.input_conv, x, full)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(new_mask.expand_as(mask_ref), mask_ref)
    assert 0 < float(new_mask.mean()) < 1  # both holes and valid outputs were exercised


def test_partial_conv_renormalisation_does_not_overflow_in_fp16():
    """Regression: under fp16 autocast a bias-free layer multiplied its half-precision output
    by k²·C_in (576 here) before dividing by sum(m), overflowing to inf at the mask's edge."""
    layer = PartialConv2d(64, 2, 3, bias=False).eval()
    with torch.no_grad():
        layer.input_conv.weight.fill_(300.0 / 576)  # output 300 where the window is all valid
    x = torch.ones(1, 64, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4] = 1
    with torch.inference_mode():
        expected, _ = layer(x, [(mask, 64)])
        with torch.autocast("cpu", dtype=torch.float16):
            half, _ = layer(x, [(mask, 64)])
    assert torch.isfinite(half).all()
    torch.testing.assert_close(half.float(), expected, rtol=2e-3, atol=0.0)
    assert float(expected[..., :3].min()) == pytest.approx(300.0, rel=1e-5)  # renormalised, valid side


def test_smaller_variants_and_size_check():
    depth = depth_inpaint_net(base_channels=8, levels=3)
    color = color_inpaint_net(base_channels=8, levels=3)
    edge = build_network("edge", base_channels=8, res_blocks=2)
    assert depth.size_multiple == 8 and edge.size_multiple == 4
    x = torch.rand(1, 6, 16, 24)
    assert color.eval()(x).shape == (1, 3, 16, 24)
    assert depth.eval()(x[:, 2:]).shape == (1, 1, 16, 24)
    assert edge.eval()(torch.rand(1, 7, 12, 16)).shape == (1, 1, 12, 16)
    with pytest.raises(Photo3DError, match="multiples of 4 and at least 12"):
        edge(torch.rand(1, 7, 8, 12))
    with pytest.raises(Photo3DError, match="multiples of 8"):
        depth(torch.rand(1, 4, 16, 20))
    with pytest.raises(Photo3DError, match="unknown network kind 'rgb'"):
        build_network("rgb")


# --------------------------------------------------------------------------- loading

def test_load_network_from_files(tmp_path, recipe_networks):
    sd = recipe_networks["edge"].state_dict()
    pth = tmp_path / "edge-model.pth"
    torch.save(sd, pth)
    st = tmp_path / "edge-model.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(st))
    vectors = np.load(DATA / "edge_vectors.npz")
    x = torch.from_numpy(vectors["input_1"])
    for path in (pth, st):
        net = load_network("edge", path)
        assert not net.training
        with torch.inference_mode():
            assert float((net(x) - torch.from_numpy(vectors["output_1"])).abs().max()) < 1e-4


def test_load_network_lookup_and_missing(tmp_path, monkeypatch, recipe_networks):
    monkeypatch.setenv("PHOTO3D_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(weights, "project_checkpoints_dir", lambda: tmp_path / "project")
    with pytest.raises(Photo3DError, match="edge-model.pth: edge network weights not found.*"
                                           "photo3d weights download edge"):
        load_network("edge")
    torch.save(recipe_networks["edge"].state_dict(), tmp_path / "edge-model.pth")
    net = load_network("edge")
    torch.testing.assert_close(net.decoder_2[1].weight,
                               recipe_networks["edge"].decoder_2[1].weight)
    # checkpoints_dir comes first: an unreadable file there is the one chosen.
    (tmp_path / "first").mkdir()
    (tmp_path / "first" / "edge-model.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(Photo3DError, match="first/edge-model.pth: cannot read weights"):
        load_network("edge", checkpoints_dir=tmp_path / "first")


def test_load_network_wrong_checkpoint(tmp_path, recipe_networks):
    path = tmp_path / "edge-model.pth"
    torch.save(recipe_networks["edge"].state_dict(), path)
    with pytest.raises(Photo3DError) as info:
        load_network("depth", path)
    message = str(info.value)
    assert message.startswith(f"{path}: weights do not fit PartialConvUNet")
    assert "missing 91 key(s): enc_1.conv.input_conv.weight" in message
    assert "unexpected 70 key(s): encoder_0.1.bias" in message


def test_load_into_reports_misshaped_and_bad_mask_weights():
    """Colour weights into a depth net: other decoder names, biases, input channels (6 vs 4)."""
    depth = depth_inpaint_net()
    color_sd = dict(color_inpaint_net(base_channels=64).state_dict())
    with pytest.raises(Photo3DError) as info:
        weights.load_into(depth, color_sd, "color-model.pth")
    message = str(info.value)
    assert "enc_1.conv.input_conv.weight (64, 6, 7, 7) != (64, 4, 7, 7)" in message
    assert "enc_1.conv.mask_conv.weight (64, 6, 7, 7) != (64, 4, 7, 7)" in message
    assert "missing 33 key(s): enc_1.conv.input_conv.bias, enc_2.conv.input_conv.bias, dec_5." in message
    assert "unexpected 31 key(s): dec_5A.conv.input_conv.weight" in message
    assert "... (25 more)" in message and "2 key(s) with wrong shape" in message

    small = depth_inpaint_net(base_channels=4, levels=2)
    sd = recipe_state_dict(small)
    sd["enc_2.conv.mask_conv.weight"] = torch.zeros_like(sd["enc_2.conv.mask_conv.weight"])
    with pytest.raises(Photo3DError, match="damaged.pth: cannot load weights.*enc_2.conv.mask_conv"
                                           ".weight: a partial convolution's mask weight must be all ones"):
        weights.load_into(small, sd, "damaged.pth")


# --------------------------------------------------------------------------- batching

def _small_networks():
    torch.manual_seed(3)
    nets = {"edge": build_network("edge", base_channels=8, res_blocks=2),
            "depth": depth_inpaint_net(base_channels=8, levels=3),
            "color": color_inpaint_net(base_channels=8, levels=3)}
    for net in nets.values():  # non-trivial BN statistics
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
        net.eval()
    return nets


def _random_crop(channels: int, h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    crop = torch.rand(channels, h, w, generator=g)
    hole = torch.rand(h, w, generator=g) > 0.6
    crop[-1] = hole.float()
    crop[-2] = (~hole & (torch.rand(h, w, generator=g) > 0.2)).float()
    return crop


@pytest.mark.parametrize("kind,channels,out_channels",
                         [("edge", 7, 1), ("depth", 4, 1), ("color", 6, 3)])
def test_run_batched_matches_one_by_one(kind, channels, out_channels):
    net = _small_networks()[kind]
    sizes = [(13, 20), (16, 16), (9, 31), (16, 12), (5, 5), (30, 17), (14, 19)]
    crops = [_random_crop(channels, h, w, seed) for seed, (h, w) in enumerate(sizes)]
    multiple = 16
    batched = run_batched(net, crops, multiple, "cpu", max_batch_pixels=3 * 16 * 32)
    single = [run_batched(net, [c], multiple, "cpu", max_batch_pixels=1)[0] for c in crops]
    for crop, b, s in zip(crops, batched, single):
        assert b.shape == (out_channels,) + crop.shape[1:] and b.dtype == torch.float32
        assert float((b - s).abs().max()) < 1e-4
    # Each crop equals the reference's forward_3P: zeros, crop at offset padding // 2.
    crop = crops[2]
    hp, wp = padded_size(9, 31, multiple)
    top, left = (hp - 9) // 2, (wp - 31) // 2
    assert (hp, wp, top, left) == (16, 32, 3, 0)
    padded = torch.zeros(1, channels, hp, wp)
    padded[0, :, top:top + 9, left:left + 31] = crop
    with torch.no_grad():
        expected = net(padded)[0, :, top:top + 9, left:left + 31]
    torch.testing.assert_close(batched[2], expected, rtol=1e-5, atol=1e-5)


class _ShapeRecorder(torch.nn.Module):
    """Runs the wrapped network and records each batch's shape."""

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return self.network(x)


def test_run_batched_groups_and_bounds_batches():
    net = _ShapeRecorder(_small_networks()["color"])
    crops = [_random_crop(6, h, w, i) for i, (h, w) in
             enumerate([(10, 10), (30, 8), (16, 16), (3, 7), (12, 15), (20, 20), (1, 1)])]
    outputs = run_batched(net, crops, 16, "cpu", max_batch_pixels=2 * 16 * 16)
    # 16x16 group: crops 0, 2, 3, 4, 6 → batches of at most 2; 32x16 (crop 1) and 32x32
    # (crop 5, larger than the bound) run alone.
    assert sorted(net.shapes) == sorted([(2, 6, 16, 16), (2, 6, 16, 16), (1, 6, 16, 16),
                                         (1, 6, 32, 16), (1, 6, 32, 32)])
    assert [tuple(o.shape) for o in outputs] == [(3,) + c.shape[1:] for c in crops]
    assert run_batched(net, [], 16, "cpu", 100) == []


def test_run_batched_fp16_ignored_on_cpu_and_bad_input():
    net = _small_networks()["depth"]
    crops = [_random_crop(4, 11, 13, 0)]
    torch.testing.assert_close(run_batched(net, crops, 8, "cpu", 10_000, fp16=True)[0],
                               run_batched(net, crops, 8, "cpu", 10_000)[0], rtol=0, atol=0)
    with pytest.raises(Photo3DError, match=r"crop 1: expected a non-empty \(C, h, w\) tensor"):
        run_batched(net, [crops[0], torch.zeros(4, 0, 5)], 8, "cpu", 10_000)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(Photo3DError, match="expected auto, cpu, cuda or cuda:N"):
        pick_device("gpu")
    with pytest.raises(Photo3DError, match="cuda:x"):
        pick_device("cuda:x")
    if torch.cuda.is_available():
        assert pick_device("cuda:0") == torch.device("cuda:0")
        with pytest.raises(Photo3DError, match="CUDA device"):
            pick_device(f"cuda:{torch.cuda.device_count()}")
    else:
        for spec in ("cuda", "cuda:0"):
            with pytest.raises(Photo3DError, match="CUDA is not available"):
                pick_device(spec)
