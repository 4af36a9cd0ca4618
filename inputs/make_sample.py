"""Make the bundled RGB-D sample: a ray-cast scene (textured back wall and floor, a sphere,
a box and a thin post in front) with its exact disparity.

    python inputs/make_sample.py [--width 960 --height 640 --out inputs]

Writes ``sample.png`` (RGB), ``sample_disparity.png`` (16-bit, disparity scaled to 0..65535,
larger = nearer, as MiDaS-style estimators produce).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np


def _checker(u: np.ndarray, v: np.ndarray, size: float) -> np.ndarray:
    return ((np.floor(u / size) + np.floor(v / size)) % 2).astype(np.float32)


def render_scene(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Ray-cast the scene. Returns RGB (H, W, 3) uint8 and depth (H, W) float32 (camera z, m)."""
    with np.errstate(all="ignore"):  # rays that miss a surface give inf/nan, masked below
        return _render(width, height)


def _render(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    f = float(max(width, height))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx, dy = (xs - width / 2) / f, (ys - height / 2) / f  # ray direction (dx, dy, 1)
    rng = np.random.default_rng(7)
    noise = cv2.resize(rng.random((height // 8, width // 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)

    depth = np.full((height, width), np.inf, dtype=np.float32)
    color = np.zeros((height, width, 3), dtype=np.float32)

    def hit(z: np.ndarray, rgb: np.ndarray, valid: np.ndarray) -> None:
        closer = valid & (z > 0) & (z < depth)
        depth[closer] = z[closer]
        color[closer] = rgb[closer]

    # Back wall at z = 6 m: brick-like pattern.
    z = np.full_like(dx, 6.0)
    X, Y = dx * z, dy * z
    bricks = _checker(X + 0.25 * (np.floor(Y / 0.3) % 2), Y, 0.5)
    wall = np.stack([0.55 + 0.25 * bricks, 0.35 + 0.15 * bricks, 0.25 + 0.1 * noise], -1)
    hit(z, wall, np.ones_like(z, bool))
    # Floor plane y = 1.2 m (camera y down): checkerboard.
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(dy > 1e-4, 1.2 / dy, np.inf)
    X = dx * z
    floor = _checker(X, z, 0.6)
    floor_rgb = np.stack([0.2 + 0.5 * floor, 0.45 + 0.35 * floor, 0.3 + 0.2 * floor * noise], -1)
    hit(z, floor_rgb, np.isfinite(z))
    # Sphere centre (-0.8, 0.5, 3.2), radius 0.7.
    c, r = np.array([-0.8, 0.5, 3.2]), 0.7
    b = dx * c[0] + dy * c[1] + c[2]
    dd = dx**2 + dy**2 + 1
    disc = b**2 - dd * (c @ c - r * r)
    t = (b - np.sqrt(np.maximum(disc, 0))) / dd
    P = np.stack([dx * t, dy * t, t], -1)
    nrm = (P - c) / r
    shade = np.clip(nrm @ np.array([-0.4, -0.6, -0.7]), 0, 1)[..., None]
    stripes = (np.sin(10 * np.arctan2(nrm[..., 0], nrm[..., 2])) > 0)[..., None]
    sphere_rgb = (0.25 + 0.75 * shade) * np.where(stripes, [0.9, 0.2, 0.15], [0.95, 0.85, 0.3])
    hit(t, sphere_rgb, disc > 0)
    # Box: axis-aligned, x in [0.6, 1.5], y in [0.2, 1.2], z in [2.4, 3.0] (front face + side).
    with np.errstate(divide="ignore", invalid="ignore"):
        t_front = np.full_like(dx, 2.4)
        fx, fy = dx * t_front, dy * t_front
        front = (fx > 0.6) & (fx < 1.5) & (fy > 0.2) & (fy < 1.2)
        box_rgb = np.stack([0.2 + 0.6 * _checker(fx, fy, 0.15), 0.3 + 0.2 * noise, 0.8 - 0.3 * _checker(fx, fy, 0.15)], -1)
        hit(t_front, box_rgb, front)
        t_side = 0.6 / dx  # left face x = 0.6
        sy, sz = dy * t_side, t_side
        side = (dx > 0) & (sy > 0.2) & (sy < 1.2) & (sz > 2.4) & (sz < 3.0)
        hit(t_side, 0.6 * box_rgb, side)
    # Thin post at x = 0.1 m, z = 1.8 m, width 0.08 m, from the floor up to y = -0.6.
    t_post = np.full_like(dx, 1.8)
    px, py = dx * t_post, dy * t_post
    post = (np.abs(px - 0.1) < 0.04) & (py > -0.6) & (py < 1.2)
    hit(t_post, np.stack([0.9 * np.ones_like(px), 0.9 - 0.5 * _checker(px, py, 0.1), 0.95 * np.ones_like(px)], -1), post)

    depth = np.minimum(depth, 6.0)
    rgb = np.clip(color * 255 + 0.5, 0, 255).astype(np.uint8)
    return rgb, depth.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--height", type=int, default=640)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    rgb, depth = render_scene(args.width, args.height)
    args.out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out / "sample.png"), rgb[..., ::-1])
    disparity = 1.0 / depth
    disp16 = np.round((disparity - disparity.min()) / (disparity.max() - disparity.min()) * 65535).astype(np.uint16)
    cv2.imwrite(str(args.out / "sample_disparity.png"), disp16)
    print(f"wrote {args.out}/sample.png, sample_disparity.png ({args.width}x{args.height})")


if __name__ == "__main__":
    main()
