"""Small synthetic RGB-D scenes with known geometry, shared by the tests."""
from __future__ import annotations

import numpy as np

from photo3d.config import Config


def textured(h: int, w: int, seed: int, base: tuple[int, int, int]) -> np.ndarray:
    """A smooth random texture around ``base`` (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    import cv2

    noise = cv2.resize(rng.random((max(h // 6, 2), max(w // 6, 2), 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.asarray(base, np.float32)[None, None] + 60 * (noise - 0.5)
    return np.clip(img, 0, 255).astype(np.uint8)


def square_scene(h: int = 96, w: int = 128, z_bg: float = 4.0, z_fg: float = 2.0):
    """A textured blue-green background plane at z_bg and a red square at z_fg in front.

    Returns image (H, W, 3) uint8, depth (H, W) float32, foreground mask (H, W) bool.
    """
    image = textured(h, w, 1, (40, 140, 200))
    depth = np.full((h, w), z_bg, np.float32)
    fg = np.zeros((h, w), bool)
    fg[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3] = True
    image[fg] = textured(h, w, 2, (220, 30, 30))[fg]
    depth[fg] = z_fg
    return image, depth, fg


def small_config(**changes) -> Config:
    """Thicknesses and islands scaled down for the ~100 px scenes of the tests."""
    base = dict(longer_side=128, background_thickness=12, context_thickness=20, extrapolation_thickness=8,
                min_island_size=20, inpaint="fill")
    base.update(changes)
    return Config.from_keys(**base)


def synthetic_rgbd(height: int = 48, width: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured photo of a square in front of a slanted wall: ((H, W, 3) uint8, (H, W) disparity)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([xx * 255 // width, yy * 255 // height, np.full_like(xx, 90)], axis=2).astype(np.uint8)
    image = np.clip(image.astype(int) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    disparity = (1.0 + 0.5 * xx / width).astype(np.float32)
    inside = (abs(yy - height // 2) < height // 5) & (abs(xx - width // 2) < width // 5)
    disparity[inside] = 3.0
    image[inside] = (220, 60, 40)
    return image, disparity


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two 8-bit images (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def centre(image: np.ndarray) -> np.ndarray:
    """The middle half of an image in each direction (the browser tests' centre crop)."""
    h, w = image.shape[:2]
    return image[h // 4: 3 * h // 4, w // 4: 3 * w // 4]


def default_paths(p3d, frames: int) -> dict:
    """{name: frames} of the reference's four paths for ``p3d``'s scene, ``frames`` frames each."""
    from photo3d.camera import PATH_NAMES, camera_path

    prepared = p3d.scene.prepared
    return {n: camera_path(n, frames, center_depth=prepared.center_depth, shift_scale=prepared.depth_scale)
            for n in PATH_NAMES}
