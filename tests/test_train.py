"""photo3d.train: data making, inputs as the pipeline builds them, the loop, resume, shipped files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photo3d.errors import Photo3DError
from photo3d.train import data as D
from photo3d.train import shipped
from photo3d.train.config import (
    DataConfig,
    NetConfig,
    TrainConfig,
    config_from_dict,
    load_train_config,
)
from photo3d.train.loop import load_checkpoint, train, train_net
from photo3d.train.stages import SegmentCrop, color_input, depth_input, edge_input

RECIPES = Path(__file__).resolve().parents[1] / "photo3d" / "train" / "recipes"


def tiny_config(root: Path, tmp: Path, nets: list[NetConfig]) -> TrainConfig:
    data = DataConfig(root=str(root), cache=str(tmp / "cache"), crop=64, photo_samples=24, layered_samples=32,
                      mask_sizes=[320], layered_background=[8, 16], frames=["tsukuba", "venus"])
    return TrainConfig(seed=3, run_dir=str(tmp / "run"), threads=1, checkpoint_every=4, plot_every=8, data=data,
                       nets=nets)


@pytest.fixture(scope="module")
def dataset(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train_data")
    config = tiny_config(shared_data, tmp, [])
    return config, D.load_or_make(config.data, config.seed, progress=False)


def test_held_out_paths_are_refused():
    with pytest.raises(Photo3DError, match="held out"):
        D.check_allowed(Path("/x/shared/data/bsds500/test/1.jpg"))
    with pytest.raises(Photo3DError, match="held-out"):
        D.check_allowed(Path("/x/shared/data/middlebury_2005_2006_half/Art/view1.png"))
    assert D.check_allowed(Path("/x/shared/data/bsds500/train/1.jpg"))


def test_data_making_never_reads_held_out_folders(shared_data, tmp_path, monkeypatch):
    seen: list[str] = []
    imread, npload = D.cv2.imread, D.np.load

    def spy_imread(path, *args):
        seen.append(str(path))
        return imread(path, *args)

    def spy_load(path, *args, **kwargs):
        seen.append(str(path))
        return npload(path, *args, **kwargs)

    monkeypatch.setattr(D.cv2, "imread", spy_imread)
    monkeypatch.setattr(D.np, "load", spy_load)
    config = tiny_config(shared_data, tmp_path, [])
    config.data.frames = []  # every frame
    config.data.photo_samples, config.data.layered_samples = 4, 4
    D.make_dataset(config.data, 0, progress=False)
    assert seen
    assert not [p for p in seen if "middlebury_2005_2006_half" in p or "/bsds500/test/" in p]
    assert any("/bsds500/train/" in p or "/bsds500/val/" in p for p in seen)
    assert any("rgbd_slambook2" in p for p in seen) and any("middlebury_2001_2003_classic" in p for p in seen)


def test_samples_have_masks_from_the_regions_stage(dataset):
    _, data = dataset
    for name in ("photo", "layered"):
        s = data[name]
        assert len(s) > 0
        ctx, syn, hole = s.mask(D.CONTEXT), s.mask(D.SYNTHESIS), s.mask(D.HOLE)
        assert syn.any(axis=(1, 2)).all() and ctx.any(axis=(1, 2)).all()
        assert not (ctx & syn).any() and not (hole & ctx).any()
        assert (hole | ~syn).all()  # the hole contains the synthesis region
    layered = data["layered"]
    assert (layered.depth >= 1 / 3.0 - 1e-6).all() and (layered.depth <= 20.0 + 1e-4).all()  # the pipeline's range
    assert not (layered.mask(D.EDGE_TRUTH) & ~layered.mask(D.SYNTHESIS)).any()
    assert not (layered.mask(D.CONTEXT_EDGE) & ~layered.mask(D.CONTEXT)).any()


def test_batch_inputs_are_built_as_the_pipeline_builds_them(dataset):
    _, data = dataset
    s = data["layered"]
    i = int(np.argmax(s.mask(D.CONTEXT_EDGE).any(axis=(1, 2))))
    rgb = s.rgb[i:i + 1].astype(np.float32) / 255
    depth, flags = s.depth[i:i + 1], s.flags[i:i + 1]
    ctx, syn, hole = flags[0] & D.CONTEXT > 0, flags[0] & D.SYNTHESIS > 0, flags[0] & D.HOLE > 0
    ctx_edges = flags[0] & D.CONTEXT_EDGE > 0
    edges = ctx_edges | (flags[0] & D.EDGE_TRUTH > 0)
    size = ctx.shape[0]
    crop = SegmentCrop(segment=1, y0=0, y1=size, x0=0, x1=size, synthesis=syn, context=ctx, hole=hole,
                       context_edges=ctx_edges, rgb=rgb[0] * ctx[..., None], depth=depth[0])
    x, _ = D.edge_arrays(rgb, depth, flags)
    np.testing.assert_allclose(x[0], edge_input(crop), atol=1e-6)
    x, _ = D.depth_arrays(depth, flags)
    ref, _ = depth_input(crop, edges)
    np.testing.assert_allclose(x[0], ref, atol=1e-5)
    x, _ = D.color_arrays(rgb, flags)
    ref, scaled = color_input(crop, edges, 512)
    assert not scaled
    np.testing.assert_allclose(x[0], ref, atol=1e-6)


def test_smoke_config_trains_a_tiny_net_and_its_loss_falls(dataset, tmp_path):
    from photo3d.train import losses
    from photo3d.train.data import make_batch
    from photo3d.train.loop import batch_rng, build

    config, data = dataset
    config = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "run")})
    net = NetConfig(kind="color", size={"base_channels": 4, "levels": 3}, steps=25, batch=4, lr=0.01)
    fixed = make_batch(data, "color", 16, batch_rng(99, "color", 0), jitter=0.0)
    weights = losses.weights_for("color", None)

    def loss_of(model):
        model.eval()
        with torch.no_grad():
            return float(losses.compute("color", model(fixed.x), fixed, weights)[0])

    before = loss_of(build(net, config.seed))
    result = train_net(config, net, data, progress=False)
    model = build(net, config.seed)
    model.load_state_dict(torch.load(Path(config.run_dir) / "color" / "final.pt", weights_only=True))
    after = loss_of(model)
    assert result.steps == 25
    # The net starts at the fill (fill_residual, zero-initialised correction), so 25 steps of a
    # 4-channel net only take a few per cent off a loss that is already the fill's (about 8 %
    # on the shared data's samples); a loop that does not learn leaves it unchanged.
    assert after < 0.95 * before, (before, after)
    for name in ("last.pt", "final.pt", "loss.png", "samples.png", "history.csv"):
        assert (Path(config.run_dir) / "color" / name).is_file()


@pytest.mark.parametrize("kind,size", [("depth", {"base_channels": 4, "levels": 3}),
                                       ("edge", {"base_channels": 4, "res_blocks": 1})])
def test_resume_continues_the_same_run(dataset, tmp_path, kind, size):
    config, data = dataset
    net = NetConfig(kind=kind, size=size, steps=8, batch=2, lr=0.003)
    straight = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "straight")})
    resumed = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "resumed")})
    train_net(straight, net, data, progress=False)
    train_net(resumed, net, data, progress=False, stop_after=5)  # "killed" after step 5; saved at 4 and 5
    state = load_checkpoint(Path(resumed.run_dir) / kind / "last.pt")
    assert state["step"] == 5
    train_net(resumed, net, data, progress=False)
    a = torch.load(Path(straight.run_dir) / kind / "final.pt", weights_only=True)
    b = torch.load(Path(resumed.run_dir) / kind / "final.pt", weights_only=True)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_train_saves_its_config_beside_the_checkpoints(dataset, tmp_path):
    config, _ = dataset
    config = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "run"),
                            "nets": [NetConfig(kind="depth", size={"base_channels": 4, "levels": 3}, steps=2, batch=2)]})
    train(config, progress=False)
    saved = load_train_config(Path(config.run_dir) / "config.yml")
    assert saved.nets[0].size == {"base_channels": 4, "levels": 3} and saved.data.crop == 64


def test_recipes_load_and_unknown_keys_are_errors(tmp_path):
    for recipe in ("cpu.yml", "smoke.yml"):
        config = load_train_config(RECIPES / recipe)
        assert {n.kind for n in config.nets} == {"edge", "depth", "color"}
    with pytest.raises(Photo3DError, match="unknown key"):
        config_from_dict({"nets": [{"kind": "color", "widht": 3}]}, "x.yml")
    with pytest.raises(Photo3DError, match="unknown kind"):
        config_from_dict({"nets": [{"kind": "colour"}]}, "x.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("seed: [")
    with pytest.raises(Photo3DError, match="bad.yml"):
        load_train_config(bad)


def test_export_then_load_strictly_reproduces_the_output_vector(tmp_path):
    from photo3d.train.stages import build_network

    torch.manual_seed(0)
    size = {"base_channels": 4, "levels": 3}
    net = build_network("depth", **size)
    shipped.export_network(net, "depth", size, tmp_path, {"steps": 0})
    loaded = shipped.load_shipped("depth", tmp_path)
    card = shipped.read_card("depth", tmp_path)
    assert shipped.output_vector(loaded, "depth") == pytest.approx(card["test_vector"], rel=1e-6)
    path = shipped.weight_file("depth", tmp_path)
    path.write_bytes(path.read_bytes()[:-4] + b"abcd")
    with pytest.raises(Photo3DError, match="sha256"):
        shipped.load_shipped("depth", tmp_path)


@pytest.mark.skipif(not shipped.available(), reason="photo3d's shipped networks are not in checkpoints/ yet")
@pytest.mark.parametrize("kind", ["edge", "depth", "color"])
def test_shipped_networks_load_strictly_and_reproduce_stored_vectors(kind):
    card = shipped.read_card(kind)
    network = shipped.load_shipped(kind)
    assert sum(p.numel() for p in network.parameters()) > 0
    got = shipped.output_vector(network, kind)
    assert got["sum"] == pytest.approx(card["test_vector"]["sum"], rel=1e-4, abs=1e-3)
    np.testing.assert_allclose(got["values"], card["test_vector"]["values"], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not shipped.available(), reason="photo3d's shipped networks are not in checkpoints/ yet")
def test_learned_inpainting_runs_offline_end_to_end_with_the_shipped_networks():
    import cv2

    from photo3d.train.stages import scene_with

    inputs = Path(__file__).resolve().parents[1] / "inputs"
    image = cv2.cvtColor(cv2.imread(str(inputs / "sample.png")), cv2.COLOR_BGR2RGB)
    disparity = cv2.imread(str(inputs / "sample_disparity.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    scene = scene_with(image, disparity, shipped.shipped_inpainter(), longer_side=480)
    assert scene.inpaint_method == shipped.SHIPPED_NAME
    assert scene.fill.mask.any() and len(scene.mesh.faces) > 0


def test_score_metrics_on_known_cases():
    from photo3d.train import scores

    truth = np.zeros((16, 16), bool)
    truth[8, 2:12] = True
    shifted = np.roll(truth, 1, axis=0)  # one pixel off: matched within the 1 px tolerance
    assert scores.f1(np.array(scores.edge_counts(shifted, truth)))[2] == pytest.approx(1.0)
    assert scores.f1(np.array(scores.edge_counts(np.zeros_like(truth), truth))) == (0.0, 0.0, 0.0)
    a = np.zeros((8, 8, 3))
    mask = np.ones((8, 8), bool)
    assert scores.psnr(a + 0.1, a, mask) == pytest.approx(20.0)


def test_command_line_parses_options_and_reports_bad_input_in_one_line(tmp_path, capsys):
    from photo3d.train.command import main, parse

    opts = parse(["run.yml", "--only", "edge,color", "--export", "out", "--partial"])
    assert opts.config == "run.yml" and opts.only == ["edge", "color"] and opts.export == "out" and opts.partial
    assert main(["run.yml", "--bogus"]) == 2
    assert main([str(tmp_path / "missing.yml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("photo3d: error: ") and "missing.yml" in err[-1]


def test_learned_takes_photo3d_networks_when_the_published_ones_are_missing(tmp_path, monkeypatch):
    from photo3d.config import InpaintConfig
    from photo3d.inpaint import make_inpainter
    from photo3d.train.stages import DEPTH_THRESHOLD, build_network, weights_module

    if any(weights_module.find_weights(k, tmp_path) for k in ("edge", "depth", "color")):
        pytest.skip("the published weights are installed: they come first")
    torch.manual_seed(0)
    sizes = {"edge": {"base_channels": 4, "res_blocks": 1}, "depth": {"base_channels": 4, "levels": 3},
             "color": {"base_channels": 4, "levels": 3}}
    for kind, size in sizes.items():
        shipped.export_network(build_network(kind, **size), kind, size, tmp_path, {"steps": 0})
    chosen = make_inpainter(InpaintConfig(method="learned", checkpoints=str(tmp_path), device="cpu"), DEPTH_THRESHOLD)
    assert chosen.name == shipped.SHIPPED_NAME
    assert chosen.color_net.enc_1.conv.input_conv.out_channels == 4  # built at the stored widths
    monkeypatch.setattr("photo3d.inpaint.shipped.find_shipped", lambda checkpoints_dir=None: tmp_path)
    auto = make_inpainter(InpaintConfig(method="auto", checkpoints=str(tmp_path), device="cpu"), DEPTH_THRESHOLD)
    from photo3d.inpaint.learned import inpainter as learned_module

    assert auto.name == (shipped.SHIPPED_NAME if learned_module.SHIPPED_IN_AUTO else "fill")


def test_photo3d_train_subcommand_parses_with_argparse_and_reports_a_missing_recipe(tmp_path, capsys):
    from photo3d.cli import main

    assert main(["train", str(tmp_path / "missing.yml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("photo3d: error: ") and "missing.yml" in err[0]
    with pytest.raises(SystemExit) as exc:
        main(["train", "--bogus"])
    assert exc.value.code == 2
