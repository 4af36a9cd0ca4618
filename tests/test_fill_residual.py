"""The fill_residual input convention of photo3d's own depth and colour networks: the fill in
the hole, the network a correction on top of it, the same in training and in the pipeline."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photo3d.errors import Photo3DError
from photo3d.inpaint.learned import LearnedInpainter, LearnedSettings
from photo3d.inpaint.learned.tensors import fill_prior_color, fill_prior_depth
from photo3d.train import data as D
from photo3d.train import shipped
from photo3d.train.config import DataConfig, NetConfig, TrainConfig, config_from_dict
from photo3d.train.loop import batch_rng, build, forward, load_checkpoint, train_net

ROOT = Path(__file__).resolve().parents[1]
COLOR = NetConfig(kind="color", size={"base_channels": 4, "levels": 3}, steps=8, batch=2, lr=0.003,
                  input="fill_residual", hidden_edges=0.5, loss={"ssim": 1.0})
DEPTH = NetConfig(kind="depth", size={"base_channels": 4, "levels": 3}, steps=8, batch=2, lr=0.003,
                  input="fill_residual", hidden_edges=0.5)


@pytest.fixture(scope="module")
def dataset(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fill_data")
    data = DataConfig(root=str(shared_data), cache=str(tmp / "cache"), crop=64, photo_samples=16, layered_samples=16,
                      mask_sizes=[320], layered_background=[8, 16], frames=["tsukuba"])
    config = TrainConfig(seed=5, run_dir=str(tmp / "run"), threads=1, checkpoint_every=4, plot_every=8, data=data)
    samples = D.load_or_make(config.data, config.seed, progress=False)
    return config, D.attach_fills(samples, config.data, config.seed, progress=False)


def test_fills_are_the_non_learned_fill_of_each_hole_and_cached(dataset):
    config, data = dataset
    for key in ("photo", "layered"):
        s = data[key]
        i = 3
        ctx, hole = s.mask(D.CONTEXT)[i], s.mask(D.HOLE)[i]
        expect = np.clip(fill_prior_color(s.rgb[i], ctx, hole) * 255 + 0.5, 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(s.fill_rgb[i], expect)
        assert (s.fill_rgb[i][~hole] == 0).all() and s.fill_rgb[i][hole].any()
    s = data["layered"]
    np.testing.assert_allclose(s.fill_depth[0], fill_prior_depth(s.depth[0], s.mask(D.CONTEXT)[0], s.mask(D.HOLE)[0]))
    assert D.fill_cache_path(config.data, config.seed).is_file()
    again = D.attach_fills(D.load_or_make(config.data, config.seed, progress=False), config.data, config.seed, False)
    np.testing.assert_array_equal(again["photo"].fill_rgb, data["photo"].fill_rgb)


def test_one_peel_gives_both_fills_exactly(dataset):
    from photo3d.inpaint.learned.tensors import fill_priors

    s = dataset[1]["layered"]
    for i in range(4):
        ctx, hole = s.mask(D.CONTEXT)[i], s.mask(D.HOLE)[i]
        color, depth = fill_priors(s.rgb[i], s.depth[i], ctx, hole)
        np.testing.assert_array_equal(color, fill_prior_color(s.rgb[i], ctx, hole))
        np.testing.assert_array_equal(depth, fill_prior_depth(s.depth[i], ctx, hole))


def test_untrained_residual_nets_return_exactly_the_fill(dataset):
    _, data = dataset
    for net in (COLOR, DEPTH):
        batch = D.make_batch(data, net.kind, 4, batch_rng(1, net.kind, 0), 0.08, 0.6, net.input, net.hidden_edges)
        hole = batch.loss_mask.numpy() > 0
        channels = 3 if net.kind == "color" else 1
        assert np.abs(batch.x.numpy()[:, :channels] * hole).sum() > 0  # the fill is in the hole
        model = build(net, 0).eval()
        with torch.no_grad():
            out = forward(model, net, batch.x)
        torch.testing.assert_close(out, batch.x[:, :channels], rtol=0, atol=1e-6)


def test_jitter_moves_the_fill_with_the_truth(dataset):
    rng = np.random.default_rng(0)
    rgb = np.zeros((4, 16, 16, 3), np.uint8)
    rgb[...] = np.array([120, 60, 200], np.uint8)
    flags = np.zeros((4, 16, 16), np.uint8)
    flags[:, :, :8] = D.CONTEXT
    flags[:, :, 8:] = D.HOLE
    fills = [np.where(flags[..., None] == D.HOLE, rgb, 0).astype(np.uint8), None]
    out, _, flags = D.augment(rgb, np.ones((4, 16, 16), np.float32), flags, rng, 0.08, fills)
    hole = (flags & D.HOLE) > 0
    np.testing.assert_allclose(fills[0][hole], out[hole], atol=1e-6)
    assert not np.allclose(out[0, 0, 0], np.array([120, 60, 200]) / 255, atol=1e-3)  # jitter did act


def test_flips_keep_the_fill_on_its_hole():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (32, 12, 12, 3), dtype=np.uint8)
    flags = np.where(rng.random((32, 12, 12)) < 0.4, np.uint8(D.HOLE), np.uint8(D.CONTEXT))
    depth = rng.uniform(1, 2, (32, 12, 12)).astype(np.float32)
    hole = flags == D.HOLE
    fills = [np.where(hole[..., None], rgb, 0).astype(np.uint8), np.where(hole, depth, 1.0).astype(np.float32)]
    out, d, f = D.augment(rgb, depth.copy(), flags.copy(), rng, 0.0, fills)
    h = f == D.HOLE
    np.testing.assert_allclose(fills[0], np.where(h[..., None], out, 0), atol=1e-6)
    np.testing.assert_allclose(fills[1], np.where(h, d, 1.0))


def test_hidden_edges_are_dropped_with_the_configured_probability(dataset):
    _, data = dataset
    pool = np.nonzero(data["layered"].mask(D.EDGE_TRUTH).any(axis=(1, 2)))[0]
    if len(pool) == 0:
        pytest.skip("no layered sample with hidden edges in this tiny set")
    edges = lambda p: D.make_batch(data, "depth", 64, batch_rng(2, "depth", 0), 0.0, 0.6, "reference", p).x[:, 1]
    context_only = edges(0.0).numpy()
    kept = edges(1.0).numpy()
    assert kept.sum() > context_only.sum()


def test_residual_run_resumes_to_the_same_weights(dataset, tmp_path):
    config, data = dataset
    straight = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "straight")})
    resumed = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "resumed")})
    train_net(straight, COLOR, data, progress=False)
    train_net(resumed, COLOR, data, progress=False, stop_after=5)
    assert load_checkpoint(Path(resumed.run_dir) / "color" / "last.pt")["step"] == 5
    train_net(resumed, COLOR, data, progress=False)
    a = torch.load(Path(straight.run_dir) / "color" / "final.pt", weights_only=True)
    b = torch.load(Path(resumed.run_dir) / "color" / "final.pt", weights_only=True)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_residual_nets_learn_from_the_fill_on_a_fixed_batch(dataset):
    """The zero-initialised last layer still passes gradients: a few Adam steps on one batch
    bring the loss below the fill's (the loop's own smoke test is in test_train.py)."""
    from photo3d.train import losses

    _, data = dataset
    for net in (COLOR, DEPTH):
        fixed = D.make_batch(data, net.kind, 8, batch_rng(7, net.kind, 0), 0.0, 0.6, net.input, 1.0)
        weights = losses.weights_for(net.kind, net.loss)
        model = build(net, 0)
        optim = torch.optim.Adam(model.parameters(), lr=3e-3)

        def loss_now():
            return losses.compute(net.kind, forward(model, net, fixed.x), fixed, weights)[0]

        model.eval()
        with torch.no_grad():
            fill_loss = float(loss_now())
        model.train()
        for _ in range(40):
            optim.zero_grad()
            loss_now().backward()
            optim.step()
        model.eval()
        with torch.no_grad():
            assert float(loss_now()) < 0.95 * fill_loss, net.kind


def test_config_checks_the_input_convention():
    with pytest.raises(Photo3DError, match="fill_residual"):
        config_from_dict({"nets": [{"kind": "edge", "input": "fill_residual"}]}, "x.yml")
    with pytest.raises(Photo3DError, match="input"):
        config_from_dict({"nets": [{"kind": "color", "input": "fill"}]}, "x.yml")


def _sample_scene(longer_side: int = 320):
    from photo3d.train.stages import scene_regions

    image = cv2.cvtColor(cv2.imread(str(ROOT / "inputs" / "sample.png")), cv2.COLOR_BGR2RGB)
    disparity = cv2.imread(str(ROOT / "inputs" / "sample_disparity.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    return scene_regions(image, disparity, longer_side)


@pytest.mark.parametrize("largest_size", [512, 64])  # 64: every colour crop is downscaled
def test_pipeline_with_zero_corrections_writes_the_fill_of_each_crop(largest_size):
    from photo3d.inpaint.learned import segment_crops

    canvas, disc, regions = _sample_scene()
    edge = build(NetConfig(kind="edge", size={"base_channels": 4, "res_blocks": 1}), 0)
    depth, color = build(DEPTH, 0), build(COLOR, 0)
    inpainter = LearnedInpainter(edge, depth, color, "cpu", settings=LearnedSettings(largest_size=largest_size),
                                 inputs={"depth": "fill_residual", "color": "fill_residual"}, edge_net_edges=False)
    fill = inpainter(canvas, disc, regions)
    assert fill.mask.sum() > 100 and inpainter.last_stats.edge_crops == 0
    if largest_size == 64:
        assert inpainter.last_stats.color_downscaled > 0
    checked = 0
    for crop in segment_crops(canvas, disc, regions):
        window = (slice(crop.y0, crop.y1), slice(crop.x0, crop.x1))
        kept = fill.mask[window] & crop.keep
        if not kept.any():
            continue
        want = np.clip(fill_prior_color(crop.rgb, crop.context, crop.hole) * 255 + 0.5, 0, 255).astype(np.uint8)
        assert np.abs(fill.color[window][kept].astype(int) - want[kept]).max() <= 1
        np.testing.assert_allclose(fill.depth[window][kept], fill_prior_depth(crop.depth, crop.context, crop.hole)[kept],
                                   rtol=1e-4)
        checked += 1
    assert checked > 0


def test_inference_options_default_to_the_reference_input(tmp_path):
    from photo3d.inpaint.networks import build_network

    for kind, size in (("edge", {"base_channels": 4, "res_blocks": 1}), ("depth", {"base_channels": 4, "levels": 3}),
                       ("color", {"base_channels": 4, "levels": 3})):
        shipped.export_network(build_network(kind, **size), kind, size, tmp_path, {})
    options = shipped.inference_options(tmp_path)
    assert options == {"inputs": {"depth": "reference", "color": "reference"}, "edge_net_edges": True,
                       "edge_threshold": None}
    with pytest.raises(Photo3DError, match="convention"):
        LearnedInpainter(build_network("edge", base_channels=4, res_blocks=1), build_network("depth", base_channels=4,
                         levels=3), build_network("color", base_channels=4, levels=3), "cpu", inputs={"color": "x"})


@pytest.mark.skipif(not shipped.available(), reason="photo3d's shipped networks are not in checkpoints/")
def test_shipped_inpainter_runs_the_networks_as_their_cards_say():
    options = shipped.inference_options()
    inpainter = shipped.shipped_inpainter()
    assert inpainter.inputs == {"depth": options["inputs"]["depth"], "color": options["inputs"]["color"]}
    assert inpainter.edge_net_edges == options["edge_net_edges"]
    if options["edge_threshold"] is not None:
        assert inpainter.settings.ext_edge_threshold == options["edge_threshold"]
