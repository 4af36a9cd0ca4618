"""The foreground's soft rim: alpha and decontaminated colour of the pixels beside a depth cut.

A photo's pixel on a depth edge mixes the foreground's colour F and the background's B:
I = a F + (1 - a) B. Given wholly to the foreground it draws a rim of background colour
around the foreground once the camera moves (a halo). Here, as in soft layering (SLIDE,
ICCV 2021), the near-side pixel of each cut gets a foreground fraction ``a`` estimated from
its colour: the projection of I onto the line from B (the inpainted layer behind the pixel,
else the far pixel across the cut) to F (the front layer two pixels inside, the foreground's
interior), clipped to [0, 1], trusted only where F and B differ and I lies near their line,
and averaged with its neighbours along the edge.

How the mesh draws it (:func:`photo3d.core.mesh.build_mesh`): the pixel's inner half is
covered opaquely by the grid triangles from the interior to the pixel's centre; its outer half
by its edge facet, drawn blended over whatever lies behind, in the foreground's colour freed of
the background's share, F' = (I - (1 - a) B) / a. How the pixel's coverage ``a`` splits between
the halves depends on the edge's sharpness s (``SHARP_INNER``): a blurred edge (s = 0, the
optics spread the foreground over the pixel) keeps the photo's I on the inner half and gives
the facet alpha ``a``; a sharp edge through the pixel (s = 1, the pixel inside it is pure
foreground) gives the inner half F' and the facet alpha 2a - 1. Either way the input camera
sees the photo's I again; from a moved camera the facet mixes the foreground with the
background actually behind it, not with the one the photo had there, so the background the
foreground hid no longer rims it. (Treating every edge as sharp cost 0.5 dB in the edge band
on Bowling1 at t = 0.5, whose edges are blurred over 2-3 px: it sharpens them.)
Numpy only, vectorised over the pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import LDI, OPPOSITE, STEP_X, STEP_Y

MIN_CONTRAST = 24.0
"""Smallest RGB distance |F - B| (grey levels) at which a pixel's alpha is estimated: below
it, foreground and background look alike and the colour says nothing about coverage."""
MAX_RESIDUAL = 10.0
MAX_RESIDUAL_FRACTION = 0.35
"""A pixel's colour may lie at most max(MAX_RESIDUAL, MAX_RESIDUAL_FRACTION * |F - B|) grey
levels off the line between B and F; further off (texture, a third surface), it is no
mixture of the two and stays opaque."""
OVERSHOOT = 16.0
"""The solved colour F' stays within this many grey levels (per channel) of the box spanned
by F and I: a slightly wrong alpha must not draw a bright or dark outline."""


SHARP_INNER = (0.95, 1.0)
"""The edge's sharpness s (0..1) from the foreground fraction a1 of the pixel one step inside:
0 at a1 <= SHARP_INNER[0] (a blurred edge: the mixture spreads inwards, the optics spread the
foreground over the rim pixel), 1 at a1 >= SHARP_INNER[1] (a sharp edge through the rim pixel).
The rim pixel's inner half takes (1 - s) I + s F' and its facet the alpha a (1 + s) - s, so the
input camera still sees I."""


@dataclass
class SoftRim:
    """Per LDI pixel (N): ``color`` (N, 3) uint8, the colour of the pixel's vertex (the LDI's
    colour; on the rim moved towards F' by the sharpness s); ``facet_color`` (N, 3) uint8, the
    colour of its edge facet (F' on the rim); ``facet_alpha`` (N,) float32 in [0, 1], the facet's
    opacity; ``fraction`` (N,) float32, the estimated foreground fraction ``a`` (1 off the rim);
    ``opaque_color`` (N, 3) uint8, the colour of its facet where it is drawn opaque (the PLY):
    F' kept within the box of F and I (no ``OVERSHOOT``), the LDI's colour off the rim."""

    color: np.ndarray
    facet_color: np.ndarray
    facet_alpha: np.ndarray
    fraction: np.ndarray
    opaque_color: np.ndarray | None = None

    @property
    def rim(self) -> np.ndarray:
        """(N,) bool pixels whose facet is soft."""
        return self.fraction < 1.0


def mixture(im: np.ndarray, bg: np.ndarray, fg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The foreground fraction of colours ``im`` (P, 3) float32 as mixtures of ``bg`` and ``fg``:
    (a (P,) the projection of I onto the line from B to F, clipped to [0, 1]; trusted (P,)
    where F and B differ by ``MIN_CONTRAST`` and I lies near their line (``MAX_RESIDUAL``,
    ``MAX_RESIDUAL_FRACTION``); line F - B (P, 3); contrast |F - B| (P,))."""
    line = fg - bg
    contrast = np.linalg.norm(line, axis=1)
    a = np.clip(np.einsum("ij,ij->i", im - bg, line) / np.maximum(contrast, 1e-6) ** 2, 0.0, 1.0)
    residual = np.linalg.norm(im - bg - a[:, None] * line, axis=1)
    trusted = (contrast >= MIN_CONTRAST) & (residual <= np.maximum(MAX_RESIDUAL, MAX_RESIDUAL_FRACTION * contrast))
    return a, trusted, line, contrast


def soft_rim(ldi: LDI) -> SoftRim:
    """The soft rim of ``ldi``'s front layer (see the module docstring).

    Rim pixels: front-layer pixels whose link to a front neighbour is cut and that are
    nearer than that neighbour. Layer-0 pixel indices are canvas positions (``core.ldi``).
    """
    h, w = ldi.shape
    n = h * w
    num = ldi.num_pixels
    color = ldi.color.astype(np.float32)
    links = ldi.links[:n]
    front = (links >= 0) & (links < n)
    interior = front.all(axis=1)  # every link to a front neighbour: no cut beside it
    # only a pixel with a missing link gets an edge facet (core.mesh), which draws the alpha:
    # the rest of the canvas is never soft (working on these few % alone is ~10x faster)
    sub = np.nonzero((links < 0).any(axis=1))[0]
    ys, xs = np.divmod(sub, w)

    # the inpainted pixel behind each position (the nearest, when several layers hold one)
    behind = np.full(n, -1, np.int64)
    extra = np.arange(n, num)
    if extra.size:
        pos = ldi.y[extra].astype(np.int64) * w + ldi.x[extra]
        order = np.argsort(-ldi.depth[extra], kind="stable")  # far first: the nearest written last
        behind[pos[order]] = extra[order]

    m = len(sub)
    f_sum = np.zeros((m, 3), np.float32)
    f_count = np.zeros(m, np.float32)
    b_sum = np.zeros((m, 3), np.float32)
    cuts = np.zeros(m, np.float32)  # cut directions per pixel, to average the far colours
    inner1 = np.full(m, -1, np.int64)
    sub_links, sub_disparity = links[sub], ldi.disparity[sub]
    for d in range(4):
        qx, qy = xs + STEP_X[d], ys + STEP_Y[d]
        inside = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h)
        q = np.where(inside, qy * w + qx, 0)
        cut = inside & (sub_links[:, d] != q) & (sub_disparity > ldi.disparity[q])
        if not cut.any():
            continue
        cuts += cut
        b_sum[cut] += color[q[cut]]
        # the foreground's interior: two steps inwards, else one, along front links
        o = OPPOSITE[d]
        p1 = np.where(cut & front[sub, o], sub_links[:, o], -1)
        p2 = np.where(p1 >= 0, links[np.maximum(p1, 0), o], -1)
        p2 = np.where((p2 >= 0) & (p2 < n), p2, -1)
        ok2 = (p2 >= 0) & interior[np.maximum(p2, 0)]
        ok1 = ~ok2 & (p1 >= 0) & interior[np.maximum(p1, 0)]
        source = np.where(ok2, p2, np.where(ok1, p1, -1))
        inner1 = np.where(ok2, p1, inner1)  # one step inside, where the interior is two steps in
        has = source >= 0
        f_sum[has] += color[source[has]]
        f_count[has] += 1
    local = np.nonzero((cuts > 0) & (f_count > 0))[0]
    cand = sub[local]
    f_sum, f_count, b_sum, cuts, inner1 = f_sum[local], f_count[local], b_sum[local], cuts[local], inner1[local]
    fg = f_sum / f_count[:, None]
    bg = np.where((behind[cand] >= 0)[:, None], color[np.maximum(behind[cand], 0)], b_sum / cuts[:, None])
    im = color[cand]
    a, trusted, line, contrast = mixture(im, bg, fg)
    cand, fg, bg, im, a = cand[trusted], fg[trusted], bg[trusted], im[trusted], a[trusted]
    line, contrast = line[trusted], contrast[trusted]
    one_in = inner1[trusted]
    a1 = np.einsum("ij,ij->i", color[np.maximum(one_in, 0)] - bg, line) / np.maximum(contrast, 1e-6) ** 2
    sharp = np.where(one_in >= 0, np.clip((a1 - SHARP_INNER[0]) / (SHARP_INNER[1] - SHARP_INNER[0]), 0, 1), 0.0)

    # smooth along the edge: the mean with the trusted rim neighbours linked to the pixel
    fraction = np.ones(n, np.float32)
    fraction[cand] = a
    soft = np.zeros(n, bool)
    soft[cand] = True
    total, weight = 2.0 * a, np.full(a.size, 2.0, np.float32)
    for d in range(4):
        nb = links[cand, d]
        ok = (nb >= 0) & (nb < n)
        ok[ok] = soft[nb[ok]]
        total[ok] += fraction[nb[ok]]
        weight[ok] += 1
    a = (total / weight).astype(np.float32)

    k = np.maximum(a, 0.05)[:, None]  # F' weighs a in the blend: its noise at small a does not show
    raw = (im - (1.0 - k) * bg) / k
    lo, hi = np.minimum(fg, im) - OVERSHOOT, np.maximum(fg, im) + OVERSHOOT
    solved = np.clip(np.clip(raw, lo, hi), 0, 255)
    # drawn opaque (a file's viewer), the whole pixel shows it: no overshoot beyond the box of
    # F and I, which would outline the foreground in a brighter or darker colour
    unmixed = np.clip(raw, np.minimum(fg, im), np.maximum(fg, im))

    facet_color = ldi.color.copy()
    facet_color[cand] = np.round(solved).astype(np.uint8)
    opaque_color = ldi.color.copy()
    opaque_color[cand] = np.round(unmixed).astype(np.uint8)
    color = ldi.color.copy()
    s = sharp[:, None].astype(np.float32)
    color[cand] = np.round((1.0 - s) * im + s * solved).astype(np.uint8)
    facet_alpha = np.ones(num, np.float32)
    facet_alpha[cand] = np.clip(a * (1.0 + sharp) - sharp, 0.0, 1.0)
    out_fraction = np.ones(num, np.float32)
    out_fraction[cand] = a
    return SoftRim(color, facet_color, facet_alpha, out_fraction, opaque_color)


FRINGE_MIN_ALPHA = 0.1
"""Smallest foreground share of a far-side pixel that gets an outer fringe square: below it
the share is the background's texture more than the foreground's blur (a sharp red square
over a textured wall gave 11 squares at 0.04, alphas ~0.04, none at 0.1; its blurred
version 180, alphas ~0.27)."""


def outer_fringe(ldi: LDI, photo: np.ndarray, rim: SoftRim) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The foreground's outer fringe: the share of the foreground in the photo's far-side
    pixels of the cuts, which the context margin's re-paint takes out of them.

    The optics spread a foreground over 2-3 px, so the background pixel beside a cut mixes
    in some of the foreground too: I = a F + (1 - a) B. The re-painted margin (``core.regions``,
    ``inpaint.fill``) rightly gives that pixel the background's colour B alone (left on the
    background, the foreground's share draws a ghost outline of it once the camera moves), but
    then nothing draws the share at all: the foreground's outline becomes the hard staircase of
    its pixel squares, sharper than the photo even at the input camera, stair-stepped and
    beaded along thin diagonal sticks in moved views (Art's paint brushes). Here each such
    pixel gets a square of its own at the *foreground's* depth (so it moves with the
    foreground), coloured F (the neighbouring rim pixel's colour freed of the background's
    share, :func:`soft_rim`), blended with alpha a: the projection of I onto the line from B to
    F, trusted as the rim's alphas are. At the input camera the pixel shows a F + (1 - a) B = I
    again.

    Args:
        ldi: the LDI after the merge (front colours re-painted); photo: (H*W, 3) uint8 the
            front layer's colours before the re-paint (the photo on the canvas); rim: its
            :func:`soft_rim`.
    Returns:
        (vertices (4M, 3) float32, RGBA (4M, 4) uint8, faces (2M, 3) int32) of M squares
        (corners top-left, top-right, bottom-right, bottom-left), or None when there are none.
    """
    h, w = ldi.shape
    n = h * w
    links = ldi.links[:n]
    disp = ldi.disparity[:n]
    now = ldi.color[:n].astype(np.float32)
    was = photo.reshape(-1, 3).astype(np.float32)
    changed = (now != was).any(axis=1)
    if not changed.any():
        return None
    # from the re-painted pixels q (few) back to their nearer neighbours p across a cut
    far_px = np.nonzero(changed)[0]
    ys, xs = np.divmod(far_px, w)
    near, far = [], []
    for d in range(4):  # p one step against direction d from q, so that p's link d points at q
        px, py = xs - STEP_X[d], ys - STEP_Y[d]
        inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        p = np.where(inside, py * w + px, 0)
        cut = inside & (links[p, d] != far_px) & (disp[p] > disp[far_px])
        near.append(p[cut])
        far.append(far_px[cut])
    p, q = np.concatenate(near), np.concatenate(far)
    if p.size == 0:
        return None
    fg = rim.facet_color[p].astype(np.float32)
    a, trusted, _, _ = mixture(was[q], now[q], fg)
    ok = trusted & (a >= FRINGE_MIN_ALPHA)
    p, q, fg, a = p[ok], q[ok], fg[ok], a[ok]
    if p.size == 0:
        return None
    # one square per far pixel: the near neighbour whose foreground makes up the largest share
    order = np.lexsort((-a, q))
    first = order[np.r_[True, q[order][1:] != q[order][:-1]]]
    p, q, fg, a = p[first], q[first], fg[first], a[first]
    m = q.size
    vertices = ldi.intrinsics.pixel_squares(q % w, q // w, ldi.depth[p])
    alpha = np.clip(np.round(a * 255), 1, 254).astype(np.uint8)
    rgba = np.repeat(np.concatenate([np.round(fg).astype(np.uint8), alpha[:, None]], axis=1), 4, axis=0)
    base = 4 * np.arange(m)[:, None]
    faces = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]]).astype(np.int32)
    return vertices, rgba, faces
