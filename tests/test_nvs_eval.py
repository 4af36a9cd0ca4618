"""The Middlebury novel-view evaluation: masks, metrics and baselines (benchmarks/middlebury/)
and the benchmark command (benchmarks/nvs_eval.py), on one scene at 96 px."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks import middlebury as ev

os.environ.setdefault("EGL_PLATFORM", "surfaceless")

SCENE = "Baby1"  # a doll on a box before a map: clear depth edges on both sides
SIZE = 96


@pytest.fixture(scope="module")
def middlebury(shared_data) -> Path:
    """The Middlebury 2005/2006 scenes at half size (../shared/data)."""
    folder = shared_data / "middlebury_2005_2006_half"
    if not (folder / SCENE / "disp1.png").is_file():
        pytest.skip(f"Middlebury 2005/2006 data not found at {folder / SCENE} (see ../shared/data/INDEX.md)")
    return folder


@pytest.fixture(scope="module")
def scene(middlebury) -> ev.StereoScene:
    return ev.load_middlebury_scene(middlebury / SCENE, SIZE)


@pytest.fixture(scope="module")
def renderer():
    from photo3d.errors import Photo3DError
    from photo3d.render import Renderer

    try:
        r = Renderer(16, 16, supersample=2.0)
    except Photo3DError as exc:
        pytest.skip(f"offscreen OpenGL unavailable: {exc}")
    yield r
    r.close()


# -- synthetic known answers ---------------------------------------------------------------

def test_fill_unknown_takes_the_farther_neighbour():
    d = np.array([[10, 0, 0, 4, 4], [0, 0, 3, 0, 8]], np.float32)
    out = ev.fill_unknown_disparity(d)
    np.testing.assert_array_equal(out, [[10, 4, 4, 4, 4], [3, 3, 3, 3, 8]])


def test_warp_surface_opens_a_gap_right_of_a_foreground_block():
    # background disparity 2, a foreground block at columns 10..19 with disparity 6
    d = np.full((3, 40), 2.0, np.float32)
    d[:, 10:20] = 6.0
    warp = ev.warp_surface(d, np.ones_like(d, bool), 1.0)
    gap = ~warp.covered & warp.inside
    outside = ~warp.covered & ~warp.inside
    # fg column 19 lands at 13, bg column 20 at 18: 14..17 are revealed
    assert np.flatnonzero(gap[1]).tolist() == [14, 15, 16, 17]
    # bg column 39 lands at 37: 38, 39 are beyond view1's frame
    assert np.flatnonzero(outside[1]).tolist() == [38, 39]
    # the foreground (4..13) hides the background columns 4..7 behind it
    np.testing.assert_allclose(warp.disparity[1, 4:14], 6.0)
    np.testing.assert_allclose(warp.disparity[1, :4], 2.0)
    # moving the other way opens the gap left of the block: bg 9 lands at 11, fg 10 at 16
    back = ev.warp_surface(d, np.ones_like(d, bool), -1.0)
    assert np.flatnonzero(~back.covered[1] & back.inside[1]).tolist() == [12, 13, 14, 15]


def test_warp_surface_stretches_slanted_surfaces_without_cracks():
    # disparity falling 0.6 px per column: landing points spread 1.75 px apart at shift 1.25
    d = np.tile(np.linspace(30.0, 30.0 - 0.6 * 49, 50, dtype=np.float32), (2, 1))
    warp = ev.warp_surface(d, np.ones_like(d, bool), 1.25)
    lo, hi = int(np.ceil(0 - 1.25 * d[0, 0])), int(np.floor(49 - 1.25 * d[0, -1]))
    assert warp.covered[0, max(lo, 0) : hi + 1].all()
    # with a link threshold below the slope it is torn into separate pixels instead
    torn = ev.warp_surface(d, np.ones_like(d, bool), 1.25, link_threshold=0.5)
    assert (~torn.covered[0] & torn.inside[0]).sum() > 10


def test_psnr_known_answer_and_identity():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 250, (40, 50, 3), dtype=np.uint8)
    mask = np.zeros((40, 50), bool)
    mask[5:30, 10:40] = True
    assert ev.masked_psnr(img, img, mask) == math.inf
    assert ev.masked_psnr(img + 4, img, mask) == pytest.approx(10 * math.log10(255**2 / 16))
    assert math.isnan(ev.masked_psnr(img, img, np.zeros_like(mask)))
    # only masked pixels count
    other = img.copy()
    other[~mask] = 0
    assert ev.masked_psnr(other, img, mask) == math.inf
    assert ev.ssim_map(img, img) == pytest.approx(np.ones((40, 50)))


# -- the real scene ------------------------------------------------------------------------

@pytest.mark.shared_data
def test_scene_is_loaded_at_working_size(scene, middlebury):
    w, h = scene.size
    assert max(w, h) == SIZE
    raw = cv2.imread(str(middlebury / SCENE / "disp1.png"), cv2.IMREAD_UNCHANGED)
    assert scene.scale == pytest.approx(w / raw.shape[1])
    # disparities scale with the image (nearest sampling may miss the extreme pixel); unknown stays 0
    assert 0.9 * raw.max() / 2 * scene.scale <= scene.disp1.max() <= raw.max() / 2 * scene.scale + 1e-4
    assert set(np.unique(scene.disp1 * 2 / scene.scale).round(3)) <= set(np.unique(raw).astype(float))
    assert all(v.shape == (h, w, 3) and v.dtype == np.uint8 for v in scene.views.values())


@pytest.mark.shared_data
def test_target_scored_against_itself_is_perfect(scene):
    for k in (0, 5):
        g = ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(k))
        target = scene.views[k]
        s = ev.score_view(target, np.ones(target.shape[:2], bool), target, g, view=k)
        for region in ("all", "seen", "disoccluded"):
            assert s.regions[region].psnr == math.inf
            assert s.regions[region].ssim == pytest.approx(1.0)
            assert s.regions[region].pixels > 0
        assert s.empty_fraction == 0.0


@pytest.mark.shared_data
def test_region_scores_agree_with_masked_psnr(scene):
    g = ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(5))
    render = scene.views[1]  # the unmoved photo: a poor but real prediction of view5
    s = ev.score_view(render, np.ones(render.shape[:2], bool), scene.views[5], g, view=5)
    for region, mask in (("all", g.valid), ("seen", g.seen), ("disoccluded", g.disoccluded)):
        assert s.regions[region].psnr == pytest.approx(ev.masked_psnr(render, scene.views[5], mask), rel=1e-9)
        assert s.regions[region].psnr == pytest.approx(ev.psnr_from_mse(s.regions[region].mse), rel=1e-12)
    assert s.regions["seen"].psnr < 30.0


@pytest.mark.shared_data
def test_no_disocclusion_at_the_input_camera(scene):
    g = ev.reference_geometry(scene.disp1, scene.disp5, 0.0)
    assert not g.disoccluded.any() and not g.gap.any() and not g.outside.any()
    np.testing.assert_array_equal(g.seen, scene.disp1 > 0)


def _neighbour_disparity(disparity: np.ndarray, covered: np.ndarray, from_left: bool) -> np.ndarray:
    """For every pixel, the disparity of the nearest covered pixel to its left (or right) in its row; NaN if none."""
    h, w = covered.shape
    cols = np.arange(w)[None, :]
    if from_left:
        idx = np.maximum.accumulate(np.where(covered, cols, -1), axis=1)
        shifted = np.concatenate([np.full((h, 1), -1), idx[:, :-1]], axis=1)
    else:
        idx = np.minimum.accumulate(np.where(covered, cols, w)[:, ::-1], axis=1)[:, ::-1]
        shifted = np.concatenate([idx[:, 1:], np.full((h, 1), w)], axis=1)
    ok = (shifted >= 0) & (shifted < w)
    vals = np.take_along_axis(disparity, np.clip(shifted, 0, w - 1), axis=1)
    return np.where(ok, vals, np.nan)


@pytest.mark.parametrize("t", [-0.25, 0.25, 0.5, 1.0])
@pytest.mark.shared_data
def test_disocclusions_lie_behind_the_nearer_side(scene, t):
    g = ev.reference_geometry(scene.disp1, scene.disp5, t)
    covered = g.disparity > 0
    left = _neighbour_disparity(g.disparity, covered, from_left=True)[g.disoccluded]
    right = _neighbour_disparity(g.disparity, covered, from_left=False)[g.disoccluded]
    assert g.disoccluded.sum() > 20
    # moving right (t > 0) reveals what lies right of nearer objects; moving left, left of them
    nearer_on_left = np.mean(left > right)
    assert (nearer_on_left if t > 0 else 1 - nearer_on_left) > 0.9


@pytest.mark.shared_data
def test_disocclusions_grow_with_the_shift(scene):
    areas = [ev.reference_geometry(scene.disp1, scene.disp5, t).gap.sum() for t in (0.25, 0.5, 1.0, 1.25)]
    assert all(a < b for a, b in zip(areas, areas[1:])), areas
    confirmed = [ev.reference_geometry(scene.disp1, scene.disp5, t).disoccluded.sum() for t in (0.25, 0.5, 1.0)]
    assert all(a < b for a, b in zip(confirmed, confirmed[1:])), confirmed


@pytest.mark.parametrize("view", [0, 5, 6])
@pytest.mark.shared_data
def test_reference_warp_explains_the_photographs(scene, view):
    """The data convention (x - t d1) and the seen mask: view1 splatted by its ground truth
    matches the other photograph far better than view1 unmoved."""
    image, disparity, _ = ev.view1_input(scene)
    t = ev.view_shift(view)
    g = ev.reference_geometry(scene.disp1, scene.disp5, t)
    warped, holes = ev.forward_warp(image, disparity, t)
    target = scene.views[view]
    assert ev.masked_psnr(warped, target, g.seen & ~holes) > ev.masked_psnr(image, target, g.seen) + 6.0


@pytest.mark.shared_data
def test_warp_baseline_at_the_input_camera_is_view1(scene):
    image, disparity, _ = ev.view1_input(scene)
    warped, holes = ev.forward_warp(image, disparity, 0.0)
    assert not holes.any()
    np.testing.assert_array_equal(warped, image)
    np.testing.assert_array_equal(ev.warp_inpaint(image, disparity, 0.0), image)
    moved = ev.warp_inpaint(image, disparity, 1.0)
    assert moved.shape == image.shape and not np.array_equal(moved, image)


@pytest.mark.shared_data
@pytest.mark.egl
def test_plain_mesh_at_the_input_camera_is_view1(scene, renderer):
    rgb, mask = ev.plain_mesh_renders(scene, renderer, views=(1,)).renders[1]
    assert mask.all()
    # not exact: vertex colours are interpolated between pixel centres and supersampled
    assert ev.masked_psnr(rgb, scene.views[1], np.ones_like(mask)) > 30.0


@pytest.mark.shared_data
@pytest.mark.egl
def test_photo3d_renders_line_up_with_the_photographs(scene, renderer):
    from photo3d.config import Config

    w, h = scene.size
    result = ev.photo3d_renders(scene, Config.from_keys(longer_side=max(w, h), inpaint="fill"), renderer, views=(1, 5))
    rgb1, mask1 = result.renders[1]
    g0 = ev.reference_geometry(scene.disp1, scene.disp5, 0.0)
    assert ev.masked_psnr(rgb1, scene.views[1], g0.valid) > 30.0 and mask1.mean() > 0.99
    # at t = 1 the render matches view5, not view1
    rgb5, _ = result.renders[5]
    g5 = ev.reference_geometry(scene.disp1, scene.disp5, 1.0)
    assert ev.masked_psnr(rgb5, scene.views[5], g5.seen) > ev.masked_psnr(scene.views[1], scene.views[5], g5.seen) + 5.0


def _nvs_eval():
    from benchmarks import nvs_eval

    return nvs_eval


def test_method_specs_take_config_overrides():
    from photo3d.errors import Photo3DError

    nvs_eval = _nvs_eval()
    assert nvs_eval.parse_method("fill") == ("fill", {})
    assert nvs_eval.parse_method("fill:sparse_iter=0:depth_threshold=0.08") == ("fill", {"sparse_iter": 0, "depth_threshold": 0.08})
    for bad in ("blur", "fill:no_such_key=1", "fill:sparse_iter", "warp_inpaint:sparse_iter=0"):
        with pytest.raises(Photo3DError):
            nvs_eval.parse_method(bad)


def test_pooled_psnr_weights_views_by_pixels():
    nvs_eval = _nvs_eval()

    def view(mse, pixels):
        r = ev.RegionScore(ev.psnr_from_mse(mse), 1.0, pixels, mse)
        return ev.ViewScore(1, 0.0, {k: r for k in nvs_eval.REGIONS}, 0.0)

    pooled = nvs_eval.pooled_psnr([view(10.0, 900), view(100.0, 100)])
    assert pooled["all_psnr_pooled"] == pytest.approx(10 * math.log10(255**2 / 19.0))


@pytest.mark.shared_data
@pytest.mark.egl
def test_reveal_breakdown_accounts_for_every_disoccluded_pixel(scene, renderer):
    from photo3d.config import Config

    w, h = scene.size
    result = ev.photo3d_renders(scene, Config.from_keys(longer_side=max(w, h), inpaint="fill"), renderer, views=(0, 2, 5))
    b = ev.reveal_breakdown(scene, result.scene, result.renders)
    expected = 0
    for view in (2, 5):  # t > 0 only; the positions a pixel needs lie inside view1 here
        expected += ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(view)).disoccluded.sum()
    total = sum(b["all"].values())
    assert 0.9 * expected <= total <= expected
    assert all(b["empty"][c] <= b["all"][c] for c in ev.REVEAL_CAUSES)
    # pixels left empty in the renders are counted among the empty ones
    empty = sum(((~result.renders[v][1]) & ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(v)).disoccluded).sum()
                for v in (2, 5))
    assert 0.9 * empty <= sum(b["empty"].values()) <= empty
    # the caller's geometry (as the benchmark passes it) gives the same counts
    geometry = {v: ev.reference_geometry(scene.disp1, scene.disp5, ev.view_shift(v)) for v in (0, 2, 5)}
    assert ev.reveal_breakdown(scene, result.scene, result.renders, geometry=geometry) == b


@pytest.mark.shared_data
@pytest.mark.egl  # the photo3d method renders
def test_benchmark_command_writes_results(scene, middlebury, tmp_path):
    nvs_eval = _nvs_eval()
    rc = nvs_eval.main(["--data", str(middlebury), "--scenes", SCENE, "--max-size", str(SIZE),
                        "--methods", "fill,plain_mesh,warp_inpaint", "--out", str(tmp_path)])
    assert rc == 0
    result = json.loads((tmp_path / "results.json").read_text())
    for m in ("fill", "plain_mesh", "warp_inpaint"):
        views = result["scenes"][SCENE]["methods"][m]["views"]
        assert sorted(views) == [f"view{k}" for k in ev.TARGET_VIEWS]
        for v in views.values():
            assert isinstance(v["regions"]["all"]["psnr"], float) and 10 < v["regions"]["all"]["psnr"] < 60
            assert 0 <= v["empty_fraction"] <= 1
    assert result["scenes"][SCENE]["methods"]["warp_inpaint"]["mean"]["empty_fraction"] == 0
    assert "reveal_breakdown" in result["summary"]["fill"]
    assert "| fill |" in (tmp_path / "results.md").read_text()
    sheet = cv2.imread(str(tmp_path / "sheets" / f"{SCENE}.png"))
    w, h = scene.size
    assert sheet.shape == (3 * h, 3 * w, 3)
