"""Learned inpainting (photo3d.inpaint.learned): network inputs, crops, the fill contract, and
weight lookup. Networks are small random-weight variants of the published architectures
(the recipe weights of photo3d.inpaint.recipe_weights), so the tests check plumbing and invariants, not
inpainting quality."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from photo3d.inpaint.recipe_weights import recipe_network  # noqa: E402
import scenes  # noqa: E402
from scenes import square_scene, textured  # noqa: E402

from photo3d import weights  # noqa: E402
from photo3d.config import Config  # noqa: E402
from photo3d.errors import Photo3DError  # noqa: E402
from photo3d.inpaint.learned import (  # noqa: E402
    LearnedInpainter,
    LearnedSettings,
    SegmentCrop,
    color_input,
    color_scale,
    context_edge_map,
    crop_window,
    depth_input,
    depth_output,
    edge_input,
    finish_edges,
    make_learned_inpainter,
    open_small_mask,
    segment_crops,
)
from photo3d.pipeline import build_scene  # noqa: E402
from photo3d.inpaint import MISSING_WEIGHTS_WARNING, FillInpainter, make_inpainter  # noqa: E402


def small_config(**kw) -> Config:
    return scenes.small_config(**{"sparse_iter": 1, "inpaint": "learned", "device": "cpu", **kw})


def learned_from(cfg: Config, required: bool):
    """make_learned_inpainter with the config's inpaint section and discontinuity threshold."""
    return make_learned_inpainter(cfg.inpaint, cfg.edges.depth_threshold, required=required)


def small_networks():
    return (recipe_network("edge", base_channels=8, res_blocks=1),
            recipe_network("depth", base_channels=8, levels=4),
            recipe_network("color", base_channels=8, levels=4))


def step_scene(h: int = 96, w: int = 128):
    """Background with a depth step (left z=6, right z=3.5) behind a square at z=2 that covers
    the step: the background edge runs behind the square, so the edge net has work to do."""
    image = textured(h, w, 3, (60, 160, 90))
    image[:, w // 2:] = textured(h, w, 4, (200, 170, 40))[:, w // 2:]
    depth = np.full((h, w), 6.0, np.float32)
    depth[:, w // 2:] = 3.5
    fg = np.zeros((h, w), bool)
    fg[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = True
    image[fg] = textured(h, w, 5, (220, 30, 30))[fg]
    depth[fg] = 2.0
    return image, depth


def two_squares_scene(h: int = 96, w: int = 128):
    """Two equal squares in front of a plane: two segments whose crops pad to the same size."""
    image = textured(h, w, 6, (40, 140, 200))
    depth = np.full((h, w), 4.0, np.float32)
    for x0 in (16, 80):
        sl = (slice(30, 62), slice(x0, x0 + 32))
        image[sl] = textured(h, w, 7, (220, 30, 30))[sl]
        depth[sl] = 2.0
    return image, depth


def scene_of(image, depth, inpainter, **kw):
    return build_scene(image, depth, small_config(**kw), kind="depth", normalize=False,
                       inpainter=inpainter)


@pytest.fixture(scope="module")
def inpainter():
    return LearnedInpainter(*small_networks(), device="cpu")


@pytest.fixture(scope="module")
def step(inpainter):
    image, depth = step_scene()
    return scene_of(image, depth, inpainter)


# ---------------------------------------------------------------- input preparation
def test_crop_window_is_the_grown_union_clipped_to_the_canvas():
    mask_box = (slice(30, 40), slice(50, 60))
    context_box = (slice(5, 35), slice(55, 90))
    assert crop_window(mask_box, context_box, (100, 100), margin=20) == (0, 60, 30, 100)
    assert crop_window(mask_box, context_box, (200, 200), margin=3) == (2, 43, 47, 93)


def test_context_edges_keep_only_runs_in_the_context_that_touch_the_mask():
    near = np.zeros((12, 12), bool)
    near[1:5, 3] = True  # run A: reaches row 4, next to the mask at row 5
    near[1:3, 8] = True  # run B: ends at row 2, three rows away from the mask
    near[9, 1:4] = True  # run C: outside the context
    context = np.zeros((12, 12), bool)
    context[:5] = True
    mask = np.zeros((12, 12), bool)
    mask[5:8] = True
    edges = context_edge_map(near, context, mask)
    expected = np.zeros((12, 12), bool)
    expected[1:5, 3] = True
    np.testing.assert_array_equal(edges, expected)


def test_open_small_mask_closes_gaps_between_mask_and_context_but_never_takes_context():
    context = np.zeros((80, 120), bool)
    context[:, :30] = True
    mask = np.zeros((80, 120), bool)
    mask[:, 34:60] = True  # a 4-px gap (columns 30..33) between context and mask
    hole = open_small_mask(mask, context)
    assert hole[:, 30:34].all()  # gap closed
    assert not (hole & context).any()
    assert (hole | ~mask).all()  # the mask is kept
    assert not hole[:, 60:].any()  # a straight outer edge stays (far from the crop border)


def test_edge_input_channels_follow_the_reference_layout():
    rng = np.random.default_rng(0)
    h, w = 20, 30
    context = np.zeros((h, w), bool)
    context[:, :12] = True
    synthesis = np.zeros((h, w), bool)
    synthesis[:, 12:20] = True
    depth = (rng.random((h, w)) * 3 + 1).astype(np.float32)
    rgb = rng.random((h, w, 3)).astype(np.float32) * context[..., None]
    edges = np.zeros((h, w), bool)
    edges[3, :12] = True
    crop = SegmentCrop(1, 0, h, 0, w, synthesis, context, synthesis, edges, rgb, depth)
    x = edge_input(crop)
    assert x.shape == (7, h, w) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:3], rgb.transpose(2, 0, 1))
    disp = np.where(context, 1 / depth, 0)
    np.testing.assert_allclose(x[3], disp / disp.max(), rtol=1e-6)
    assert x[3].max() == pytest.approx(1.0) and (x[3][~context] == 0).all()
    np.testing.assert_array_equal(x[4:], np.stack([edges, context, synthesis]).astype(np.float32))


def test_depth_input_is_zero_mean_log_depth_on_context_and_round_trips():
    rng = np.random.default_rng(1)
    h, w = 16, 24
    context = rng.random((h, w)) < 0.5
    hole = ~context
    depth = (rng.random((h, w)) * 10 + 0.5).astype(np.float32)
    crop = SegmentCrop(1, 0, h, 0, w, hole, context, hole, np.zeros((h, w), bool), np.zeros((h, w, 3), np.float32), depth)
    x, mean = depth_input(crop, np.zeros((h, w), bool))
    assert x.shape == (4, h, w)
    assert mean == pytest.approx(np.log(depth[context].astype(np.float64)).mean(), rel=1e-7)
    assert abs(float(x[0][context].mean())) < 1e-5
    assert (x[0][~context] == 0).all()
    # a network that returned its input would give back the context depth
    np.testing.assert_allclose(depth_output(x[0], mean)[context], depth[context], rtol=1e-5)
    np.testing.assert_array_equal(x[3], hole.astype(np.float32))


def test_color_scale_follows_the_largest_size_rule():
    assert color_scale(640, 640, 512) == pytest.approx(0.8)  # 512 / 640
    assert color_scale(200, 960, 512) > 1  # long thin crops stay at full size
    assert color_scale(760, 202, 512) > 1
    # s = 512 / sqrt(700 * 500) = 0.8655: the longer side 605.8 -> 4 * 128
    assert color_scale(700, 500, 512) == pytest.approx(512 / 700)


def test_color_input_downscales_large_crops_and_drops_the_edges():
    h, w = 600, 500
    context = np.zeros((h, w), bool)
    context[:, :250] = True
    hole = np.zeros((h, w), bool)
    hole[:, 250:400] = True
    rgb = np.full((h, w, 3), 0.5, np.float32) * context[..., None]
    crop = SegmentCrop(1, 0, h, 0, w, hole, context, hole, np.zeros((h, w), bool), rgb, np.ones((h, w), np.float32))
    edges = np.zeros((h, w), bool)
    edges[:, 100] = True
    x, scaled = color_input(crop, edges, 512)
    frac = color_scale(h, w, 512)
    assert scaled and x.shape == (6, round(h * frac), round(w * frac))
    assert (x[3] == 0).all()  # edges zeroed when downscaled
    assert not (x[4].astype(bool) & x[5].astype(bool)).any()  # context and hole disjoint
    assert np.allclose(x[:3][:, x[4] > 0], 0.5) and (x[:3][:, x[4] == 0] == 0).all()
    small, scaled_small = color_input(SegmentCrop(1, 0, 64, 0, 64, hole[:64, 200:264], context[:64, 200:264],
                                                  hole[:64, 200:264], edges[:64, 200:264], rgb[:64, 200:264],
                                                  np.ones((64, 64), np.float32)), edges[:64, 200:264], 512)
    assert not scaled_small and small.shape == (6, 64, 64)


def test_finish_edges_thins_the_mask_part_and_keeps_only_runs_from_context_edges():
    h, w = 40, 40
    context = np.zeros((h, w), bool)
    context[:, :15] = True
    synthesis = np.zeros((h, w), bool)
    synthesis[:, 15:30] = True
    ctx_edges = np.zeros((h, w), bool)
    ctx_edges[20, 5:15] = True  # a horizontal context edge ending at the mask
    crop = SegmentCrop(1, 0, h, 0, w, synthesis, context, synthesis, ctx_edges, np.zeros((h, w, 3), np.float32),
                       np.ones((h, w), np.float32))
    prob = np.zeros((h, w), np.float32)
    prob[19:22, 15:30] = 0.9  # a 3-px thick continuation
    prob[2:5, 20:28] = 0.9  # a blob not connected to any context edge
    edges = finish_edges(prob, crop, 0.002)
    inside = edges & synthesis
    assert inside.any() and (edges & context == ctx_edges).all()
    assert not inside[:10].any()  # the unconnected blob is dropped
    assert inside.sum(axis=0)[16:28].max() == 1  # one pixel thick
    np.testing.assert_array_equal(finish_edges(np.zeros((h, w), np.float32), crop, 0.002), ctx_edges)


# ---------------------------------------------------------------- the fill contract
def test_fill_writes_only_synthesis_positions_with_valid_values(step):
    fill, regions, canvas = step.fill, step.regions, step.canvas
    h, w = canvas.shape
    assert fill.mask.shape == (h, w) and fill.mask.dtype == bool
    assert fill.depth.shape == (h, w) and fill.depth.dtype == np.float32
    assert fill.disparity.shape == (h, w) and fill.disparity.dtype == np.float32
    assert fill.color.shape == (h, w, 3) and fill.color.dtype == np.uint8
    assert fill.mask.any()
    assert not (fill.mask & (regions.synthesis_label == 0)).any()
    m = fill.mask
    assert np.isfinite(fill.depth[m]).all() and (fill.depth[m] > 0).all()
    np.testing.assert_allclose(fill.disparity[m], canvas.depth_scale / fill.depth[m], rtol=1e-5)
    # kept pixels lie behind the front surface by at least the threshold
    assert (fill.disparity[m] < canvas.detect_disparity[m] - small_config().edges.depth_threshold).all()
    assert step.inpaint_method == "learned" and step.mesh.info.inpaint == "learned"
    assert step.ldi.num_pixels == h * w + int(m.sum())


def test_context_margin_front_pixels_take_the_networks_colour_not_the_foreground_mix(step):
    """As the fill does: a ghost outline of the foreground's mixed colour must not stay on
    the background (Bowling1's pink stripes beside the pin)."""
    fill, regions = step.fill, step.regions
    margin = regions.margin() > 0
    assert fill.repaint is not None and fill.repaint.any()
    assert not (fill.repaint & ~margin).any() and not (fill.repaint & fill.mask).any()
    assert (fill.repaint == (margin & ~fill.mask)).all()
    front = step.ldi.color[: fill.mask.size].reshape(fill.color.shape)
    np.testing.assert_array_equal(front[fill.repaint], fill.color[fill.repaint])
    settings = dataclasses.replace(LearnedSettings(), repaint_margin=False)
    plain = LearnedInpainter(*small_networks(), device="cpu", settings=settings)
    assert plain(step.canvas, step.discontinuities, step.regions).repaint is None


def test_learned_fill_drops_specks_as_the_fill_does(step):
    import cv2

    _, _, stats, _ = cv2.connectedComponentsWithStats(step.fill.mask.astype(np.uint8), connectivity=4)
    assert (stats[1:, cv2.CC_STAT_AREA] >= LearnedSettings().min_piece).all()
    keep_all = LearnedInpainter(*small_networks(), device="cpu",
                                settings=dataclasses.replace(LearnedSettings(), min_piece=0))
    assert keep_all(step.canvas, step.discontinuities, step.regions).mask.sum() >= step.fill.mask.sum()


def test_edge_net_runs_where_a_background_edge_continues_behind_the_foreground(inpainter, step):
    crops = segment_crops(step.canvas, step.discontinuities, step.regions)
    assert any(c.context_edges.any() for c in crops)
    inpainter(step.canvas, step.discontinuities, step.regions)
    assert inpainter.last_stats.edge_crops >= 1
    assert inpainter.last_stats.crops == len(crops)


def test_square_scene_without_background_edges_skips_the_edge_net(inpainter):
    image, depth, _ = square_scene()
    scene = scene_of(image, depth, inpainter)
    assert inpainter.last_stats.crops >= 1 and inpainter.last_stats.edge_crops == 0
    assert scene.fill.mask.any() and not (scene.fill.mask & (scene.regions.synthesis_label == 0)).any()


def test_learned_fill_is_deterministic_on_cpu(inpainter, step):
    args = (step.canvas, step.discontinuities, step.regions)
    a, b = inpainter(*args), inpainter(*args)
    for name in ("mask", "depth", "disparity", "color"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_batched_and_one_by_one_agree():
    nets = small_networks()
    image, depth = two_squares_scene()
    one = LearnedInpainter(*nets, device="cpu", max_batch_pixels=1)
    scene = scene_of(image, depth, one)
    crops = segment_crops(scene.canvas, scene.discontinuities, scene.regions)
    assert len(crops) == 2 and crops[0].shape == crops[1].shape  # so that they share a batch
    batched = LearnedInpainter(*nets, device="cpu", max_batch_pixels=1 << 22)
    args = (scene.canvas, scene.discontinuities, scene.regions)
    a, b = one(*args), batched(*args)
    # raw network outputs agree to 1e-4 ...
    inputs = [depth_input(c, c.context_edges)[0] for c in crops]
    for x, y in zip(one._run(one.depth_net, inputs), batched._run(batched.depth_net, inputs)):
        np.testing.assert_allclose(x, y, atol=1e-4)
    # ... and so does the fill (colours up to one step of uint8 rounding)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_allclose(a.depth, b.depth, rtol=1e-4)
    assert np.abs(a.color.astype(int) - b.color.astype(int)).max() <= 1


# ---------------------------------------------------------------- weights
@pytest.fixture
def no_default_weights(monkeypatch, tmp_path):
    """Lookup confined to tmp folders: no env dir, an empty user cache."""
    monkeypatch.delenv("PHOTO3D_CHECKPOINTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = weights.project_checkpoints_dir()
    if any(weights.find_weights(k, tmp_path / "empty") for k in ("edge", "depth", "color")):
        pytest.skip(f"real inpainting weights are installed in {project}; cannot test their absence")
    monkeypatch.setattr("photo3d.inpaint.shipped.find_shipped", lambda checkpoints_dir=None: None)  # photo3d's own too
    return tmp_path


def test_missing_weights_raise_when_required_and_name_files_folders_and_remedy(no_default_weights):
    empty = no_default_weights / "ckpt"
    empty.mkdir()
    with pytest.raises(Photo3DError) as err:
        learned_from(small_config(checkpoints=str(empty)), required=True)
    msg = str(err.value)
    for name in ("edge-model.pth", "depth-model.pth", "color-model.pth", str(empty),
                 "photo3d weights download edge depth color"):
        assert name in msg


def test_missing_weights_give_none_when_not_required(no_default_weights, caplog):
    assert learned_from(small_config(checkpoints=str(no_default_weights)), required=False) is None
    cfg = small_config(inpaint="auto", checkpoints=str(no_default_weights))
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        chosen = make_inpainter(cfg.inpaint, cfg.edges.depth_threshold)
    assert isinstance(chosen, FillInpainter) and chosen.name == "fill"
    # the fallback is said once, on the photo3d logger (no callbacks)
    assert [r.getMessage() for r in caplog.records if r.name == "photo3d"] == [MISSING_WEIGHTS_WARNING]
    cfg = small_config(inpaint="learned", checkpoints=str(no_default_weights))
    with pytest.raises(Photo3DError, match="edge-model.pth"):
        make_inpainter(cfg.inpaint, cfg.edges.depth_threshold)


def test_explicit_weight_paths_are_used_and_only_missing_files_are_named(no_default_weights):
    edge = no_default_weights / "my-edge.bin"
    edge.write_bytes(b"not a checkpoint")
    with pytest.raises(Photo3DError) as err:
        learned_from(small_config(edge_weights=str(edge)), required=True)
    assert "depth-model.pth" in str(err.value) and "edge-model.pth" not in str(err.value)
    # all three given: they are loaded, and a damaged one is reported by its path
    paths = {}
    for kind in ("edge", "depth", "color"):
        paths[f"{kind}_weights"] = str(no_default_weights / f"my-{kind}.bin")
        (no_default_weights / f"my-{kind}.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(Photo3DError, match="my-edge.bin"):
        learned_from(small_config(**paths), required=False)


def test_explicit_weight_path_that_does_not_exist_is_an_error(no_default_weights):
    missing = no_default_weights / "nowhere" / "color.pth"
    with pytest.raises(Photo3DError, match="nowhere/color.pth"):
        learned_from(small_config(color_weights=str(missing)), required=False)


def test_weights_in_the_checkpoints_folder_are_found_and_run(no_default_weights):
    """Full-size random networks saved as safetensors in a --checkpoints folder."""
    from safetensors.torch import save_file

    from photo3d.inpaint.networks import build_network

    folder = no_default_weights / "ckpt"
    folder.mkdir()
    torch.manual_seed(0)
    for kind in ("edge", "depth", "color"):
        state = {k: v.contiguous() for k, v in build_network(kind).state_dict().items()}
        save_file(state, str(folder / f"{kind}-model.safetensors"))
    inpainter = learned_from(small_config(checkpoints=str(folder), max_batch_pixels=123456), required=True)
    assert isinstance(inpainter, LearnedInpainter) and inpainter.device.type == "cpu"
    assert inpainter.max_batch_pixels == 123456  # the config's memory bound reaches the batching
    image, depth, _ = square_scene(48, 64)
    scene = scene_of(image, depth, inpainter, longer_side=64)
    assert not (scene.fill.mask & (scene.regions.synthesis_label == 0)).any()
