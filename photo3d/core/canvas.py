"""The canvas: the working image padded by a band on every side, and the border extension
that fills the band (the border's synthesis region) so that moving cameras do not show
the edge of the photo: the photo's outer ring spread outwards with a blur that widens with
the distance from the photo (near objects crossing the border end in the band, tapering),
plus the photo's own texture, mirrored from the same surface,
fading out over the first part of the band.
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
# TEXTURE_SCALE * pad), mirrored about the photo's outer row/column where the mirror lies on
# the same surface, added with weight TEXTURE_AMPLITUDE * exp(-r / (TEXTURE_FADE * pad)).
# Texture invented far from the frame cannot be where the real one is, and scores below the
# blur (PSNR outside the frame); these keep the cost to 0.08 dB.
TEXTURE_SCALE = 0.1
TEXTURE_AMPLITUDE = 0.5
TEXTURE_FADE = 0.4
# A near object crossing the border ends in the band: each of its ends along the border
# moves in by TAPER_SLOPE px per px outwards (:func:`band_sources`). Outside the frame, on 8
# Middlebury scenes, 1.0 / 0.5 / 0.25 / 0 (a bar) scored 19.17 / 19.69 / 19.93 / 19.95 dB
# (mean over scenes and views): objects that cross the border mostly do go on beyond it, so
# a slow taper, which narrows the bar at no measurable cost.
TAPER_SLOPE = 0.25


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


def spread_line(color: np.ndarray, disparity: np.ndarray, pad: int, threshold: float) -> np.ndarray:
    """The outer ring of one side spread outwards: row r - 1 of the result (r = 1 .. pad px
    from the ring) is, at each ring position, the Gaussian-weighted mean along the ring of
    the ring pixels on that position's surface (reached without a disparity step larger
    than ``threshold``), with
    sigma = BLUR_AT_EDGE_PX + BLUR_SLOPE * r (computed at :func:`spread_distances`,
    linearly interpolated between them).

    Args:
        color: (N, 3) float32 ring colours; disparity: (N,) detection disparity.
    Returns:
        (pad, N, 3) float32.
    """
    n = color.shape[0]
    dists = spread_distances(pad)
    sigma = BLUR_AT_EDGE_PX + BLUR_SLOPE * dists.astype(np.float32)
    reach = int(min(np.ceil(3.0 * sigma[-1]), n - 1))
    offsets = np.arange(-reach, reach + 1)
    pos = offsets[:, None] + np.arange(n)[None]  # (K, N): offset-major, so the products need no transpose
    src = np.clip(pos, 0, n - 1)
    # surfaces along the ring: runs of neighbours within ``threshold`` of each other (a cut
    # between them starts a new run), so a slanted surface, a ground plane along the bottom
    # border, is one surface however far its ends differ (a pairwise test split it into
    # bands a few px high, which the spread drew as streaks)
    run = np.concatenate([[0], np.cumsum(np.abs(np.diff(disparity)) > threshold)])
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


def fill_border(canvas: Canvas, depth_threshold: float) -> Canvas:
    """Extend the photo into the canvas band (the border's synthesis region).

    Depth continues each border pixel straight outwards, so discontinuities that reach the
    border continue as clean cuts, except that a near object crossing the border ends in
    the band, tapering, and the surface beside it continues in its place
    (:func:`band_sources`).
    Colour: the outer ring spread outwards (:func:`spread_line`, left and right sides on the
    photo's rows first, then top and bottom on the full canvas width, corners included),
    never mixing surfaces, so the texture and the thin structures of a surface that reaches
    the border fade into that surface's mean colour instead of being copied straight out as
    streaks; plus the photo's texture mirrored about its outer row/column
    from the same surface, fading out with the distance (see the module constants).
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

    def side(ring: tuple, band: tuple, outward_first: bool, columns: bool) -> None:
        # one side's band: (pad, N) values from the ring outwards, flipped when the band
        # runs towards the ring, transposed for the left and right bands (columns)
        src = band_sources(disp[ring], pad, threshold)
        spread = spread_line(color[ring], disp[ring], pad, threshold)
        taken = (np.take_along_axis(spread, src[..., None], axis=1), disp[ring][src], depth[ring][src])
        for array, value in zip((color, disp, depth), taken):
            value = value if outward_first else value[::-1]
            array[band] = np.swapaxes(value, 0, 1) if columns else value

    side((rows, pad + w - 1), (rows, slice(pad + w, None)), True, True)
    side((rows, pad), (rows, slice(0, pad)), False, True)
    side((pad, slice(None)), (slice(0, pad), slice(None)), False, False)
    side((pad + h - 1, slice(None)), (slice(pad + h, None), slice(None)), True, False)

    image = canvas.color[rows, pad : pad + w].astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), max(TEXTURE_SCALE * pad, 1.0))
    ys, xs = np.nonzero(~canvas.image_mask)
    my, mx = reflected_index(ys, pad, h), reflected_index(xs, pad, w)
    same = np.abs(disp[my, mx] - disp[ys, xs]) <= threshold
    dist = np.maximum(np.maximum(pad - ys, ys - (pad + h - 1)), np.maximum(pad - xs, xs - (pad + w - 1)))
    weight = TEXTURE_AMPLITUDE * np.exp(-dist / max(TEXTURE_FADE * pad, 1.0)) * same
    color[ys, xs] += weight[:, None].astype(np.float32) * detail[my - pad, mx - pad]
    out = np.clip(color + 0.5, 0, 255).astype(np.uint8)
    return Canvas(out, depth, disp, canvas.image_mask, canvas.pad, canvas.intrinsics, canvas.depth_scale)
