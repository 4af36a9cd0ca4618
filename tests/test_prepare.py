"""photo3d.core.prepare: the reference's disparity normalisation, depth checks and hole
filling, and the sparse weighted-median clean-up."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d.core.prepare import check_and_fill, discontinuity_map, normalize_disparity, sparse_median_filter
from photo3d.errors import Photo3DError


def test_normalize_disparity_matches_reference_range():
    rng = np.random.default_rng(0)
    raw = rng.random((40, 60)).astype(np.float32) * 7 + 2
    disp = normalize_disparity(raw, (60, 40), 3.0, 0.05)
    assert disp.shape == (40, 60)
    assert disp.max() == pytest.approx(3.0, rel=1e-5)
    assert disp.min() >= 0.05
    up = normalize_disparity(raw, (90, 60), 3.0, 0.05)  # resized bilinearly afterwards
    assert up.shape == (60, 90) and 0.05 <= up.min() and up.max() <= 3.0 + 1e-5


@pytest.mark.parametrize(
    "values, kind, message",
    [
        (np.zeros((0, 5)), "depth", "empty"),
        (np.full((8, 8), np.nan), "disparity", "no finite"),
        (np.full((8, 8), 3.0), "disparity", "constant"),
        (np.linspace(-1, 1, 64).reshape(8, 8), "depth", "negative"),
    ],
)
def test_bad_depth_is_refused_with_the_source_named(values, kind, message):
    with pytest.raises(Photo3DError, match=message) as err:
        check_and_fill(values, kind, "scene.npy")
    assert str(err.value).startswith("scene.npy:")


def test_holes_inside_valid_depth_are_filled_from_neighbours():
    depth = np.full((10, 10), 2.0, np.float32)
    depth[:, 5:] = 4.0
    depth[2, 2] = np.nan
    depth[7, 7] = 0.0
    depth[3, 8] = np.inf
    filled = check_and_fill(depth, "depth", "d")
    assert np.isfinite(filled).all()
    assert filled[2, 2] == 2.0 and filled[7, 7] == 4.0 and filled[3, 8] == 4.0


def test_sparse_median_turns_a_blurred_step_into_a_clean_step():
    depth = np.full((30, 30), 4.0, np.float32)
    depth[:, 15:] = 1.0
    depth[:, 14] = 2.0  # an intermediate "flying pixel" column, as estimators produce
    depth[:, 15] = 1.4
    out = sparse_median_filter(depth, 0.04, [7, 7, 5, 5])
    interior = out[5:-5]
    values = np.unique(np.round(interior, 4))
    assert set(values.tolist()) == {1.0, 4.0}, values
    # flat areas far from the edge are untouched
    assert np.array_equal(out[5:-5, 2:6], depth[5:-5, 2:6])


def _reference_median_pass(depth: np.ndarray, threshold: float, size: int) -> np.ndarray:
    """One pass of the reference's sparse weighted median, written out per pixel (a slow
    oracle from REFERENCE_PIPELINE.md §0 and bilateral_filtering.py's behaviour): flags
    are computed on the depth as given; then the outer ring of depth and flags copies
    ring 1; a pixel whose window holds a flag takes the median of the unflagged depths."""
    flags = discontinuity_map(depth, threshold)
    ring = lambda a: np.pad(a[1:-1, 1:-1], 1, mode="edge")  # noqa: E731
    depth, flags = ring(depth), ring(flags)
    r = size // 2
    pd, pf = np.pad(depth, r, mode="edge"), np.pad(flags, r, mode="edge")
    out = depth.copy()
    for y in range(depth.shape[0]):
        for x in range(depth.shape[1]):
            wd, wf = pd[y : y + size, x : x + size].ravel(), pf[y : y + size, x : x + size].ravel()
            if not wf.any() or wf.all():
                continue
            order = np.argsort(wd, kind="stable")
            count = np.cumsum(~wf[order])
            out[y, x] = wd[order][int((2 * count <= count[-1]).sum())]
    return out


def test_sparse_median_matches_a_per_pixel_reference_including_the_border():
    # Regression: flagging after the ring reset (and leaving the ring unflagged) changed
    # 145 of these 323 pixels.
    rng = np.random.default_rng(3)
    depth = np.where(rng.random((17, 19)) < 0.5, 1.0, 3.0).astype(np.float32)
    depth[:, :9] = 2.0
    depth += rng.random(depth.shape).astype(np.float32) * 0.01
    expected = depth.copy()
    for size in (7, 5, 5):
        expected = _reference_median_pass(expected, 0.04, size)
    out = sparse_median_filter(depth, 0.04, [7, 5, 5])
    np.testing.assert_array_equal(out, expected)


def test_sparse_median_leaves_maps_without_an_interior_alone():
    depth = np.array([[1.0, 5.0, 1.0, 5.0]], np.float32)
    np.testing.assert_array_equal(sparse_median_filter(depth, 0.04, [7]), depth)


def test_normalize_disparity_shrinks_without_aliasing():
    # The reference resizes with skimage (Gaussian prefilter when shrinking): fine stripes
    # average out instead of aliasing into coarse bands.
    raw = np.zeros((64, 64), np.float32)
    raw[:, ::4] = 1.0
    raw[:, 1::4] = 1.0
    raw[0, 0] = 2.0  # max away from the stripes' level
    out = normalize_disparity(raw, (9, 9), 3.0, 0.0)
    assert out[2:-2, 2:-2].std() < 0.05 * out[2:-2, 2:-2].mean()


def test_normalize_disparity_blurs_with_opencvs_default_border():
    from scipy import ndimage

    raw = np.zeros((6, 7), np.float32)
    raw[0, 0], raw[5, 3] = 1.0, 0.5
    out = normalize_disparity(raw, (7, 6), 3.0, 0.0)
    expected = ndimage.uniform_filter(raw, 3, mode="mirror")  # mirror = reflect-101
    np.testing.assert_allclose(out, expected / expected.max() * 3.0, rtol=1e-5, atol=1e-6)


def test_discontinuity_map_flags_both_sides_of_a_jump_but_not_the_outer_ring():
    depth = np.full((12, 12), 4.0, np.float32)
    depth[:, 6:] = 1.0
    flags = discontinuity_map(depth, 0.04)
    assert flags[1:-1, 5].all() and flags[1:-1, 6].all()
    assert not flags[0].any() and not flags[:, [0, -1]].any()
    assert flags.sum() == 2 * 10
