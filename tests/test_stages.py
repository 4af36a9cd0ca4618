"""Per-stage invariants of the pipeline on small synthetic scenes."""
from __future__ import annotations

import numpy as np
import pytest

from photo3d.errors import Photo3DError
from photo3d.core.ldi import front_layer
from photo3d.core.mesh import build_mesh, ldi_triangles
from photo3d.pipeline import build_scene
from photo3d.core.prepare import check_and_fill, discontinuity_map, normalize_disparity, sparse_median_filter
from photo3d.core.discontinuities import detect_discontinuities
from photo3d.core.regions import grow_labels

from scenes import small_config, square_scene


@pytest.fixture(scope="module")
def scene():
    # Metric depth (normalize=False: no box blur) and sparse_iter=1 (no median pass): the square
    # keeps its exact outline, so colour edges coincide with depth edges. (The reference's blur
    # and median round corners, moving depth edges off colour edges.)
    image, depth, fg = square_scene()
    return build_scene(image, depth, small_config(sparse_iter=1), kind="depth", normalize=False), fg


# ---------------------------------------------------------------- preparation
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


# ---------------------------------------------------------------- discontinuities
def test_links_are_cut_exactly_at_the_depth_step():
    disp = np.full((20, 30), 0.5, np.float32)
    disp[5:15, 10:20] = 2.0
    disc = detect_discontinuities(disp, small_config(min_edge_length=2, min_island_size=2))
    cut_r = ~disc.link_right
    expected = np.zeros_like(cut_r)
    expected[5:15, 9] = True
    expected[5:15, 19] = True
    assert np.array_equal(cut_r, expected)
    assert disc.near_edge[5:15, 10].all() and disc.far_edge[5:15, 9].all()
    assert disc.num_segments >= 1


def test_short_fragments_are_healed_and_small_islands_reattached():
    disp = np.full((40, 40), 0.5, np.float32)
    disp[5, 5] = 2.0  # a one-pixel spike: an isolated fragment
    disp[20:30, 20:30] = 2.0  # a real object (100 px)
    disc = detect_discontinuities(disp, small_config(min_edge_length=3, min_island_size=50))
    assert disc.link_right[5, 4] and disc.link_right[5, 5]
    assert not disc.link_right[25, 19]  # the object's edge stays cut
    disc2 = detect_discontinuities(disp, small_config(min_edge_length=3, min_island_size=150))
    assert disc2.link_right[25, 19]  # now the object is an island smaller than 150 px: re-attached


# ---------------------------------------------------------------- LDI, regions, fill
def test_ldi_links_are_symmetric_and_join_neighbours(scene):
    sc, _ = scene
    sc.ldi.check_links()
    assert sc.ldi.layer.max() == 1  # one inpainted layer
    order, offsets = sc.ldi.position_index()
    stacked = np.diff(offsets)
    assert stacked.min() >= 1 and stacked.max() == 2
    # front to back at each position
    multi = np.nonzero(stacked == 2)[0]
    first, second = order[offsets[multi]], order[offsets[multi] + 1]
    assert (sc.ldi.depth[first] < sc.ldi.depth[second]).all()


def test_ldi_to_networkx_matches_links(scene):
    sc, _ = scene
    g = sc.ldi.to_networkx(20, 20, 40, 40)
    for p, q in list(g.edges)[:200]:
        assert q in sc.ldi.links[p]


def test_synthesized_pixels_lie_only_behind_the_foreground(scene):
    sc, fg = scene
    pad = sc.canvas.pad
    syn = sc.fill.mask
    assert syn.sum() > 50
    ys, xs = np.nonzero(syn)
    # behind the front surface at the same position
    assert (sc.fill.disparity[ys, xs] < sc.canvas.detect_disparity[ys, xs]).all()
    # inside the image they are under the foreground square (or its 1-px rim)
    inside = sc.canvas.image_mask[ys, xs]
    fg_canvas = np.zeros(sc.canvas.shape, bool)
    fg_canvas[pad : pad + fg.shape[0], pad : pad + fg.shape[1]] = fg
    assert fg_canvas[ys[inside], xs[inside]].all()
    # and their depth continues the background plane (z = 4), not the foreground (z = 2)
    np.testing.assert_allclose(sc.fill.depth[syn], 4.0, rtol=0.02)


def test_context_regions_never_cross_a_discontinuity(scene):
    sc, fg = scene
    ctx = sc.regions.context_label > 0
    # no context pixel is on the foreground (as the prepared depth has it)
    fg_canvas = sc.canvas.detect_disparity > 1.5
    assert ctx.sum() > 100 and fg_canvas.sum() > 100
    assert not (ctx & fg_canvas).any()
    # regions of one segment are disjoint from synthesis positions of the same segment
    same = (sc.regions.context_label == sc.regions.synthesis_label) & (sc.regions.context_label > 0)
    assert not same.any()


def test_foreground_colour_never_bleeds_into_the_revealed_background(scene):
    sc, _ = scene
    colors = sc.fill.color[sc.fill.mask].astype(int)
    # the background is blue-green (R ~ 40), the foreground red (R ~ 220)
    assert colors[:, 0].max() < 110, colors[:, 0].max()


def test_grow_labels_respects_steps_and_blocking():
    # a path graph 0-1-2-...-9
    n = 10
    nb = np.full((n, 2), -1)
    nb[1:, 0] = np.arange(n - 1)
    nb[:-1, 1] = np.arange(1, n)
    lab = grow_labels(nb, np.array([0, 9]), np.array([1, 2]), steps=3)
    assert lab.tolist() == [1, 1, 1, 1, 0, 0, 2, 2, 2, 2]
    blocked = np.zeros(n, np.int32)
    blocked[2] = 1
    lab = grow_labels(nb, np.array([0]), np.array([1]), steps=5, blocked=blocked)
    assert lab.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]


# ---------------------------------------------------------------- mesh
def test_no_face_spans_a_cut_link(scene):
    sc, _ = scene
    ldi = sc.ldi
    faces = ldi_triangles(ldi.links)
    assert faces.shape[0] > 0
    for a, b in ((0, 1), (1, 2), (0, 2)):
        p, q = faces[:, a], faces[:, b]
        dx = np.abs(ldi.x[p] - ldi.x[q])
        dy = np.abs(ldi.y[p] - ldi.y[q])
        assert (np.maximum(dx, dy) == 1).all()  # neighbours or diagonal neighbours only
        side = (dx + dy) == 1
        linked = (ldi.links[p[side]] == q[side][:, None]).any(1)
        assert linked.all()


def test_full_grid_gives_two_triangles_per_quad():
    image = np.zeros((5, 6, 3), np.uint8)
    depth = np.full((5, 6), 2.0, np.float32)
    from photo3d.core.data import Canvas, Discontinuities
    from photo3d.core.data import Intrinsics

    k = Intrinsics.default(6, 5)
    canvas = Canvas(image, depth, 1 / depth, np.ones((5, 6), bool), 0, k)
    disc = Discontinuities(np.ones((5, 5), bool), np.ones((4, 6), bool), np.zeros((5, 6), bool),
                           np.zeros((5, 6), bool), np.zeros((5, 6), np.int32), 0)
    ldi = front_layer(canvas, disc)
    assert ldi_triangles(ldi.links).shape[0] == 2 * 4 * 5
    mesh = build_mesh(ldi)
    # vertices back-project to their pixel centres at depth 2
    n = ldi.num_pixels
    u = mesh.vertices[:n, 0] / mesh.vertices[:n, 2] * k.fx + k.cx
    assert np.allclose(u, ldi.x)
    # the outer ring of pixels gets facets (its outer half-pixel has no triangle): 18 pixels
    assert mesh.num_vertices == n + 4 * 18


def test_edge_pixels_get_their_own_facet(scene):
    sc, _ = scene
    n = sc.ldi.num_pixels
    extra_vertices = sc.mesh.num_vertices - n
    assert extra_vertices > 0 and extra_vertices % 4 == 0
