"""The canvas: the working image padded by a band on every side, and the border extension
that fills the band (the border's synthesis region) so that moving cameras do not show
the edge of the photo: a smooth base (the photo's outer ring spread outwards with a blur
that widens with the distance, never sharper along the border than the texture's scale)
plus the photo's own texture reflected about the border from the same surface, so that a
surface goes on as texture, not as lines drawn straight out from its edge pixels. Near
objects crossing the border end in the band, tapering (a slanted one along its own
direction, a curved one along its own outline), and the surface behind them goes on.
"""
from __future__ import annotations

import cv2
import numpy as np

from .data import Canvas, PreparedRGBD

# The spread: a band pixel at distance r px from the photo is a Gaussian mean of the outer
# ring's pixels of its own surface along the border, sigma = BLUR_AT_EDGE_PX + BLUR_SLOPE * r:
# what lies r px beyond the frame is less and less certain, so its colour is the ring's
# local mean over a wider and wider stretch (a cone), never one ring pixel copied straight
# out (which draws streaks). On the 16 Middlebury scenes, outside the frame, slope 1.0 scored
# best of 0.25 / 0.5 / 1.0 / 2.0 (README, "Artefacts at depth edges").
BLUR_AT_EDGE_PX = 0.5
BLUR_SLOPE = 1.0
# The texture: the photo's high frequencies (colour minus its Gaussian blur of sigma
# TEXTURE_SCALE * pad), soft-clipped to TEXTURE_CAP grey levels (RMS over RGB), reflected
# about the photo's outer row/column where the reflection lies on the same surface, added
# with weight TEXTURE_AMPLITUDE * exp(-r / (TEXTURE_FADE * pad)). The base is never sharper
# along the ring than TEXTURE_SCALE * pad (sigma), so next to the photo the band is the
# photo reflected (texture at full strength) and further out the texture fades into the
# blur: texture invented far from the frame cannot be where the real one is and costs PSNR
# there. The cap keeps a mirrored strip or edge (Reindeer's white paper strip beside the
# border) from being drawn at full contrast: uncapped, full strength cost 0.17 dB outside the
# frame (mean over the 16 Middlebury scenes; Reindeer at t = 0.5 -2.2 dB); capped at 20 (and
# fading over 0.5) -0.13 dB, at 12 -0.005 dB, at 10 +0.02 dB against the half-strength
# texture it replaces (README, "Artefacts at depth edges").
TEXTURE_SCALE = 0.1
TEXTURE_AMPLITUDE = 1.0
TEXTURE_FADE = 0.4
TEXTURE_CAP = 10.0
# The ring's trend across the border goes on: the spread starts from ring + RING_TREND x
# (ring - the line inside it) where both lie on the same surface (shading, vignetting);
# +0.06 dB in the border proxy (band of a cropped photo against the cut-away pixels).
RING_TREND = 0.43
# A near object crossing the border ends in the band: each of its ends along the border
# moves in by TAPER_SLOPE px per px outwards (:func:`band_sources`). Outside the frame, on 8
# Middlebury scenes, 1.0 / 0.5 / 0.25 / 0 (a bar) scored 19.17 / 19.69 / 19.93 / 19.95 dB
# (mean over scenes and views): objects that cross the border mostly do go on beyond it, so
# a slow taper, which narrows the bar at no measurable cost.
TAPER_SLOPE = 0.25
# A near object crossing the border at a slant goes on along its own direction
# (:func:`object_directions`, :func:`sheared_sources`): its centreline's slope inside the
# photo (along-ring px per px inwards, a least-squares line through the object's pixels
# within DIRECTION_REACH x its width of the border, connected to its ring run) carries its
# ring pixels sideways by that slope per px outwards. Only clear directions: the object's
# pixels elongated (major / minor axis >= DIRECTION_ELONGATION) and its slope within
# DIRECTION_MAX_SLOPE (steeper runs nearly parallel to the border: it keeps the straight
# taper); |slope| below DIRECTION_MIN_SLOPE is perpendicular (no shear).
# A direction is only clear for a straight object: at most DIRECTION_MAX_OFF_LINE of its
# pixels further than DIRECTION_BAR_WIDTH x the run's width + 1 px (along the ring) from the
# fitted line (a straight bar: none; Art's ring arms at the right border: half).
DIRECTION_REACH = 4.0
DIRECTION_ELONGATION = 2.5
DIRECTION_MAX_SLOPE = 2.0
DIRECTION_MIN_SLOPE = 0.1
DIRECTION_BAR_WIDTH = 0.75
DIRECTION_MAX_OFF_LINE = 0.1
# A curved near object (not elongated or not straight: Art's ring) goes on along its own
# outline (:func:`curved_sources`): its two edges, followed inwards over OUTLINE_ROWS x its
# width (at least 8 rows), fitted with parabolas and carried outwards as far as they were
# followed in, then closing (a chamfer). Only objects up to OUTLINE_MAX_WIDTH x the band
# wide: wider ones go on across the band (they keep the taper). Outside the frame on the 16
# Middlebury scenes (harness, pooled / mean dB), against the taper's 17.52 / 20.82: a
# mirror image of the object and of what lies behind it 17.24 / 20.46 (objects mostly lie
# inside the frame: their mirror overshoots, and it copies structure: Laundry's label),
# the object's shape mirrored in its ring colours 17.38 / 20.75, the outline carried on
# without a reach for any width 17.55 / 20.73 (Baby2's toy, wider than the band, closed
# early) and up to 1 x the band, off the corners, 17.47 / 20.78 (a 3 px strand of Dolls'
# hair became a streak across the band), with the reach and a cut 17.53 / 20.83 (up to 1
# or 2 x the band), with the chamfer 17.53 / 20.81.
OUTLINE_ROWS = 1.0
OUTLINE_MAX_WIDTH = 2.0


def make_canvas(prepared: PreparedRGBD, pad: int) -> Canvas:
    """Pad the prepared image by ``pad`` pixels; the band is filled later by the border fill
    (until then it holds edge-replicated values so that every array is finite)."""
    h, w = prepared.depth.shape
    mode = "edge"
    color = np.pad(prepared.image, ((pad, pad), (pad, pad), (0, 0)), mode=mode)
    depth = np.pad(prepared.depth, pad, mode=mode)
    detect = np.pad(prepared.detect_disparity, pad, mode=mode)
    mask = np.zeros(depth.shape, dtype=bool)
    mask[pad : pad + h, pad : pad + w] = True
    k = prepared.intrinsics.shifted(pad, pad, w + 2 * pad, h + 2 * pad)
    return Canvas(color, depth, detect, mask, pad, k, prepared.depth_scale)


def reflected_index(index: np.ndarray, start: int, length: int) -> np.ndarray:
    """Canvas coordinates mirrored into the image span ``start .. start + length - 1`` about
    its first and last pixels (reflect-101, folded again for bands wider than the image).
    (N,) int -> (N,) int."""
    if length == 1:
        return np.full_like(index, start)
    period = 2 * (length - 1)
    offset = np.mod(index - start, period)
    return start + np.where(offset < length, offset, period - offset)


def spread_distances(pad: int) -> np.ndarray:
    """The distances (px) at which :func:`spread_line` computes the spread: every one up to
    8, then 15 % apart (the blur changes slowly there; the rest are interpolated)."""
    far = np.geomspace(8, max(pad, 8), num=max(int(np.ceil(np.log(max(pad, 8) / 8) / np.log(1.15))) + 1, 2))
    return np.unique(np.concatenate([np.arange(1, min(pad, 8) + 1), np.round(far)]).astype(int).clip(1, pad))


def ring_runs(disparity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) ring indices of the runs of neighbours within ``threshold`` of each other
    (a cut between two neighbours starts a new run). (N,) -> (R,), (R,) int."""
    starts = np.concatenate([[0], np.nonzero(np.abs(np.diff(disparity)) > threshold)[0] + 1])
    return starts, np.concatenate([starts[1:] - 1, [disparity.size - 1]])


def surface_runs(disparity: np.ndarray, threshold: float) -> np.ndarray:
    """Surface labels along a ring: runs of neighbours within ``threshold`` of each other
    (a cut between them starts a new run), and the two runs on either side of a nearer
    run joined into one where they meet behind it (their facing ends within ``threshold``):
    a wall seen on both sides of a ring's arm, or through the ring's hole, is one surface
    whose colours mix in the band once the arm has ended there. (N,) -> (N,) int labels."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    starts, ends = ring_runs(disparity, threshold)
    run = np.repeat(np.arange(starts.size), ends - starts + 1)
    count = starts.size
    if count < 3:
        return run
    first, last = disparity[starts], disparity[ends]
    j = np.arange(1, count - 1)
    nearer = (first[j] > last[j - 1] + threshold) & (last[j] > first[j + 1] + threshold)
    meet = nearer & (np.abs(last[j - 1] - first[j + 1]) <= threshold)
    if not meet.any():
        return run
    a, b = j[meet] - 1, j[meet] + 1
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(count, count))
    _, label = connected_components(graph, directed=False)
    return label[run]


def spread_line(color: np.ndarray, disparity: np.ndarray, pad: int, threshold: float,
                min_sigma: float = 0.0) -> np.ndarray:
    """The outer ring of one side spread outwards: row r - 1 of the result (r = 1 .. pad px
    from the ring) is, at each ring position, the Gaussian-weighted mean along the ring of
    the ring pixels on that position's surface (reached without a disparity step larger
    than ``threshold``; :func:`surface_runs`), with
    sigma = max(BLUR_AT_EDGE_PX + BLUR_SLOPE * r, ``min_sigma``) (computed at
    :func:`spread_distances`, linearly interpolated between them).

    Args:
        color: (N, 3) float32 ring colours; disparity: (N,) detection disparity.
    Returns:
        (pad, N, 3) float32.
    """
    n = color.shape[0]
    dists = spread_distances(pad)
    sigma = np.maximum(BLUR_AT_EDGE_PX + BLUR_SLOPE * dists.astype(np.float32), np.float32(min_sigma))
    reach = int(min(np.ceil(3.0 * sigma[-1]), n - 1))
    offsets = np.arange(-reach, reach + 1)
    pos = offsets[:, None] + np.arange(n)[None]  # (K, N): offset-major, so the products need no transpose
    src = np.clip(pos, 0, n - 1)
    # surfaces along the ring: runs of neighbours within ``threshold`` of each other (a cut
    # between them starts a new run), so a slanted surface, a ground plane along the bottom
    # border, is one surface however far its ends differ (a pairwise test split it into
    # bands a few px high, which the spread drew as streaks)
    run = surface_runs(disparity, threshold)
    same = ((pos >= 0) & (pos < n) & (run[src] == run[None])).astype(np.float32)
    weights = np.exp(-0.5 * (offsets[None] / sigma[:, None]) ** 2).astype(np.float32)  # (D, K)
    weights[np.abs(offsets)[None] > np.ceil(3.0 * sigma)[:, None]] = 0.0  # each distance's own 3 sigma
    # one matrix product per side, (D, K) @ (K, N * 4): weighted colours and weights summed
    # together (a separate (D, K) @ (K, N) product took 100x longer in OpenBLAS's threads on
    # a busy machine); the offset 0 (the pixel itself, always on its own surface) keeps every
    # sum of weights positive
    values = np.concatenate([same[..., None] * color[src], same[..., None]], axis=2).reshape(offsets.size, n * 4)
    sums = (weights @ values).reshape(dists.size, n, 4)
    spread = sums[..., :3] / sums[..., 3:]
    r = np.arange(1, pad + 1)
    hi = np.searchsorted(dists, r).clip(0, dists.size - 1)
    lo = np.maximum(hi - 1, 0)
    span = np.maximum(dists[hi] - dists[lo], 1)
    t = np.where(dists[hi] == r, 1.0, (r - dists[lo]) / span).astype(np.float32)[:, None, None]
    return (1 - t) * spread[lo] + t * spread[hi]


def band_sources(disparity: np.ndarray, pad: int, threshold: float, slope: float | None = None) -> np.ndarray:
    """Which ring pixel each band pixel of one side continues: row r - 1 of the result
    (r = 1 .. pad px from the ring) holds, per ring position, the index of the ring pixel
    whose depth and colour it takes.

    A surface continues straight out, except where it is nearer than its neighbour along
    the ring by more than ``threshold`` (a near object crossing the border: Art's ring, a
    rope): there it ends, one ring pixel further in from each such end per pixel outwards
    (a 45-degree taper), and the farther surface beside it continues in its place. Carried
    straight out, a near object became a bar across the band that hid the background
    continuing behind it and, on big moves, let the layer inpainted behind that bar peek out
    past the band's outer edge.

    Args:
        disparity: (N,) detection disparity of the ring.
    Returns:
        (pad, N) int64 ring indices.
    """
    n = disparity.shape[0]
    slope = TAPER_SLOPE if slope is None else slope
    src = np.arange(n)
    out = np.empty((pad, n), dtype=np.int64)
    # the rows at which the ends move one pixel in: ``slope`` px per px outwards
    steps = np.diff(np.floor(slope * np.arange(pad + 1) + 1e-9).astype(int))
    for r in range(pad):
        if steps[r] == 0:
            out[r] = src
            continue
        left, right = np.concatenate([src[:1], src[:-1]]), np.concatenate([src[1:], src[-1:]])
        d, dl, dr = disparity[src], disparity[left], disparity[right]
        # a position takes its farther neighbour's surface (the farther of two)
        take_l = (dl < d - threshold) & ((dl <= dr) | ~(dr < d - threshold))
        take_r = (dr < d - threshold) & ~take_l
        src = np.where(take_l, left, np.where(take_r, right, src))
        out[r] = src
    return out


def near_runs(disparity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The ring's near runs (:func:`ring_runs`) nearer by more than ``threshold`` than the runs
    on both sides (one side at the ring's ends). (N,) -> [(first, last)] ring indices."""
    starts, ends = ring_runs(disparity, threshold)
    first, last = disparity[starts], disparity[ends]
    near = np.r_[True, first[1:] > last[:-1] + threshold] & np.r_[last[:-1] > first[1:] + threshold, True]
    near &= (starts > 0) | (ends < disparity.size - 1)
    return [(int(a), int(b)) for a, b in zip(starts[near], ends[near])]


def object_directions(interior: np.ndarray,
                      threshold: float) -> tuple[list[tuple[int, int, float]], list[tuple[int, int]]]:
    """The near runs of the ring (row 0 of ``interior``) by shape: those with a clear straight
    direction, with their slope (along-ring px per px inwards) from a least-squares line
    through the run's pixels (disparity within ``threshold`` of the run's farthest,
    4-connected to the run) in the first DIRECTION_REACH x its width rows inwards, and those
    whose pixels there are not elongated or stray from that line (a curved object, a blob:
    Art's ring), which have no straight direction.

    Args:
        interior: (D, N) disparity, row d = d px inwards from the ring.
    Returns:
        (slanted, curved): [(first, last, slope)] for elongated runs with
        DIRECTION_MIN_SLOPE <= |slope| <= DIRECTION_MAX_SLOPE (see the module constants), and
        [(first, last)] for the runs that are not elongated or not straight. Runs of fewer
        than 8 px or 4 rows, straight perpendicular ones and straight ones nearly parallel to
        the border are in neither (they taper).
    """
    depth_in, n = interior.shape
    slanted, curved = [], []
    for a, b in near_runs(interior[0], threshold):
        width = b - a + 1
        reach = int(min(depth_in, max(4, np.ceil(DIRECTION_REACH * width))))
        lo = max(0, a - int(DIRECTION_MAX_SLOPE * reach))
        hi = min(n, b + 1 + int(DIRECTION_MAX_SLOPE * reach))
        window = interior[:reach, lo:hi]
        mask = (window >= interior[0, a : b + 1].min() - threshold).astype(np.uint8)
        _, labels = cv2.connectedComponents(mask, connectivity=4)
        label = labels[0, a - lo]
        ys, xs = np.nonzero(labels == label)
        if ys.size < 8 or np.ptp(ys) < 3:
            continue
        ys, xs = ys.astype(np.float64), xs.astype(np.float64)
        cov = np.cov(np.stack([ys, xs]))
        ev = np.linalg.eigvalsh(cov)
        slope = float(cov[0, 1] / cov[0, 0])
        # straight: the pixels stay within a bar of the run's width about the fitted line
        off_line = np.abs(xs - xs.mean() - slope * (ys - ys.mean())) > DIRECTION_BAR_WIDTH * width + 1
        elongated = ev[0] == 0 or np.sqrt(ev[1] / ev[0]) >= DIRECTION_ELONGATION  # (0: a perfect line)
        if not elongated or off_line.mean() > DIRECTION_MAX_OFF_LINE:
            curved.append((a, b))
        elif DIRECTION_MIN_SLOPE <= abs(slope) <= DIRECTION_MAX_SLOPE:
            slanted.append((a, b, slope))
    return slanted, curved


def remove_remnant(out: np.ndarray, src: np.ndarray, a: int, b: int) -> None:
    """In place: the columns ``a .. b`` of ``out`` (pad, N) take, each half, the source of the
    surface beside the near run ``a .. b`` in ``src`` (its straight remnant gone: the
    surfaces beside it go on behind it)."""
    n = src.shape[1]
    side_l = src[:, a - 1] if a > 0 else src[:, b + 1]
    side_r = src[:, b + 1] if b < n - 1 else src[:, a - 1]
    cols = np.arange(a, b + 1)
    out[:, a : b + 1] = np.where((cols - a) <= (b - cols), side_l[:, None], side_r[:, None])


def sheared_sources(src: np.ndarray, disparity: np.ndarray, objects: list[tuple[int, int, float]]) -> np.ndarray:
    """:func:`band_sources`' ring indices with the slanted near objects carried along their
    own direction: object ``(a, b, s)`` is, at r px outwards, the ring run shifted by
    -s x r along the ring, each end moving in by TAPER_SLOPE px per px (the taper); its own
    columns behind it take the nearer end's neighbour's source (the surface beside it);
    nearer objects drawn last (nearer wins). (pad, N) -> (pad, N) int64."""
    pad, n = src.shape
    taper = TAPER_SLOPE
    out = src.copy()
    r = np.arange(1, pad + 1, dtype=np.float64)[:, None]
    p = np.arange(n)[None]
    for a, b, _ in objects:
        remove_remnant(out, src, a, b)
    for a, b, s in sorted(objects, key=lambda o: disparity[o[0] : o[1] + 1].mean()):
        back = p + s * r  # the ring position a band pixel continues, along the object's line
        inside = (back >= a - 0.5 + taper * (r - 1)) & (back <= b + 0.5 - taper * (r - 1))
        out = np.where(inside, np.clip(np.rint(back), a, b).astype(np.int64), out)
    return out


def outline_edges(own: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The object's two edges along the ring, row by row inwards: in row d, the extent of
    the pixels of ``own`` (D, N) in the segments that overlap row d - 1's extent (from the
    run ``a .. b`` in row 0), until none does or an edge jumps by more than
    DIRECTION_MAX_SLOPE + 1 px (the object joins something bigger: a star's spike its
    body). Returns (first, last) (M,) float, M <= D."""
    first, last = [float(a)], [float(b)]
    lo, hi = a, b
    jump = DIRECTION_MAX_SLOPE + 1
    for row in own[1:]:
        edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1
        meet = (starts <= hi) & (ends >= lo)
        if not meet.any():
            break
        new_lo, new_hi = int(starts[meet].min()), int(ends[meet].max())
        if abs(new_lo - lo) > jump or abs(new_hi - hi) > jump:
            break
        lo, hi = new_lo, new_hi
        first.append(float(lo))
        last.append(float(hi))
    return np.asarray(first), np.asarray(last)


def carried_edges(first: np.ndarray, last: np.ndarray, a: int, b: int,
                  pad: int) -> tuple[np.ndarray, np.ndarray]:
    """An object's two edges (:func:`outline_edges`, row d inwards) carried outwards: each
    fitted with a parabola in d and evaluated at d = -r (r = 1 .. pad px outwards), moving
    at most DIRECTION_MAX_SLOPE px per px from its ring end; beyond the rows they were
    followed in (M, beyond which the parabola is not to be trusted: the object reaches about
    as far out as its mirror image would), from where they were at M px out, closing at
    DIRECTION_MAX_SLOPE px per px each (a chamfer, not a cut along the border).
    (M,) x 2 -> (pad,) x 2 float."""
    r = np.arange(1, pad + 1, dtype=np.float64)
    d = np.arange(first.size, dtype=np.float64)
    degree = min(2, first.size - 1)
    trusted = np.minimum(r, first.size)  # beyond: where they had got to, closing
    closing = DIRECTION_MAX_SLOPE * (r - trusted)
    lo, hi = (np.clip(np.polyval(np.polyfit(d, edge, degree), -trusted),
                      end - DIRECTION_MAX_SLOPE * trusted, end + DIRECTION_MAX_SLOPE * trusted)
              for edge, end in ((first, a), (last, b)))
    return lo + closing, hi - closing


def group_extent(group: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The band pixels of one object from the carried edges of its runs in ring order,
    [(lo, hi)] with (pad,) each: between a run's lo and hi, and once the gap to the next
    run has closed (its hi met the next one's lo: a ring's hole) for good, from the block's
    first lo to its last hi; a block ends for good where its edges meet. -> (pad, N) bool."""
    pad = group[0][0].size
    p = np.arange(n)[None]
    inside = np.zeros((pad, n), dtype=bool)
    start = group[0][0]  # per row: the lo of the block the current run belongs to
    for (_, hi), following in zip(group, group[1:] + [None]):
        closed = (np.cumsum(hi >= following[0] - 0.5) > 0) if following is not None else np.zeros(pad, bool)
        alive = np.cumprod(start <= hi + 0.5).astype(bool) & ~closed
        inside |= alive[:, None] & (p >= np.rint(start)[:, None]) & (p <= np.rint(hi)[:, None])
        if following is not None:
            start = np.where(closed, start, following[0])
    return inside


def curved_sources(src: np.ndarray, interior: np.ndarray, threshold: float,
                   objects: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`band_sources`' ring indices with the curved near objects (no straight direction:
    :func:`object_directions`) continued along their own outline: each object's two edges
    (its pixels within OUTLINE_ROWS x its width of the border, disparity no more than
    ``threshold`` farther than the run's farthest, 4-connected to the run:
    :func:`outline_edges`) keep their slope and bend on as they bend inside
    (:func:`carried_edges`), so a disc closes as a disc, a ring's arms bend towards each
    other over its hole and close (runs of one object form one group: :func:`group_extent`),
    a straight edge stays straight, rather than each run going straight out as a bar
    narrowing to a point. Its band pixels take the nearest of its ring pixels as their
    source; elsewhere in its columns the surfaces beside it go on (:func:`remove_remnant`).
    Objects wider than OUTLINE_MAX_WIDTH x the band, or in a corner (whose outline the
    corner hides), are left as they are. Nearer objects drawn last.

    Args:
        src: (pad, N) ring indices; interior: (D, N) disparity, row d = d px inwards.
    Returns:
        (sources (pad, N) int64, drawn (pad, N) bool: the band pixels an object was drawn on).
    """
    pad, n = src.shape
    out = src.copy()
    drawn = np.zeros((pad, n), dtype=bool)
    ring = interior[0]
    objects = [(a, b) for a, b in objects if b - a + 1 <= OUTLINE_MAX_WIDTH * pad and a > 0 and b < n - 1]
    for a, b in objects:
        remove_remnant(out, src, a, b)
    groups: list[list[tuple[int, int, np.ndarray, np.ndarray]]] = []
    previous = None  # (labels, first ring index) of the last run fitted
    for a, b in sorted(objects):
        rows = int(min(interior.shape[0], max(8, np.ceil(OUTLINE_ROWS * (b - a + 1)))))
        mask = (interior[:rows] >= ring[a : b + 1].min() - threshold).astype(np.uint8)
        _, labels = cv2.connectedComponents(mask, connectivity=4)
        first, last = outline_edges(labels == labels[0, a], a, b)
        if first.size < 2:
            continue  # a one-row object: its remnant is gone, nothing goes on
        edges = (a, b, *carried_edges(first, last, a, b, pad))
        if previous is not None and previous[0][0, a] == previous[0][0, previous[1]]:
            groups[-1].append(edges)  # 4-connected to the run before it: the same object
        else:
            groups.append([edges])
        previous = (labels, a)
    along = np.arange(n)
    for group in sorted(groups, key=lambda g: np.mean([ring[a : b + 1].mean() for a, b, _, _ in g])):
        inside = group_extent([(lo, hi) for _, _, lo, hi in group], n)
        # each pixel's source: the nearest of the object's ring pixels
        cols = np.concatenate([np.arange(a, b + 1) for a, b, _, _ in group])
        k = np.searchsorted(cols, along).clip(1, max(cols.size - 1, 1))
        left, right = cols[k - 1], cols[np.minimum(k, cols.size - 1)]
        nearest = np.where(np.abs(along - left) <= np.abs(right - along), left, right)
        out = np.where(inside, nearest[None], out)
        drawn |= inside
    return out, drawn


def fill_border(canvas: Canvas, depth_threshold: float, follow_direction: bool = True) -> Canvas:
    """Extend the photo into the canvas band (the border's synthesis region).

    Depth continues each border pixel straight outwards, so discontinuities that reach the
    border continue as clean cuts, except that a near object crossing the border ends in
    the band, tapering, and the surface beside it continues in its place
    (:func:`band_sources`); one crossing at a slant goes on along its own direction, a
    curved one along its own outline (``follow_direction``: :func:`object_directions`,
    :func:`sheared_sources`, :func:`curved_sources`).
    Colour: a smooth base plus the photo's own texture. The base is the outer ring spread
    outwards (:func:`spread_line`, left and right sides on the photo's rows first, then top
    and bottom on the full canvas width, corners included), never mixing surfaces and never
    sharper along the ring than the texture's scale, so no ring pixel is drawn straight out
    as a line. The texture is the photo's high frequencies reflected about the border from
    the same surface (where a near object has ended, reflected about the object's end along
    the border too, so that it comes from the surface that goes on in its place), at full
    strength next to the photo and fading further out (see the module constants).
    """
    if canvas.pad == 0:
        return canvas
    pad = canvas.pad
    hc, wc = canvas.shape
    h, w = hc - 2 * pad, wc - 2 * pad
    threshold = float(depth_threshold)
    disp = canvas.detect_disparity.copy()
    depth = canvas.depth.copy()
    color = canvas.color.astype(np.float32)
    rows = slice(pad, pad + h)
    image = canvas.color[rows, pad : pad + w].astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), max(TEXTURE_SCALE * pad, 1.0))
    size = np.sqrt((detail * detail).mean(axis=2, keepdims=True))
    detail *= TEXTURE_CAP / np.maximum(size, TEXTURE_CAP)  # soft clip: strips and edges are no texture
    r = np.arange(1, pad + 1, dtype=np.float32)
    amplitude = (TEXTURE_AMPLITUDE * np.exp(-r / max(TEXTURE_FADE * pad, 1.0)))[:, None]

    def side(ring: tuple, band: tuple, columns: bool, ring_at: int, outward: int) -> None:
        # one side's band: (pad, N) values from the ring (canvas row or column ``ring_at``)
        # outwards (``outward`` +1 or -1), flipped when the band runs towards the ring
        # (outward -1), transposed for the left and right bands (columns, on the photo's rows)
        along0 = pad if columns else 0  # canvas index of the ring's first position
        src = band_sources(disp[ring], pad, threshold)
        curved_px = np.zeros(src.shape, dtype=bool)
        if follow_direction:
            interior = disp[rows, pad : pad + w] if columns else disp[rows]
            interior = interior[:, ::-1] if columns and outward > 0 else interior
            interior = interior[::-1] if not columns and outward > 0 else interior
            interior = interior.T if columns else interior
            slanted, curved = object_directions(interior, threshold)
            if curved:
                src, curved_px = curved_sources(src, interior, threshold, curved)
            if slanted:
                unsheared = src
                src = sheared_sources(src, disp[ring], slanted)
                curved_px &= src == unsheared  # (a slanted object drawn over a curved one)
        # the ring's colour with its trend across the border continued (ring + RING_TREND x
        # (ring - the line inside it), where that line is on the same surface): shading and
        # vignetting go on outwards
        inner = reflected_index(np.full(1, ring_at - outward), pad, h if not columns else w)[0]
        inner_at = (rows, inner) if columns else (inner, ring[1])
        ring_color = color[ring]
        trend = (np.abs(disp[inner_at] - disp[ring]) <= threshold)[:, None] * (ring_color - color[inner_at])
        ring_color = ring_color + np.float32(RING_TREND) * trend
        spread = spread_line(ring_color, disp[ring], pad, threshold, min_sigma=TEXTURE_SCALE * pad)
        value_disp = disp[ring][src]
        # the texture: the mirror of each band pixel about the ring, in canvas coordinates
        # (about the ring pixel it continues along the ring too, so that it comes from its own
        # surface; a curved object's pixels, which bend away from the ring pixels they take,
        # about the ring only: their own mirror image, where that is the object)
        n = src.shape[1]
        along = np.arange(n)[None]
        mirror_along = reflected_index((along0 + np.where(curved_px, along, 2 * src - along)).ravel(),
                                       pad, w if not columns else h)
        mirror_normal = reflected_index(np.repeat(ring_at - outward * r.astype(int), n),
                                        pad, h if not columns else w)
        my, mx = (mirror_along, mirror_normal) if columns else (mirror_normal, mirror_along)
        same = (np.abs(disp[my, mx] - value_disp.ravel()) <= threshold).reshape(pad, n)
        texture = detail[my - pad, mx - pad].reshape(pad, n, 3)
        value_color = (np.take_along_axis(spread, src[..., None], axis=1)
                       + (amplitude * same)[..., None] * texture)
        for array, value in zip((color, disp, depth), (value_color, value_disp, depth[ring][src])):
            value = value if outward > 0 else value[::-1]
            array[band] = np.swapaxes(value, 0, 1) if columns else value

    side((rows, pad + w - 1), (rows, slice(pad + w, None)), True, pad + w - 1, 1)
    side((rows, pad), (rows, slice(0, pad)), True, pad, -1)
    side((pad, slice(None)), (slice(0, pad), slice(None)), False, pad, -1)
    side((pad + h - 1, slice(None)), (slice(pad + h, None), slice(None)), False, pad + h - 1, 1)
    out = np.clip(color + 0.5, 0, 255).astype(np.uint8)
    return Canvas(out, depth, disp, canvas.image_mask, canvas.pad, canvas.intrinsics, canvas.depth_scale)
