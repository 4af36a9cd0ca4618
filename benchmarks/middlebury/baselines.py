"""The baselines: view1's plain single-layer mesh, and forward warping + cv2.inpaint."""
from __future__ import annotations

import cv2
import numpy as np

from photo3d.core.data import Intrinsics, Mesh

__all__ = ['forward_warp', 'plain_mesh', 'warp_inpaint']


def forward_warp(image: np.ndarray, disparity: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Z-buffered nearest-pixel splat of ``image`` into the camera at ``t`` baselines
    (column x lands at round(x - t d); the largest disparity wins).

    Returns (H, W, 3) uint8 warped image (black in holes) and (H, W) bool hole mask.
    """
    h, w = disparity.shape
    ys, xs = np.mgrid[0:h, 0:w]
    c = np.floor(xs - t * disparity.astype(np.float64) + 0.5).astype(np.int64)
    ok = (c >= 0) & (c < w)
    flat = (ys * w + c)[ok]
    src = (ys * w + xs)[ok]
    d = disparity[ok].astype(np.float64)
    zbuf = np.full(h * w, -np.inf)
    np.maximum.at(zbuf, flat, d)
    win = d >= zbuf[flat]
    chosen = np.full(h * w, h * w, dtype=np.int64)
    np.minimum.at(chosen, flat[win], src[win])  # ties: the leftmost source pixel
    filled = chosen < h * w
    out = np.zeros((h * w, 3), np.uint8)
    out[filled] = image.reshape(-1, 3)[chosen[filled]]
    return out.reshape(h, w, 3), ~filled.reshape(h, w)


def warp_inpaint(image: np.ndarray, disparity: np.ndarray, t: float, radius: int = 5) -> np.ndarray:
    """The forward-warping baseline: :func:`forward_warp`, then ``cv2.inpaint`` (Telea) of
    every hole (cracks, disocclusions, the border). (H, W, 3) uint8 -> (H, W, 3) uint8."""
    warped, holes = forward_warp(image, disparity, t)
    if not holes.any():
        return warped
    return cv2.inpaint(warped, holes.astype(np.uint8), radius, cv2.INPAINT_TELEA)


def plain_mesh(image: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics) -> Mesh:
    """View1's single-layer mesh: a vertex per pixel at its depth, two triangles per 2x2
    block, every neighbour linked (so triangles stretch across depth edges), the outer
    vertices moved out by half a pixel so that the input camera sees every pixel covered.

    Args:
        image: (H, W, 3) uint8 RGB; depth: (H, W) float camera z; intrinsics: of the image.
    """
    h, w = depth.shape
    u = np.arange(w, dtype=np.float64)
    v = np.arange(h, dtype=np.float64)
    u[0], u[-1] = -0.5, w - 0.5
    v[0], v[-1] = -0.5, h - 0.5
    uu, vv = np.meshgrid(u, v)
    z = depth.astype(np.float64)
    verts = np.stack([(uu - intrinsics.cx) / intrinsics.fx * z, (vv - intrinsics.cy) / intrinsics.fy * z, z], -1)
    idx = np.arange(h * w).reshape(h, w)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)]).astype(np.int32)
    return Mesh(verts.reshape(-1, 3).astype(np.float32), image.reshape(-1, 3).copy(), faces, intrinsics)


# ---------------------------------------------------------------------------------------
# Methods: view1 + disparity -> renders at shifts t
# ---------------------------------------------------------------------------------------
