"""Training data for the three inpainting networks, made the paper's way.

Two sources, both cut to square windows of ``crop`` pixels (S below):

* **Real disocclusion masks on photos** (colour net). photo3d's own stages (prepare →
  canvas → discontinuities → front layer → regions) run on RGB-D frames with measured depth
  (slambook2 Kinect/TUM/ICL-NUIM frames, Middlebury Tsukuba/Venus, Middlebury 2014
  Motorcycle); every segment gives a (synthesis, context) pair of masks shaped by a real
  depth discontinuity. The pair is placed on a window of a BSDS500 ``train/`` or ``val/``
  photo, so the truth under the hole is real photo content.
* **Synthetic layered scenes** (edge and depth nets, and the colour net). Photo textures on
  a tilted or curved background surface, optionally a nearer middle surface whose boundary
  is a depth edge that continues behind the foreground, and a random foreground shape in
  front. Rendering the background without the foreground gives the hidden colour, depth
  and depth edges exactly; the masks again come from photo3d's regions stage run on the
  composite.

Held out, never read here: BSDS500 ``test/`` and every ``middlebury_2005_2006_half`` scene
(:func:`check_allowed` guards every file read).

A *sample* is S×S: ``rgb`` (S, S, 3) uint8 truth colour, ``depth`` (S, S) float32 truth
depth (camera z in the reference's normalised units; 1 where unknown), ``flags`` (S, S)
uint8 bit field (:data:`CONTEXT` ...). The network inputs are built from a batch of samples
by :func:`edge_batch`, :func:`depth_batch` and :func:`color_batch` exactly as
:mod:`photo3d.inpaint.learned` builds them from a crop (tests check this).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from .config import DataConfig
from .stages import (
    LOG_EPS,
    Photo3DError,
    array_canvas,
    context_edge_map,
    discontinuities_of,
    open_small_mask,
    prepared_canvas,
    region_config,
    regions_of,
    segment_crops,
)

log = logging.getLogger("photo3d")

CONTEXT, SYNTHESIS, HOLE, CONTEXT_EDGE, EDGE_TRUTH, DEPTH_KNOWN = 1, 2, 4, 8, 16, 32
"""Bits of a sample's ``flags``: context, synthesis (the edge net's mask), hole (the depth and
colour nets' mask), context depth edges (input), depth edges of the hidden background inside
the synthesis region (edge-net target), depth known (layered samples)."""

HELD_OUT_PARTS = ("middlebury_2005_2006_half",)
HELD_OUT_BSDS = "test"


# ---------------------------------------------------------------------------------------
# Files: every read goes through check_allowed
# ---------------------------------------------------------------------------------------

def check_allowed(path: Path) -> Path:
    """``path`` unless it lies in a held-out set (BSDS500 test/, Middlebury 2005/2006)."""
    parts = Path(path).parts
    if any(p in HELD_OUT_PARTS for p in parts):
        raise Photo3DError(f"{path}: held-out Middlebury 2005/2006 data must not be used for training")
    if "bsds500" in parts and HELD_OUT_BSDS in parts[parts.index("bsds500"):]:
        raise Photo3DError(f"{path}: BSDS500 test/ is held out for the scores")
    return Path(path)


def read_rgb(path: Path, allow_held_out: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an image file."""
    if not allow_held_out:
        check_allowed(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise Photo3DError(f"{path}: cannot read image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_raw(path: Path) -> np.ndarray:
    """A depth/disparity file as stored: (H, W) array (uint8/uint16 image or .npy float)."""
    check_allowed(path)
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise Photo3DError(f"{path}: cannot read depth")
    return raw


@dataclass
class RGBDFrame:
    """A photo with measured depth: image (H, W, 3) uint8, values (H, W) float32 of ``kind``
    ("depth": z, 0/NaN unknown; "disparity": larger = nearer)."""

    name: str
    image: np.ndarray
    values: np.ndarray
    kind: str


def rgbd_frames(root: Path) -> list[RGBDFrame]:
    """The training RGB-D frames of ``root`` (shared/data) that exist; held-out sets excluded."""
    frames: list[RGBDFrame] = []

    def add(name: str, image: Path, depth: Path, scale: float, kind: str) -> None:
        if image.is_file() and depth.is_file():
            values = read_raw(depth).astype(np.float32) * np.float32(scale)
            frames.append(RGBDFrame(name, read_rgb(image), values, kind))

    sb = root / "rgbd_slambook2"
    for i in range(1, 6):
        add(f"kinect{i}", sb / "kinect5_posed/color" / f"{i}.png", sb / "kinect5_posed/depth" / f"{i}.pgm", 1e-3, "depth")
        add(f"icl{i}", sb / "iclnuim5_posed_synthetic/color" / f"{i}.png",
            sb / "iclnuim5_posed_synthetic/depth" / f"{i}.png", 1 / 5000, "depth")
    for i in (1, 2):
        add(f"tum{i}", sb / "tum_fr1_pair" / f"{i}.png", sb / "tum_fr1_pair" / f"{i}_depth.png", 1 / 5000, "depth")
    mc = root / "middlebury_2001_2003_classic"
    add("tsukuba", mc / "tsukuba/im3.png", mc / "tsukuba/disp3.pgm", 1 / 16, "disparity")
    add("venus", mc / "venus/im2.png", mc / "venus/disp2.pgm", 1 / 8, "disparity")
    m14 = root / "middlebury2014_motorcycle_skimage"
    add("motorcycle", m14 / "im0.png", m14 / "disp0.npy", 1.0, "disparity")
    return frames


def photo_paths(root: Path, splits: tuple[str, ...] = ("train", "val")) -> list[Path]:
    """Sorted BSDS500 photos of ``splits`` (never ``test`` for training)."""
    paths: list[Path] = []
    for split in splits:
        paths += sorted((root / "bsds500" / split).glob("*.jpg"))
    return paths


# ---------------------------------------------------------------------------------------
# Real disocclusion masks
# ---------------------------------------------------------------------------------------

@dataclass
class MaskPair:
    """A segment's regions on its canvas: synthesis, context (Hc, Wc) bool."""

    synthesis: np.ndarray
    context: np.ndarray


def real_mask_pairs(frame: RGBDFrame, longer_side: int, background: int, min_pixels: int = 40) -> list[MaskPair]:
    """Every segment's (synthesis, context) masks from photo3d's stages run on ``frame``."""
    config = region_config(longer_side, background)
    values = frame.values.copy()
    if frame.kind == "depth":
        values[~np.isfinite(values) | (values <= 0)] = 0.0  # unknown: filled by prepare
    canvas = prepared_canvas(frame.image, values, frame.kind, config, frame.name)
    disc, regions = regions_of(canvas, config)
    pairs = []
    for crop in segment_crops(canvas, disc, regions):
        if crop.synthesis.sum() < min_pixels:
            continue
        syn = regions.synthesis_label == crop.segment
        ctx = regions.context_label == crop.segment
        pairs.append(MaskPair(syn, ctx))
    return pairs


def window_on_mask(pair: MaskPair, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """An S×S window of the pair around a random synthesis pixel: (synthesis, context) or None
    when the canvas is smaller than S."""
    h, w = pair.synthesis.shape
    if h < size or w < size:
        return None
    ys, xs = np.nonzero(pair.synthesis)
    k = int(rng.integers(len(ys)))
    y0 = int(np.clip(ys[k] - rng.integers(size // 4, 3 * size // 4), 0, h - size))
    x0 = int(np.clip(xs[k] - rng.integers(size // 4, 3 * size // 4), 0, w - size))
    win = (slice(y0, y0 + size), slice(x0, x0 + size))
    return pair.synthesis[win], pair.context[win]


def photo_window(photo: np.ndarray, size: int, rng: np.random.Generator,
                 scale_range: tuple[float, float] = (1.0, 2.2)) -> np.ndarray:
    """(S, S, 3) uint8: a random window of S·scale photo pixels, shrunk to S (area), maybe flipped."""
    h, w = photo.shape[:2]
    side = int(min(h, w, round(size * rng.uniform(*scale_range))))
    side = max(side, min(h, w, size))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    patch = photo[y0:y0 + side, x0:x0 + side]
    if side != size:
        patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_CUBIC)
    if rng.random() < 0.5:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


def pack_flags(**masks: np.ndarray) -> np.ndarray:
    """uint8 bit field from boolean masks named context, synthesis, hole, context_edge,
    edge_truth, depth_known (missing ones are 0)."""
    bits = {"context": CONTEXT, "synthesis": SYNTHESIS, "hole": HOLE, "context_edge": CONTEXT_EDGE,
            "edge_truth": EDGE_TRUTH, "depth_known": DEPTH_KNOWN}
    shape = next(iter(masks.values())).shape
    flags = np.zeros(shape, np.uint8)
    for name, mask in masks.items():
        flags |= np.where(mask, np.uint8(bits[name]), np.uint8(0))
    return flags


def photo_samples(pairs: list[MaskPair], photos: list[Path], count: int, size: int,
                  rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``count`` samples (rgb, depth, flags): a real mask window placed on a photo window."""
    cache: dict[int, np.ndarray] = {}
    made = 0
    while made < count:
        window = window_on_mask(pairs[int(rng.integers(len(pairs)))], size, rng)
        if window is None:
            continue
        syn, ctx = window
        if rng.random() < 0.5:
            syn, ctx = syn[:, ::-1], ctx[:, ::-1]
        if rng.random() < 0.5:
            syn, ctx = syn[::-1], ctx[::-1]
        syn, ctx = np.ascontiguousarray(syn), np.ascontiguousarray(ctx)
        if syn.sum() < 40 or ctx.sum() < 200:
            continue
        index = int(rng.integers(len(photos)))
        if index not in cache:
            cache[index] = read_rgb(photos[index])
        rgb = photo_window(cache[index], size, rng)
        hole = open_small_mask(syn, ctx)
        flags = pack_flags(context=ctx, synthesis=syn, hole=hole)
        made += 1
        yield rgb, np.ones((size, size), np.float32), flags


# ---------------------------------------------------------------------------------------
# Synthetic layered scenes
# ---------------------------------------------------------------------------------------

def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size - 1)
    return x, y


def surface_disparity(size: int, base: float, rng: np.random.Generator) -> np.ndarray:
    """(S, S) float32 disparity of a tilted plane, sometimes curved (quadratic bowl or cylinder)."""
    x, y = _grid(size)
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    d = base + gx * (x - 0.5) + gy * (y - 0.5)
    if rng.random() < 0.5:
        cx, cy = rng.uniform(0, 1, 2)
        c = rng.uniform(-0.3, 0.3)
        d = d + c * ((x - cx) ** 2 + (rng.random() < 0.5) * (y - cy) ** 2)
    return d.astype(np.float32)


def random_shape(size: int, rng: np.random.Generator, area: tuple[float, float]) -> np.ndarray:
    """(S, S) bool: an ellipse, a polygon or a smooth blob covering about ``area`` of the frame."""
    target = rng.uniform(*area) * size * size
    kind = rng.integers(3)
    mask = np.zeros((size, size), np.uint8)
    cx, cy = rng.uniform(0.15, 0.85, 2) * size
    r = np.sqrt(target / np.pi)
    if kind == 0:
        axes = (int(max(4, r * rng.uniform(0.6, 1.5))), int(max(4, r * rng.uniform(0.6, 1.5))))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif kind == 1:
        n = int(rng.integers(3, 8))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = r * rng.uniform(0.6, 1.6, n)
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1)
    else:
        noise = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), size / 10)
        x, y = _grid(size)
        bump = np.exp(-(((x - cx / size) ** 2 + (y - cy / size) ** 2) / (2 * (r / size) ** 2)))
        field = bump + 0.4 * noise / (noise.std() + 1e-6)
        mask = (field > np.quantile(field, 1 - target / size ** 2)).astype(np.uint8)
    return mask > 0


def half_plane(size: int, rng: np.random.Generator) -> np.ndarray:
    """(S, S) bool: one side of a random line through the frame (sometimes a wedge or band)."""
    x, y = _grid(size)
    theta = rng.uniform(0, 2 * np.pi)
    px, py = rng.uniform(0.2, 0.8, 2)
    side = (x - px) * np.cos(theta) + (y - py) * np.sin(theta) > 0
    if rng.random() < 0.3:
        theta2 = theta + rng.uniform(0.5, 2.5)
        side &= (x - px) * np.cos(theta2) + (y - py) * np.sin(theta2) > 0
    return side


@dataclass
class LayeredScene:
    """A composite and its hidden background. rgb/background_rgb (S, S, 3) uint8;
    depth/background_depth (S, S) float32 (z = 1 / disparity); foreground (S, S) bool."""

    rgb: np.ndarray
    depth: np.ndarray
    background_rgb: np.ndarray
    background_depth: np.ndarray
    foreground: np.ndarray


def layered_scene(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> LayeredScene:
    """A random scene: background surface, maybe a nearer middle surface, a foreground shape.

    Disparities are in the reference's normalised units (at most 3; depth = 1 / disparity).
    """
    base = surface_disparity(size, rng.uniform(0.15, 1.0), rng)
    disp, rgb = base, textures[0]
    if rng.random() < 0.85:
        middle = half_plane(size, rng) if rng.random() < 0.7 else random_shape(size, rng, (0.2, 0.5))
        mdisp = surface_disparity(size, float(base.mean()) + rng.uniform(0.12, 0.6), rng)
        mdisp = np.maximum(mdisp, base + 0.1)
        disp = np.where(middle, mdisp, base)
        rgb = np.where(middle[..., None], textures[1], rgb)
    disp = np.clip(disp, 0.05, 2.5)  # the pipeline's range: disparity in [min_disparity, disp_rescale]
    fg = random_shape(size, rng, (0.08, 0.3))
    fdisp = np.full((size, size), float(disp.max()) + rng.uniform(0.25, 1.0), np.float32)
    fdisp = np.minimum(fdisp + surface_disparity(size, 0.0, rng) * 0.3, 3.0)
    fdisp = np.clip(np.maximum(fdisp, disp + 0.2), 0.05, 3.0)
    fg_rgb = textures[2] if rng.random() < 0.8 else np.full_like(textures[2], rng.integers(0, 256, 3, dtype=np.uint8))
    comp_disp = np.where(fg, fdisp, disp).astype(np.float32)
    comp_rgb = np.where(fg[..., None], fg_rgb, rgb)
    return LayeredScene(comp_rgb.astype(np.uint8), (1.0 / comp_disp).astype(np.float32), rgb.astype(np.uint8),
                        (1.0 / disp).astype(np.float32), fg)


def keep_touching(candidates: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Pixels of ``candidates`` whose 8-connected run (with ``anchors``) touches an anchor,
    as :func:`photo3d.inpaint.learned.finish_edges` keeps edge-net output. (S, S) bool."""
    if not candidates.any() or not anchors.any():
        return np.zeros_like(candidates)
    count, labels = cv2.connectedComponents((candidates | anchors).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[labels[anchors]] = True
    keep[0] = False
    return candidates & keep[labels]


def layered_samples(scene: LayeredScene, background: int, max_per_scene: int = 2,
                    min_pixels: int = 40) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Samples (rgb, depth, flags) of the foreground's segments, truth = the hidden background."""
    size = scene.depth.shape[0]
    config = region_config(size, background)
    disc, regions = regions_of(array_canvas(scene.rgb, scene.depth), config)
    hidden = discontinuities_of((1.0 / scene.background_depth).astype(np.float32), config)
    sizes = np.bincount(regions.synthesis_label.ravel())
    out = []
    for s in np.argsort(-sizes):
        if s == 0 or sizes[s] < min_pixels or len(out) >= max_per_scene:
            continue
        syn = regions.synthesis_label == s
        if (syn & scene.foreground).sum() < 0.95 * syn.sum():
            continue  # behind a middle surface: its truth is not the rendered background
        syn &= scene.foreground
        ctx = regions.context_label == s
        if ctx.sum() < 200:
            continue
        ctx_edge = context_edge_map(disc.near_edge, ctx, syn)
        truth = keep_touching(hidden.near_edge & syn, ctx_edge)
        flags = pack_flags(context=ctx, synthesis=syn, hole=open_small_mask(syn, ctx), context_edge=ctx_edge,
                           edge_truth=truth, depth_known=np.ones_like(syn))
        out.append((scene.background_rgb, scene.background_depth, flags))
    return out


def texture_windows(photos: list[Path], size: int, rng: np.random.Generator, cache: dict) -> list[np.ndarray]:
    """Three photo windows (S, S, 3) uint8 from distinct random photos."""
    picks = rng.choice(len(photos), 3, replace=False)
    out = []
    for p in picks:
        if p not in cache:
            cache[p] = read_rgb(photos[p], allow_held_out=True)  # callers choose the photo list
        out.append(photo_window(cache[p], size, rng, (0.8, 2.5)))
    return out


def layered_dataset(photos: list[Path], count: int, size: int, background: tuple[int, int],
                    rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``count`` layered samples from textures of ``photos``."""
    cache: dict = {}
    made = 0
    while made < count:
        scene = layered_scene(texture_windows(photos, size, rng, cache), size, rng)
        for sample in layered_samples(scene, int(rng.integers(background[0], background[1] + 1))):
            if made < count:
                made += 1
                yield sample


# ---------------------------------------------------------------------------------------
# The cache on disk
# ---------------------------------------------------------------------------------------

@dataclass
class Samples:
    """Stacked samples: rgb (N, S, S, 3) uint8, depth (N, S, S) float32, flags (N, S, S) uint8."""

    rgb: np.ndarray
    depth: np.ndarray
    flags: np.ndarray
    fill_rgb: np.ndarray | None = None
    """(N, S, S, 3) uint8: the non-learned fill of each hole (0 outside), for ``fill_residual``."""
    fill_depth: np.ndarray | None = None
    """(N, S, S) float32: the non-learned depth fill of each hole (1 outside), layered samples."""

    def __len__(self) -> int:
        return len(self.flags)

    def mask(self, bit: int) -> np.ndarray:
        return (self.flags & bit) > 0


def stack(samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]], size: int) -> Samples:
    if not samples:
        return Samples(np.zeros((0, size, size, 3), np.uint8), np.zeros((0, size, size), np.float32),
                       np.zeros((0, size, size), np.uint8))
    rgb, depth, flags = zip(*samples)
    return Samples(np.stack(rgb), np.stack(depth).astype(np.float32), np.stack(flags))


def data_key(config: DataConfig) -> str:
    """Short hash of the data settings that change the cache's content."""
    fields = asdict(config)
    fields.pop("cache", None)
    fields.pop("root", None)
    if not fields.get("frames"):
        fields.pop("frames", None)  # the default (all frames) keeps the key of older caches
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def make_dataset(config: DataConfig, seed: int, progress: bool = True) -> dict[str, Samples]:
    """Both sources ("photo", "layered") made from ``config.root`` (train/val photos only)."""
    from tqdm import tqdm

    root = Path(config.root)
    photos = photo_paths(root)
    if not photos:
        raise Photo3DError(f"{root / 'bsds500'}: no BSDS500 train/val photos found")
    rng = np.random.default_rng(seed)
    pairs: list[MaskPair] = []
    frames = [f for f in rgbd_frames(root) if not config.frames or f.name in config.frames]
    for frame in tqdm(frames, desc="real masks", disable=not progress):
        for side in config.mask_sizes:
            background = max(8, round(config.background_scale * side))
            for flip in (False, True):
                f = RGBDFrame(frame.name, frame.image[:, ::-1].copy(), frame.values[:, ::-1].copy(),
                              frame.kind) if flip else frame
                pairs += real_mask_pairs(f, side, background)
    log.info("real masks: %d segment pairs from %d frames", len(pairs), len(frames))
    size = config.crop
    out: dict[str, Samples] = {}
    if pairs and config.photo_samples:
        out["photo"] = stack(list(tqdm(photo_samples(pairs, photos, config.photo_samples, size, rng),
                                       total=config.photo_samples, desc="photo samples", disable=not progress)), size)
    else:
        out["photo"] = stack([], size)
    out["layered"] = stack(list(tqdm(layered_dataset(photos, config.layered_samples, size,
                                                     tuple(config.layered_background), rng),
                                     total=config.layered_samples, desc="layered samples",
                                     disable=not progress)), size)
    return out


def cache_path(config: DataConfig, seed: int) -> Path:
    return Path(config.cache) / f"data_{data_key(config)}_seed{seed}.npz"


def load_or_make(config: DataConfig, seed: int, progress: bool = True) -> dict[str, Samples]:
    """The dataset from its cache file, made (and written atomically) when missing."""
    path = cache_path(config, seed)
    if not path.is_file():
        data = make_dataset(config, seed, progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        arrays = {f"{k}_{f}": getattr(v, f) for k, v in data.items() for f in ("rgb", "depth", "flags")}
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return data
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: Samples(z[f"{k}_rgb"], z[f"{k}_depth"], z[f"{k}_flags"]) for k in ("photo", "layered")}
    except (OSError, KeyError, ValueError) as exc:
        raise Photo3DError(f"{path}: damaged training-data cache ({exc}); delete it to remake") from exc


def fill_cache_path(config: DataConfig, seed: int) -> Path:
    return Path(config.cache) / f"fill_{data_key(config)}_seed{seed}.npz"


def make_fills(samples: Samples, with_depth: bool, progress: bool = True, desc: str = "fill") -> dict[str, np.ndarray]:
    """The non-learned fill of every sample's hole (as the pipeline builds it for a crop):
    ``rgb`` (N, S, S, 3) uint8 and, ``with_depth``, ``depth`` (N, S, S) float32."""
    from tqdm import tqdm

    from .stages import fill_prior_color, fill_priors

    n = len(samples)
    rgb = np.zeros(samples.rgb.shape, np.uint8)
    depth = np.ones(samples.depth.shape, np.float32) if with_depth else None
    for i in tqdm(range(n), desc=desc, disable=not progress, mininterval=5.0):
        ctx, hole = (samples.flags[i] & CONTEXT) > 0, (samples.flags[i] & HOLE) > 0
        if with_depth:  # one peel gives both (identical to the two separate fills)
            color, depth[i] = fill_priors(samples.rgb[i], samples.depth[i], ctx, hole)
        else:
            color = fill_prior_color(samples.rgb[i], ctx, hole)
        rgb[i] = np.clip(color * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = {"rgb": rgb}
    if with_depth:
        out["depth"] = depth
    return out


def attach_fills(data: dict[str, Samples], config: DataConfig, seed: int, progress: bool = True) -> dict[str, Samples]:
    """``data`` with ``fill_rgb`` / ``fill_depth`` from their cache file (made once, atomically)."""
    path = fill_cache_path(config, seed)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise Photo3DError(f"{path}: damaged fill cache ({exc}); delete it to remake") from exc
    else:
        arrays = {}
        for key in ("photo", "layered"):
            fills = make_fills(data[key], key == "layered", progress, f"fill {key}")
            arrays.update({f"{key}_{k}": v for k, v in fills.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
    for key, samples in data.items():
        if len(arrays[f"{key}_rgb"]) != len(samples):
            raise Photo3DError(f"{path}: fill cache does not match the data cache; delete it to remake")
        samples.fill_rgb = arrays[f"{key}_rgb"]
        samples.fill_depth = arrays.get(f"{key}_depth")
    return data


# ---------------------------------------------------------------------------------------
# Batches: augmentation and network inputs
# ---------------------------------------------------------------------------------------

def augment(rgb: np.ndarray, depth: np.ndarray, flags: np.ndarray, rng: np.random.Generator,
            jitter: float, fills: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random flips (per sample) and colour jitter (brightness, contrast, saturation).

    rgb (B, S, S, 3) uint8 → float32 [0, 1]; depth (B, S, S); flags (B, S, S).
    ``fills``: [fill rgb (B, S, S, 3) uint8, fill depth (B, S, S) or None], flipped alike and
    the colour jittered with the truth's parameters (the fill is a weighted mean of context
    colours, so this is the fill of the jittered context), replaced in place in the list.
    """
    b = len(flags)
    rgb = rgb.astype(np.float32) * np.float32(1 / 255)
    fill_rgb = fills[0].astype(np.float32) * np.float32(1 / 255) if fills else None
    fill_depth = fills[1] if fills else None
    fx = rng.random(b) < 0.5
    fy = rng.random(b) < 0.5
    rgb[fx], depth[fx], flags[fx] = rgb[fx, :, ::-1], depth[fx, :, ::-1], flags[fx, :, ::-1]
    rgb[fy], depth[fy], flags[fy] = rgb[fy, ::-1], depth[fy, ::-1], flags[fy, ::-1]
    for fill in (fill_rgb, fill_depth):  # one flip after the other, as above (a sample may get both)
        if fill is not None:
            fill[fx] = fill[fx, :, ::-1]
            fill[fy] = fill[fy, ::-1]
    if jitter > 0:
        bright = rng.uniform(-jitter, jitter, (b, 1, 1, 1)).astype(np.float32)
        contrast = rng.uniform(1 - 2 * jitter, 1 + 2 * jitter, (b, 1, 1, 1)).astype(np.float32)
        sat = rng.uniform(1 - 2 * jitter, 1 + 2 * jitter, (b, 1, 1, 1)).astype(np.float32)
        mean = rgb.mean(axis=(1, 2, 3), keepdims=True)

        def jittered(img: np.ndarray) -> np.ndarray:
            grey = img.mean(axis=3, keepdims=True)
            img = grey + (img - grey) * sat
            return np.clip((img - mean) * contrast + mean + bright, 0.0, 1.0)

        rgb = jittered(rgb)
        if fill_rgb is not None:
            fill_rgb = jittered(fill_rgb)
    if fills:
        fills[0], fills[1] = fill_rgb, fill_depth
    return rgb, depth, flags


@dataclass
class Batch:
    """Network inputs and targets (torch, float32, NCHW).

    x: (B, C, S, S) input as the pipeline builds it; target: (B, Ct, S, S); region masks
    (B, 1, S, S): ``loss_mask`` where the loss counts most (synthesis for edges, hole
    otherwise), ``context``; ``truth_rgb`` (B, 3, S, S) for sample sheets.
    """

    x: object
    target: object
    loss_mask: object
    context: object
    truth_rgb: object


def _bits(flags: np.ndarray, bit: int) -> np.ndarray:
    return ((flags & bit) > 0).astype(np.float32)[:, None]


def edge_arrays(rgb: np.ndarray, depth: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge net input (B, 7, S, S) and target (B, 1, S, S), as :func:`learned.edge_input`:
    RGB on context, context disparity / its maximum, context edges, context, synthesis."""
    ctx = _bits(flags, CONTEXT)
    disparity = np.where(ctx[:, 0] > 0, 1.0 / np.maximum(np.abs(depth), 1e-12), 0.0).astype(np.float32)
    top = disparity.reshape(len(flags), -1).max(axis=1)
    disparity /= np.where(top > 0, top, 1.0)[:, None, None].astype(np.float32)
    x = np.concatenate([rgb.transpose(0, 3, 1, 2) * ctx, disparity[:, None], _bits(flags, CONTEXT_EDGE), ctx,
                        _bits(flags, SYNTHESIS)], axis=1)
    return x.astype(np.float32), _bits(flags, EDGE_TRUTH)


def depth_arrays(depth: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth net input (B, 4, S, S) and target (B, 1, S, S), as :func:`learned.depth_input`
    with ``log_depth``: zero-mean log depth on context (the mean over context), edges
    (context edges and the true hidden edges, as the edge net would pass them on), context,
    hole. Target: log depth minus the same mean, everywhere."""
    ctx = _bits(flags, CONTEXT)[:, 0]
    logd = np.log(np.abs(depth).astype(np.float64) + LOG_EPS)
    mean = (logd * ctx).sum(axis=(1, 2)) / np.maximum(ctx.sum(axis=(1, 2)), 1)
    target = (logd - mean[:, None, None]).astype(np.float32)
    edges = _bits(flags, CONTEXT_EDGE | EDGE_TRUTH)
    x = np.concatenate([(target * ctx)[:, None], edges, ctx[:, None], _bits(flags, HOLE)], axis=1)
    return x.astype(np.float32), target[:, None]


def depth_with_fill(x: np.ndarray, depth: np.ndarray, flags: np.ndarray, fill_depth: np.ndarray) -> np.ndarray:
    """Depth-net input (B, 4, S, S) with the fill's log depth, minus the context mean (as in
    :func:`depth_arrays`), written into the hole (``fill_residual``)."""
    ctx = _bits(flags, CONTEXT)[:, 0]
    hole = _bits(flags, HOLE)[:, 0] > 0
    logd = np.log(np.abs(depth).astype(np.float64) + LOG_EPS)
    mean = (logd * ctx).sum(axis=(1, 2)) / np.maximum(ctx.sum(axis=(1, 2)), 1)
    prior = np.log(np.abs(fill_depth).astype(np.float64) + LOG_EPS) - mean[:, None, None]
    x = x.copy()
    x[:, 0] = np.where(hole, prior, x[:, 0]).astype(np.float32)
    return x


def color_arrays(rgb: np.ndarray, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Colour net input (B, 6, S, S) and target (B, 3, S, S), as :func:`learned.color_input`
    for a crop that is not downscaled: RGB on context, edges, context, hole."""
    ctx = _bits(flags, CONTEXT)
    truth = rgb.transpose(0, 3, 1, 2).astype(np.float32)
    x = np.concatenate([truth * ctx, _bits(flags, CONTEXT_EDGE | EDGE_TRUTH), ctx, _bits(flags, HOLE)], axis=1)
    return x.astype(np.float32), truth


def _take(samples: Samples, idx: np.ndarray, fills: list | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if fills is not None:
        fills[:] = [None if samples.fill_rgb is None else samples.fill_rgb[idx],
                    None if samples.fill_depth is None else samples.fill_depth[idx].copy()]
    return samples.rgb[idx], samples.depth[idx].copy(), samples.flags[idx].copy()


def draw(data: dict[str, Samples], kind: str, batch: int, rng: np.random.Generator,
         photo_fraction: float, fills: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices drawn for ``kind``: edge/depth from layered samples (the edge net only from
    those with context edges, as the pipeline runs it only then); colour from both.
    ``fills`` (a list) receives [fill rgb, fill depth] of the drawn samples."""
    layered = data["layered"]
    if kind == "edge":
        pool = np.nonzero(layered.mask(CONTEXT_EDGE).any(axis=(1, 2)))[0]
        idx = pool[rng.integers(len(pool), size=batch)]
        return _take(layered, idx, fills)
    if kind == "depth" or len(data["photo"]) == 0:
        idx = rng.integers(len(layered), size=batch)
        return _take(layered, idx, fills)
    from_photo = rng.random(batch) < photo_fraction
    photo = data["photo"]
    i_p = rng.integers(len(photo), size=batch)
    i_l = rng.integers(len(layered), size=batch)
    rgb = np.where(from_photo[:, None, None, None], photo.rgb[i_p], layered.rgb[i_l])
    depth = np.where(from_photo[:, None, None], photo.depth[i_p], layered.depth[i_l])
    flags = np.where(from_photo[:, None, None], photo.flags[i_p], layered.flags[i_l])
    if fills is not None:
        fills[:] = [None, None]
        if photo.fill_rgb is not None and layered.fill_rgb is not None:
            fills[0] = np.where(from_photo[:, None, None, None], photo.fill_rgb[i_p], layered.fill_rgb[i_l])
    return rgb, depth, flags


def make_batch(data: dict[str, Samples], kind: str, batch: int, rng: np.random.Generator,
               jitter: float = 0.08, photo_fraction: float = 0.6, input: str = "reference",
               hidden_edges: float = 1.0) -> Batch:
    """One augmented batch of network inputs and targets for ``kind``.

    ``input``: ``reference`` or ``fill_residual`` (the samples' fills written into the hole,
    needs :func:`attach_fills`); ``hidden_edges``: probability that a sample's input keeps
    its hidden depth edges (otherwise only the context edges).
    """
    import torch

    residual = input == "fill_residual" and kind != "edge"
    fills: list | None = [] if residual else None
    rgb, depth, flags = draw(data, kind, batch, rng, photo_fraction, fills)
    if residual and (fills[0] is None or (kind == "depth" and fills[1] is None)):
        raise Photo3DError("fill_residual input: the samples have no fills (photo3d.train.data.attach_fills)")
    rgb, depth, flags = augment(rgb, depth, flags, rng, jitter, fills)
    rgb, depth, flags = np.ascontiguousarray(rgb), np.ascontiguousarray(depth), np.ascontiguousarray(flags)
    if hidden_edges < 1.0 and kind != "edge":  # drawn only then: older recipes keep their batches
        drop = rng.random(len(flags)) >= hidden_edges
        flags[drop] &= np.uint8(~EDGE_TRUTH & 0xFF)
    if kind == "edge":
        x, target = edge_arrays(rgb, depth, flags)
        loss_mask = _bits(flags, SYNTHESIS)
    elif kind == "depth":
        x, target = depth_arrays(depth, flags)
        loss_mask = _bits(flags, HOLE)
        if residual:
            x = depth_with_fill(x, depth, flags, fills[1])
    else:
        x, target = color_arrays(rgb, flags)
        loss_mask = _bits(flags, HOLE)
        if residual:
            x[:, :3] = np.where(loss_mask > 0, fills[0].transpose(0, 3, 1, 2), x[:, :3])
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return Batch(t(x), t(target), t(loss_mask), t(_bits(flags, CONTEXT)), t(rgb.transpose(0, 3, 1, 2)))
