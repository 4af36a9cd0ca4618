"""One configuration dataclass for the whole pipeline, YAML load/save, and the mapping of
the reference implementation's ``argument.yml`` keys onto it.

Units: thicknesses are pixels of the working image; ``depth_threshold`` is a disparity
difference in the reference's normalised units (max disparity ``disp_rescale`` = 3).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import Photo3DError

DEFAULT_PATHS = ("circle", "swing", "zoom-in", "dolly-zoom-in")


@dataclass
class Config:
    # --- input preparation (reference: read_MiDaS_depth, sparse_bilateral_filtering) ---
    longer_side: int = 960  # working resolution: longer image side in pixels
    depth_kind: str = "disparity"  # what a depth file holds: "disparity" or "depth"
    disp_rescale: float = 3.0  # normalised disparity maximum (depth >= 1/3)
    min_disparity: float = 0.05  # disparity clamp (depth <= 20)
    sparse_iter: int = 5  # weighted-median passes; as in the reference the last is discarded
    filter_size: list = field(default_factory=lambda: [7, 7, 5, 5, 5])
    # As in the reference, sigma_s/sigma_r only weight the dense bilateral filter; the sparse
    # discontinuity-guided median used by the pipeline weights by discontinuity alone.
    sigma_s: float = 4.0
    sigma_r: float = 0.5
    # --- discontinuities and the LDI ---
    depth_threshold: float = 0.04  # disparity jump that cuts a link
    min_edge_length: int = 10  # discontinuity fragments shorter than this are healed
    min_island_size: int = 200  # pixel islands (after cutting) smaller than this are re-attached
    # --- regions ---
    background_thickness: int = 70  # synthesis band depth behind a foreground edge
    context_thickness: int = 140  # context band on the background side
    extrapolate_border: bool = True
    extrapolation_thickness: int = 60  # band added around the image
    # --- inpainting ---
    inpaint: str = "auto"  # "auto" (learned when weights are found), "learned", "fill"
    checkpoints: str | None = None  # folder with edge-model.pth etc.
    edge_weights: str | None = None  # explicit weight files (reference *_ckpt keys)
    depth_weights: str | None = None
    color_weights: str | None = None
    ext_edge_threshold: float = 0.002
    largest_size: int = 512
    repeat_inpaint_edge: bool = True
    log_depth: bool = True
    device: str = "auto"
    fp16: bool = False  # float16 autocast for the networks on CUDA (ignored on the CPU)
    max_batch_pixels: int | None = None  # padded pixels per network batch (bounds memory); None = by device
    # --- rendering and video ---
    paths: list = field(default_factory=lambda: list(DEFAULT_PATHS))
    num_frames: int = 240
    fps: float = 40.0
    crop_border: Any = field(default_factory=lambda: [0.03, 0.03, 0.05, 0.03])  # [top, left, bottom, right] fractions (or one number)
    supersample: float = 2.0  # render at this scale and downsample (anti-aliasing)
    hole_guard: bool = True  # draw background-coloured stretched triangles behind holes (render only)
    render_simplify: bool = True  # draw flat patches of the mesh as fans (same image, ~4x faster)
    custom_trajectories: list | None = None  # from argument.yml traj_types/shift ranges
    save_ply: bool = True
    save_glb: bool = False  # also write <name>.glb (binary glTF, vertex colours)

    def validate(self, source: str = "config") -> "Config":
        def bad(msg: str) -> Photo3DError:
            return Photo3DError(f"{source}: {msg}")

        if self.depth_kind not in ("disparity", "depth"):
            raise bad(f"depth_kind must be 'disparity' or 'depth', got {self.depth_kind!r}")
        if self.inpaint not in ("auto", "learned", "fill"):
            raise bad(f"inpaint must be 'auto', 'learned' or 'fill', got {self.inpaint!r}")
        if int(self.longer_side) < 16:
            raise bad(f"longer_side must be >= 16, got {self.longer_side}")
        for name in ("background_thickness", "context_thickness", "extrapolation_thickness", "num_frames",
                     "sparse_iter", "min_edge_length", "min_island_size"):
            if int(getattr(self, name)) < 0:
                raise bad(f"{name} must be >= 0")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and not np.isfinite(float(value)):
                raise bad(f"{f.name} must be a finite number, got {value}")
        if float(self.depth_threshold) <= 0:
            raise bad("depth_threshold must be > 0")
        if float(self.fps) <= 0:
            raise bad("fps must be > 0")
        if self.max_batch_pixels is not None and int(self.max_batch_pixels) < 1:
            raise bad(f"max_batch_pixels must be a positive number of pixels, got {self.max_batch_pixels}")
        if not 1.0 <= float(self.supersample) <= 8.0:  # the renderer's range
            raise bad(f"supersample must be in [1, 8], got {self.supersample}")
        if not all(_is_int(v) and int(v) > 0 for v in self.filter_size):
            raise bad(f"filter_size must be a list of positive integers, got {self.filter_size!r}")
        if len(self.filter_size) < int(self.sparse_iter):
            raise bad(f"filter_size needs sparse_iter={self.sparse_iter} entries, got {len(self.filter_size)}")
        try:
            crop = self.crop_fractions()
        except Photo3DError as exc:
            raise bad(str(exc)) from None
        if not all(0.0 <= v < 0.5 for v in crop) or crop[0] + crop[2] >= 1.0 or crop[1] + crop[3] >= 1.0:
            raise bad(f"crop_border fractions must be in [0, 0.5), got {self.crop_border!r}")
        for t in self.custom_trajectories or []:
            if (not isinstance(t, dict) or "name" not in t or t.get("traj_type") not in TRAJECTORY_TYPES
                    or not all(_is_number(t.get(axis)) for axis in "xyz")):
                raise bad(f"custom_trajectories entries need a name, traj_type in {', '.join(TRAJECTORY_TYPES)} "
                          f"and numbers x, y, z, got {t!r}")
        known = set(DEFAULT_PATHS) | {str(t["name"]) for t in self.custom_trajectories or []}
        unknown = [p for p in self.paths if p not in known]
        if unknown:
            raise bad(f"unknown path(s) {', '.join(map(str, unknown))}; valid: {', '.join(sorted(known))}")
        if self.paths and int(self.num_frames) < 1:
            raise bad("num_frames must be >= 1 when videos are made")
        return self

    def crop_fractions(self) -> tuple[float, float, float, float]:
        """``crop_border`` as (top, left, bottom, right) fractions."""
        c = self.crop_border
        if _is_number(c):
            return (float(c),) * 4
        if not isinstance(c, (list, tuple)) or len(c) != 4 or not all(_is_number(v) for v in c):
            raise Photo3DError(f"crop_border must be one number or four [top, left, bottom, right], got {c!r}")
        return tuple(float(v) for v in c)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, path: str | Path, run_record: dict | None = None) -> None:
        """Write the settings as YAML (atomically). ``run_record`` (what a run used: files,
        depth source, ...) is stored under ``_run``, which :func:`load_config` skips."""
        from .io import atomic_write

        data = self.to_dict()
        if run_record is not None:
            data[_RUN_RECORD_KEY] = run_record
        with atomic_write(path) as tmp:
            Path(tmp).write_text(yaml.safe_dump(data, sort_keys=False))

    def replace(self, **changes) -> "Config":
        return dataclasses.replace(self, **changes)


_OWN_KEYS = {f.name for f in dataclasses.fields(Config)}
_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Config)}  # annotation strings
TRAJECTORY_TYPES = ("circle", "double-straight-line", "straight-line")
# Written by the CLI into outputs/<name>/config.yml to record the run; skipped on loading so
# that a saved config.yml can be passed back with --config.
_RUN_RECORD_KEY = "_run"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _coerce(key: str, value: Any, source: str) -> Any:
    """``value`` checked against the type of field ``key`` (ints may be written 3.0)."""
    kind = _FIELD_TYPES[key]

    def bad(what: str) -> Photo3DError:
        return Photo3DError(f"{source}: {key} must be {what}, got {value!r}")

    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind in ("int", "int | None"):
        if value is None and kind == "int | None":
            return None
        if not _is_int(value):
            raise bad("an integer")
        return int(value)
    elif kind == "float":
        if not _is_number(value):
            raise bad("a number")
        return float(value)
    elif kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
    elif kind == "str | None":
        if value is not None and not isinstance(value, str):
            raise bad("a string")
    elif kind in ("list", "list | None"):
        if value is None and kind == "list | None":
            return None
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        if key == "paths" and not all(isinstance(v, str) for v in value):
            raise bad("a list of path names")
        return list(value)
    return value


# Reference argument.yml keys that map onto ours (same meaning).
_REFERENCE_RENAMES = {
    "longer_side_len": "longer_side",
    "depth_edge_model_ckpt": "edge_weights",
    "depth_feat_model_ckpt": "depth_weights",
    "rgb_feat_model_ckpt": "color_weights",
}
# Reference keys we accept but that do not apply to photo3d (reported as ignored).
_REFERENCE_IGNORED = {
    "MiDaS_model_ckpt": "depth comes from --depth or photo3d's own estimators",
    "specific": "photo3d takes files on the command line",
    "src_folder": "use --image / photo3d batch",
    "depth_folder": "use --depth",
    "mesh_folder": "outputs go under --out",
    "video_folder": "outputs go under --out",
    "load_ply": "meshes are always rebuilt",
    "offscreen_rendering": "rendering is always offscreen (EGL)",
    "img_format": "any image format is read",
    "depth_format": "the depth format follows the file suffix",
    "require_midas": "depth estimation is chosen with --depth-source",
    "redundant_number": "photo3d's edge clean-up has no redundant-edge pass",
    "background_thickness_2": "photo3d inpaints in one round",
    "context_thickness_2": "photo3d inpaints in one round",
    "depth_edge_dilate": "not used by photo3d's region construction",
    "depth_edge_dilate_2": "not used by photo3d's region construction",
    "discount_factor": "not used by the reference either",
    "anti_flickering": "not applicable",
}
_REFERENCE_TRAJECTORY_KEYS = ("traj_types", "x_shift_range", "y_shift_range", "z_shift_range", "video_postfix")


def config_from_mapping(data: dict, source: str = "config", base: Config | None = None) -> tuple[Config, list[str]]:
    """Build a :class:`Config` from photo3d keys and/or reference ``argument.yml`` keys.

    Returns the config and a list of ignored reference keys (with the reason).
    Unknown keys raise :class:`Photo3DError` naming them.
    """
    if not isinstance(data, dict):
        raise Photo3DError(f"{source}: expected a mapping of keys to values")
    cfg = dataclasses.replace(base) if base is not None else Config()
    data = {k: v for k, v in data.items() if k != _RUN_RECORD_KEY}
    unknown = [k for k in data if k not in _OWN_KEYS and k not in _REFERENCE_RENAMES
               and k not in _REFERENCE_IGNORED and k not in _REFERENCE_TRAJECTORY_KEYS
               and k not in ("gpu_ids", "inference_video")]
    if unknown:
        raise Photo3DError(f"{source}: unknown config key(s): {', '.join(sorted(map(str, unknown)))}")
    ignored = [f"{k} ({_REFERENCE_IGNORED[k]})" for k in data if k in _REFERENCE_IGNORED]
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key in _OWN_KEYS:
            changes[key] = value
        elif key in _REFERENCE_RENAMES:
            changes[_REFERENCE_RENAMES[key]] = value
    if "gpu_ids" in data:
        gid = data["gpu_ids"]
        if gid is not None and not _is_int(gid):
            raise Photo3DError(f"{source}: gpu_ids must be an integer (-1 for CPU), got {gid!r}")
        # The reference's default gpu_ids is 0 even on CPU-only machines: treat >= 0 as "auto".
        changes.setdefault("device", "cpu" if gid is None or int(gid) < 0 else "auto")
    if any(k in data for k in _REFERENCE_TRAJECTORY_KEYS):
        changes["custom_trajectories"] = _reference_trajectories(data, source)
        changes["paths"] = [t["name"] for t in changes["custom_trajectories"]]
    if "inference_video" in data:
        if not isinstance(data["inference_video"], bool):
            raise Photo3DError(f"{source}: inference_video must be true or false, got {data['inference_video']!r}")
        if not data["inference_video"]:  # after the trajectories, which the reference file always has
            changes["paths"] = []
    for key, value in changes.items():
        setattr(cfg, key, _coerce(key, value, source))
    cfg.validate(source)
    return cfg, ignored


def _reference_trajectories(data: dict, source: str) -> list[dict]:
    missing = [k for k in _REFERENCE_TRAJECTORY_KEYS if k not in data]
    if missing:
        raise Photo3DError(f"{source}: trajectory keys must come together; missing {', '.join(missing)}")
    not_lists = [k for k in _REFERENCE_TRAJECTORY_KEYS if not isinstance(data[k], (list, tuple))]
    if not_lists:
        raise Photo3DError(f"{source}: {', '.join(not_lists)}: expected a list, one entry per video")
    types, names = list(data["traj_types"]), list(data["video_postfix"])
    xs, ys, zs = (list(data[k]) for k in ("x_shift_range", "y_shift_range", "z_shift_range"))
    if not (len(types) == len(names) == len(xs) == len(ys) == len(zs)):
        raise Photo3DError(f"{source}: traj_types, video_postfix and *_shift_range must have equal lengths")
    bad_types = [str(t) for t in types if t not in TRAJECTORY_TYPES]
    if bad_types:
        raise Photo3DError(f"{source}: unknown traj_types {', '.join(bad_types)}; valid: {', '.join(TRAJECTORY_TYPES)}")
    if not all(_is_number(v) for v in xs + ys + zs):
        raise Photo3DError(f"{source}: *_shift_range entries must be numbers")
    return [dict(name=str(n), traj_type=str(t), x=float(x), y=float(y), z=float(z))
            for t, n, x, y, z in zip(types, names, xs, ys, zs)]


def load_config(path: str | Path, base: Config | None = None) -> tuple[Config, list[str]]:
    """Load a YAML config (photo3d keys or the reference's argument.yml keys)."""
    path = Path(path)
    if not path.is_file():
        raise Photo3DError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise Photo3DError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return config_from_mapping(data, str(path), base)
