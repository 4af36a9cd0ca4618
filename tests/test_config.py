"""photo3d.config: the nested sections, the reference implementation's argument.yml keys and
photo3d's earlier flat keys, type checks and validation with errors naming the source and the
dotted key, field docs, crop fractions, YAML round trips, and the CLI options landing in the
config (so that a saved config.yml reproduces a run byte for byte)."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import yaml

from photo3d.config import (DEFAULT_PATHS, FLAT_IGNORED, FLAT_KEYS, REFERENCE_RENAMES, SECTIONS, Config,
                            VideoConfig, config_from_mapping, field_docs, load_config)
from photo3d.errors import Photo3DError
from scenes import synthetic_rgbd


def get(cfg: Config, dotted: str):
    section, _, name = dotted.partition(".")
    return getattr(getattr(cfg, section), name)


def reference_argument_yml() -> dict:
    """Every key of the reference implementation's argument.yml, with its shipped values."""
    return {
        # inputs, outputs and models
        "src_folder": "image", "depth_folder": "depth", "mesh_folder": "mesh", "video_folder": "video",
        "specific": "moon", "img_format": ".jpg", "load_ply": False, "save_ply": True,
        "MiDaS_model_ckpt": "MiDaS/model.pt",
        "depth_edge_model_ckpt": "checkpoints/edge-model.pth",
        "depth_feat_model_ckpt": "checkpoints/depth-model.pth",
        "rgb_feat_model_ckpt": "checkpoints/color-model.pth",
        "gpu_ids": 0, "offscreen_rendering": False,
        # depth preparation
        "longer_side_len": 960, "sparse_iter": 5, "filter_size": [7, 7, 5, 5, 5],
        "sigma_s": 4.0, "sigma_r": 0.5, "depth_threshold": 0.04, "ext_edge_threshold": 0.002,
        "redundant_number": 12,
        # context / synthesis regions and inpainting
        "background_thickness": 70, "context_thickness": 140, "background_thickness_2": 70,
        "context_thickness_2": 70, "depth_edge_dilate": 10, "depth_edge_dilate_2": 5,
        "discount_factor": 1.00, "log_depth": True, "largest_size": 512, "repeat_inpaint_edge": True,
        "extrapolate_border": True, "extrapolation_thickness": 60,
        # videos
        "inference_video": True, "fps": 40, "num_frames": 240, "crop_border": 0.03,
        "traj_types": ["straight-line", "circle", "circle"],
        "video_postfix": ["zoom-in", "swing", "circle"],
        "x_shift_range": [-0.03, -0.02, -0.02],
        "y_shift_range": [-0.00, -0.00, -0.02],
        "z_shift_range": [-0.07, -0.07, -0.07],
    }


def test_defaults_are_valid_and_match_the_reference():
    cfg = Config().validate()
    assert cfg.prepare.longer_side == 960 and cfg.edges.depth_threshold == 0.04
    assert cfg.video.num_frames == 240 and cfg.video.fps == 40.0
    assert cfg.video.paths == list(DEFAULT_PATHS) and cfg.prepare.filter_size == [7, 7, 5, 5, 5]
    assert Config().video.paths is not cfg.video.paths  # no shared mutable defaults
    assert SECTIONS == ("prepare", "edges", "regions", "inpaint", "depth", "render", "video", "output", "batch")


def test_reference_argument_yml_maps_onto_config(tmp_path):
    path = tmp_path / "argument.yml"
    path.write_text(yaml.safe_dump(reference_argument_yml()))
    cfg, ignored = load_config(path)
    assert cfg.prepare.longer_side == 960 and isinstance(cfg.prepare.longer_side, int)
    assert cfg.inpaint.edge_weights == "checkpoints/edge-model.pth"
    assert cfg.inpaint.depth_weights == "checkpoints/depth-model.pth"
    assert cfg.inpaint.color_weights == "checkpoints/color-model.pth"
    # gpu_ids 0 is the reference default, also on CPU machines
    assert cfg.inpaint.device == "auto" and cfg.depth.device == "auto"
    assert cfg.video.fps == 40.0 and isinstance(cfg.video.fps, float)
    assert cfg.video.crop_fractions() == (0.03, 0.03, 0.03, 0.03)
    assert (cfg.regions.background_thickness, cfg.regions.context_thickness,
            cfg.regions.extrapolation_thickness) == (70, 140, 60)
    assert cfg.video.custom_trajectories == [
        {"name": "zoom-in", "traj_type": "straight-line", "x": -0.03, "y": 0.0, "z": -0.07},
        {"name": "swing", "traj_type": "circle", "x": -0.02, "y": 0.0, "z": -0.07},
        {"name": "circle", "traj_type": "circle", "x": -0.02, "y": -0.02, "z": -0.07},
    ]
    assert cfg.video.paths == ["zoom-in", "swing", "circle"]
    ignored_keys = {entry.split(" ")[0] for entry in ignored}
    assert ignored_keys == {
        "MiDaS_model_ckpt", "specific", "src_folder", "depth_folder", "mesh_folder", "video_folder",
        "load_ply", "offscreen_rendering", "img_format", "redundant_number", "background_thickness_2",
        "context_thickness_2", "depth_edge_dilate", "depth_edge_dilate_2", "discount_factor",
        "sigma_s", "sigma_r", "repeat_inpaint_edge",  # settings that never changed anything
    }
    assert all("(" in entry and entry.endswith(")") for entry in ignored)  # each with its reason


@pytest.mark.parametrize("gpu_ids, device", [(0, "auto"), (1, "auto"), (-1, "cpu"), (None, "cpu")])
def test_gpu_ids(gpu_ids, device):
    cfg = config_from_mapping({"gpu_ids": gpu_ids})[0]
    assert cfg.inpaint.device == device and cfg.depth.device == device


def test_explicit_device_beats_gpu_ids():
    cfg = config_from_mapping({"gpu_ids": -1, "device": "cuda:1"})[0]
    assert cfg.inpaint.device == "cuda:1" and cfg.depth.device == "cuda:1"
    cfg = config_from_mapping({"gpu_ids": -1, "inpaint.device": "cuda:0"})[0]
    assert cfg.inpaint.device == "cuda:0" and cfg.depth.device == "cpu"


def test_inference_video_false_means_no_videos():
    assert config_from_mapping({"inference_video": False})[0].video.paths == []
    assert config_from_mapping({"inference_video": True})[0].video.paths == list(DEFAULT_PATHS)
    # The reference file always carries the trajectory keys: they must not bring videos back.
    data = reference_argument_yml() | {"inference_video": False}
    cfg, _ = config_from_mapping(data)
    assert cfg.video.paths == [] and len(cfg.video.custom_trajectories) == 3


def test_own_keys_and_reference_names_together():
    cfg, ignored = config_from_mapping({"longer_side_len": 512, "num_frames": 30, "paths": ["swing"],
                                        "inpaint": "fill", "crop_border": [0.1, 0.0, 0.2, 0.05]})
    assert ignored == []
    assert (cfg.prepare.longer_side, cfg.video.num_frames, cfg.video.paths, cfg.inpaint.method) == \
        (512, 30, ["swing"], "fill")
    assert cfg.video.crop_fractions() == (0.1, 0.0, 0.2, 0.05)


def test_nested_and_dotted_keys_load():
    nested, _ = config_from_mapping({"prepare": {"longer_side": 320}, "video": {"paths": ["swing"]}})
    dotted, _ = config_from_mapping({"prepare.longer_side": 320, "video.paths": ["swing"]})
    assert nested == dotted and nested.prepare.longer_side == 320 and nested.video.paths == ["swing"]
    assert Config.from_keys(longer_side=320, paths=["swing"]) == nested


def test_integral_floats_become_ints():
    cfg, _ = config_from_mapping({"longer_side": 640.0, "num_frames": 12.0})
    assert cfg.prepare.longer_side == 640 and type(cfg.prepare.longer_side) is int
    assert cfg.video.num_frames == 12 and type(cfg.video.num_frames) is int


def test_base_values_kept_for_keys_not_given():
    base, _ = config_from_mapping({"longer_side": 320, "inpaint": "fill"})
    cfg, _ = config_from_mapping({"num_frames": 8}, base=base)
    assert (cfg.prepare.longer_side, cfg.inpaint.method, cfg.video.num_frames) == (320, "fill", 8)
    assert base.video.num_frames == 240  # the base is not modified


def test_unknown_keys_are_named():
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping({"longer_side": 640, "longer_sid": 1, "frames": 3}, source="my.yml")
    assert str(exc.value) == "my.yml: unknown config key(s): frames, longer_sid"
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping({"prepare": {"longer_side": 640, "sides": 2}}, source="my.yml")
    assert str(exc.value) == "my.yml: unknown key(s) in section prepare: sides"
    with pytest.raises(Photo3DError, match="my.yml: unknown config key: video.speed"):
        config_from_mapping({"video.speed": 2}, source="my.yml")


@pytest.mark.parametrize("data, problem", [
    ({"longer_side": "960"}, "prepare.longer_side must be an integer"),
    ({"longer_side": 160.5}, "prepare.longer_side must be an integer"),
    ({"longer_side": True}, "prepare.longer_side must be an integer"),
    ({"fps": "fast"}, "video.fps must be a number"),
    ({"save_ply": "yes"}, "output.save_ply must be true or false"),
    ({"extrapolate_border": 1}, "regions.extrapolate_border must be true or false"),
    ({"depth_kind": 3}, "depth.kind must be a string"),
    ({"checkpoints": 5}, "inpaint.checkpoints must be a string"),
    ({"paths": "swing"}, "video.paths must be a list"),
    ({"paths": ["swing", 3]}, "video.paths must be a list of names"),
    ({"filter_size": 7}, "prepare.filter_size must be a list"),
    ({"gpu_ids": "0,1"}, "gpu_ids must be an integer"),
    ({"inference_video": "no"}, "inference_video must be true or false"),
    ({"max_batch_pixels": "many"}, "inpaint.max_batch_pixels must be an integer"),
    ({"max_batch_pixels": 1.5}, "inpaint.max_batch_pixels must be an integer"),
    ({"max_batch_pixels": True}, "inpaint.max_batch_pixels must be an integer"),
    ({"video": {"fps": "fast"}}, "video.fps must be a number"),
    ({"video": 3}, "section video must be a mapping"),
])
def test_wrong_types_raise(data, problem):
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping(data, source="cfg.yml")
    assert str(exc.value).startswith(f"cfg.yml: {problem}"), str(exc.value)


@pytest.mark.parametrize("data, problem", [
    ({"depth_kind": "inverse"}, "depth.kind must be one of"),
    ({"inpaint": "magic"}, "inpaint.method must be one of"),
    ({"longer_side": 8}, "prepare.longer_side must be an integer >= 16"),
    ({"background_thickness": -1}, "regions.background_thickness must be an integer >= 0"),
    ({"sparse_iter": -2}, "prepare.sparse_iter must be an integer >= 0"),
    ({"depth_threshold": 0}, "edges.depth_threshold must be a finite number > 0"),
    ({"fps": 0}, "video.fps must be a finite number >= 0.01"),
    ({"fps": float("nan")}, "video.fps must be a finite number"),
    ({"supersample": 0.5}, "render.supersample must be a finite number >= 1 and <= 8"),
    ({"device": "gpu"}, "inpaint.device must be auto, cpu, cuda or cuda:N"),
    ({"sparse_iter": 6}, "prepare.filter_size needs sparse_iter=6 entries"),
    ({"filter_size": [7, 7, 5, 0, 5]}, "prepare.filter_size must be a list of positive integers"),
    ({"crop_border": [0.1, 0.1]}, "video.crop_border: crop_border must be one number or four"),
    ({"crop_border": 0.5}, "video.crop_border: crop_border fractions must be in [0, 0.5)"),
    ({"crop_border": [0.0, -0.1, 0.0, 0.0]}, "crop_border fractions must be in [0, 0.5)"),
    ({"paths": ["swing", "spiral"]}, "unknown path(s) spiral"),
    ({"num_frames": 0}, "video.num_frames must be >= 1"),
    ({"custom_trajectories": [{"name": "a", "traj_type": "circle"}]}, "numbers x, y, z"),
    ({"custom_trajectories": [{"name": "a", "traj_type": "circle", "x": 0.1, "y": "up", "z": 0}]}, "numbers x, y, z"),
    ({"output": {"name": "../up"}}, "output.name: must be a plain file name"),
])
def test_validation_errors(data, problem):
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping(data, source="cfg.yml")
    message = str(exc.value)
    assert message.startswith("cfg.yml: ") and problem in message, message


def test_settings_that_did_nothing_load_and_are_reported_as_ignored():
    """sigma_s, sigma_r and repeat_inpaint_edge changed nothing: they are no settings any more,
    but old config files that set them still load (whatever their value) and say so."""
    cfg, ignored = config_from_mapping({"sigma_s": float("inf"), "sigma_r": 0.5, "repeat_inpaint_edge": True,
                                        "longer_side": 320})
    assert cfg == Config.from_keys(longer_side=320)
    assert sorted(entry.split(" ")[0] for entry in ignored) == sorted(FLAT_IGNORED)
    for key, reason in FLAT_IGNORED.items():
        assert f"{key} ({reason})" in ignored
    for section in SECTIONS:  # and no section has them
        assert not set(FLAT_IGNORED) & {f.name for f in dataclasses.fields(getattr(cfg, section))}


def test_max_batch_pixels_integral_or_none():
    cfg, _ = config_from_mapping({"max_batch_pixels": 2e6})
    assert cfg.inpaint.max_batch_pixels == 2_000_000 and type(cfg.inpaint.max_batch_pixels) is int
    cfg, _ = config_from_mapping({"max_batch_pixels": None}, base=cfg)
    assert cfg.inpaint.max_batch_pixels is None


def test_no_frames_is_fine_without_videos():
    cfg, _ = config_from_mapping({"num_frames": 0, "paths": []})
    assert cfg.video.num_frames == 0 and cfg.video.paths == []


@pytest.mark.parametrize("data, problem", [
    ({"traj_types": ["circle"]}, "missing x_shift_range, y_shift_range, z_shift_range, video_postfix"),
    ({"traj_types": ["circle", "circle"], "video_postfix": ["a"], "x_shift_range": [0.0],
      "y_shift_range": [0.0], "z_shift_range": [0.0]}, "equal lengths"),
    ({"traj_types": ["spiral"], "video_postfix": ["a"], "x_shift_range": [0.0],
      "y_shift_range": [0.0], "z_shift_range": [0.0]}, "unknown traj_types spiral"),
    ({"traj_types": ["circle"], "video_postfix": ["a"], "x_shift_range": 0.01,
      "y_shift_range": [0.0], "z_shift_range": [0.0]}, "x_shift_range: expected a list"),
    ({"traj_types": ["circle"], "video_postfix": ["a"], "x_shift_range": ["left"],
      "y_shift_range": [0.0], "z_shift_range": [0.0]}, "entries must be numbers"),
])
def test_reference_trajectory_errors(data, problem):
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping(data, source="argument.yml")
    assert str(exc.value).startswith("argument.yml: ") and problem in str(exc.value), str(exc.value)


def test_custom_trajectory_names_become_valid_paths():
    data = {"traj_types": ["double-straight-line"], "video_postfix": ["slide"], "x_shift_range": [0.02],
            "y_shift_range": [0.0], "z_shift_range": [0.0]}
    cfg, _ = config_from_mapping(data)
    assert cfg.video.paths == ["slide"]
    # A later layer (e.g. the command line) may choose among them and the built-in paths.
    cfg2, _ = config_from_mapping({"paths": ["slide", "circle"]}, base=cfg)
    assert cfg2.video.paths == ["slide", "circle"] and cfg2.video.custom_trajectories == cfg.video.custom_trajectories


@pytest.mark.parametrize("crop, fractions", [
    (0.03, (0.03, 0.03, 0.03, 0.03)),
    (0, (0.0, 0.0, 0.0, 0.0)),
    ([0.03, 0.03, 0.05, 0.03], (0.03, 0.03, 0.05, 0.03)),
    ((0.1, 0.2, 0.0, 0.4), (0.1, 0.2, 0.0, 0.4)),
])
def test_crop_fractions(crop, fractions):
    result = VideoConfig(crop_border=crop).crop_fractions()
    assert result == fractions and all(type(v) is float for v in result)


@pytest.mark.parametrize("crop", [[0.1, 0.1, 0.1], "0.03", [0.1, "a", 0.1, 0.1], None])
def test_crop_fractions_refuses_malformed(crop):
    with pytest.raises(Photo3DError, match="crop_border must be one number or four"):
        VideoConfig(crop_border=crop).crop_fractions()


def test_yaml_save_load_round_trip(tmp_path):
    data = reference_argument_yml() | {"longer_side_len": 384, "inpaint": "fill", "depth_kind": "depth",
                                       "crop_border": [0.0, 0.01, 0.02, 0.03], "device": "cpu"}
    cfg, _ = config_from_mapping(data)
    path = tmp_path / "nested" / "config.yml"
    cfg.save(path)
    loaded, ignored = load_config(path)
    assert ignored == []
    assert loaded == cfg and loaded.to_dict() == cfg.to_dict()
    assert dataclasses.asdict(loaded) == yaml.safe_load(path.read_text())
    assert set(yaml.safe_load(path.read_text())) == set(SECTIONS)  # saved nested, a section each
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yml"]  # no temporary left


def test_every_setting_changed_survives_save_and_load(tmp_path):
    """Not only the defaults: a config with every field changed round-trips through config.yml."""
    cfg, _ = config_from_mapping(NON_DEFAULT)
    path = tmp_path / "config.yml"
    cfg.save(path)
    loaded, ignored = load_config(path)
    assert ignored == [] and loaded.to_dict() == cfg.to_dict()


def test_saved_run_record_is_skipped_on_load(tmp_path):
    """The CLI's outputs/<name>/config.yml carries a ``_run`` record; it loads back as a config."""
    cfg = Config.from_keys(longer_side=200, paths=["swing"], num_frames=5)
    data = cfg.to_dict() | {"_run": {"image": "a.jpg", "depth": None, "inpaint_used": "fill"}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    assert load_config(path) == (cfg, [])
    saved = tmp_path / "saved.yml"
    cfg.save(saved, run_record=data["_run"])
    assert yaml.safe_load(saved.read_text()) == data
    assert load_config(saved) == (cfg, [])


def test_load_config_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.yml"
    with pytest.raises(Photo3DError) as exc:
        load_config(missing)
    assert str(exc.value) == f"{missing}: config file not found"

    broken = tmp_path / "broken.yml"
    broken.write_text("longer_side: [1, 2\nfps: 3\n")
    with pytest.raises(Photo3DError) as exc:
        load_config(broken)
    assert str(exc.value).startswith(f"{broken}: not valid YAML") and "\n" not in str(exc.value)

    listing = tmp_path / "list.yml"
    listing.write_text("- longer_side\n- 960\n")
    with pytest.raises(Photo3DError) as exc:
        load_config(listing)
    assert str(exc.value) == f"{listing}: expected a mapping of keys to values"

    typo = tmp_path / "typo.yml"
    typo.write_text("longer_side_length: 960\n")
    with pytest.raises(Photo3DError) as exc:
        load_config(typo)
    assert str(exc.value) == f"{typo}: unknown config key(s): longer_side_length"


def test_empty_file_is_the_defaults(tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text("# nothing set\n")
    assert load_config(path) == (Config(), [])


# ---------------------------------------------------------------- the old spellings still load
# A value other than the default for every field that a flat key reaches (checked below to
# cover FLAT_KEYS), valid together.
NON_DEFAULT = {
    "prepare.longer_side": 320, "prepare.disp_rescale": 2.5, "prepare.min_disparity": 0.1,
    "prepare.sparse_iter": 3, "prepare.filter_size": [5, 5, 3],
    "edges.depth_threshold": 0.05, "edges.min_edge_length": 4, "edges.min_island_size": 50,
    "regions.background_thickness": 30, "regions.context_thickness": 40, "regions.extrapolate_border": False,
    "regions.extrapolation_thickness": 20,
    "inpaint.method": "fill", "inpaint.checkpoints": "ckpt", "inpaint.edge_weights": "e.pth",
    "inpaint.depth_weights": "d.pth", "inpaint.color_weights": "c.pth", "inpaint.ext_edge_threshold": 0.01,
    "inpaint.largest_size": 256, "inpaint.log_depth": False, "inpaint.device": "cpu", "inpaint.fp16": True,
    "inpaint.max_batch_pixels": 1_000_000,
    "depth.kind": "depth", "depth.device": "cpu",
    "render.supersample": 3.0, "render.hole_guard": False, "render.soft_edge": False, "render.simplify": False,
    "video.paths": ["slide", "swing"], "video.num_frames": 12, "video.fps": 24.0,
    "video.crop_border": [0.01, 0.02, 0.03, 0.04],
    "video.custom_trajectories": [{"name": "slide", "traj_type": "straight-line", "x": 0.01, "y": 0.0, "z": 0.0}],
    "output.save_ply": False, "output.save_glb": True,
}


def nested(dotted: dict) -> dict:
    out: dict = {}
    for key, value in dotted.items():
        section, _, name = key.partition(".")
        out.setdefault(section, {})[name] = value
    return out


def test_non_default_table_covers_every_flat_key_and_changes_each_field():
    targets = {t for v in FLAT_KEYS.values() for t in (v if isinstance(v, tuple) else (v,))}
    assert targets == set(NON_DEFAULT)
    for key, value in NON_DEFAULT.items():
        assert get(Config(), key) != value, key


def test_flat_config_file_gives_the_nested_values(tmp_path):
    flat = {}
    for key, targets in FLAT_KEYS.items():
        first = targets[0] if isinstance(targets, tuple) else targets
        flat[key] = NON_DEFAULT[first]
    (tmp_path / "flat.yml").write_text(yaml.safe_dump(flat))
    (tmp_path / "nested.yml").write_text(yaml.safe_dump(nested(NON_DEFAULT)))
    from_flat, ignored = load_config(tmp_path / "flat.yml")
    from_nested, _ = load_config(tmp_path / "nested.yml")
    assert ignored == []
    assert from_flat.to_dict() == from_nested.to_dict()
    for key, value in NON_DEFAULT.items():
        assert get(from_flat, key) == value, key


def test_reference_file_gives_the_nested_values(tmp_path):
    ref = reference_argument_yml() | {
        "longer_side_len": 512, "sparse_iter": 3, "filter_size": [7, 5, 5], "depth_threshold": 0.05,
        "ext_edge_threshold": 0.01, "background_thickness": 30, "context_thickness": 50, "log_depth": False,
        "largest_size": 256, "extrapolate_border": False, "extrapolation_thickness": 20, "fps": 30,
        "num_frames": 60, "crop_border": 0.02, "gpu_ids": -1, "save_ply": False,
        "traj_types": ["double-straight-line", "circle"], "video_postfix": ["slide", "swing"],
        "x_shift_range": [0.02, -0.02], "y_shift_range": [0.0, 0.0], "z_shift_range": [0.0, -0.07],
    }
    expected = {
        "prepare.longer_side": 512, "prepare.sparse_iter": 3, "prepare.filter_size": [7, 5, 5],
        "edges.depth_threshold": 0.05,
        "regions.background_thickness": 30, "regions.context_thickness": 50, "regions.extrapolate_border": False,
        "regions.extrapolation_thickness": 20,
        "inpaint.edge_weights": "checkpoints/edge-model.pth", "inpaint.depth_weights": "checkpoints/depth-model.pth",
        "inpaint.color_weights": "checkpoints/color-model.pth", "inpaint.ext_edge_threshold": 0.01,
        "inpaint.largest_size": 256, "inpaint.log_depth": False, "inpaint.device": "cpu", "depth.device": "cpu",
        "video.fps": 30.0, "video.num_frames": 60, "video.crop_border": [0.02] * 4,
        "video.paths": ["slide", "swing"],
        "video.custom_trajectories": [
            {"name": "slide", "traj_type": "double-straight-line", "x": 0.02, "y": 0.0, "z": 0.0},
            {"name": "swing", "traj_type": "circle", "x": -0.02, "y": 0.0, "z": -0.07}],
        "output.save_ply": False,
    }
    (tmp_path / "argument.yml").write_text(yaml.safe_dump(ref))
    (tmp_path / "nested.yml").write_text(yaml.safe_dump(nested(expected)))
    from_ref, ignored = load_config(tmp_path / "argument.yml")
    from_nested, _ = load_config(tmp_path / "nested.yml")
    assert from_ref.to_dict() == from_nested.to_dict()
    assert ignored  # the reference's folder keys and inert settings, reported
    for old, new in REFERENCE_RENAMES.items():
        assert get(from_ref, new) == ref[old]


# ---------------------------------------------------------------- field docs
@pytest.mark.parametrize("section", SECTIONS)
def test_every_field_of_every_section_has_a_docstring(section):
    section_cls = type(getattr(Config(), section))
    docs = field_docs(section_cls)
    names = [f.name for f in dataclasses.fields(section_cls)]
    missing = [n for n in names if not docs.get(n, "").strip()]
    assert not missing, f"{section}: fields without a docstring: {', '.join(missing)}"
    assert section_cls.__doc__ and section_cls.__doc__.strip()


def test_field_docs_name_the_reference_keys_they_map_to():
    docs = {f"{s}.{k}": v for s in SECTIONS for k, v in field_docs(type(getattr(Config(), s))).items()}
    for old, new in REFERENCE_RENAMES.items():
        assert old in docs[new], (new, docs[new])


# ---------------------------------------------------------------- the CLI options live in the config
# argparse dest -> (command-line value, the value its config key(s) then hold)
FLAG_VALUES = {
    "depth_kind": ("depth", "depth"), "depth_source": ("model", "model"), "depth_model": ("m.onnx", "m.onnx"),
    "depth_model_output": ("depth", "depth"), "depth_model_size": ("392", 392), "out": ("elsewhere", "elsewhere"),
    "longer_side": ("320", 320), "frames": ("12", 12), "fps": ("24", 24.0), "inpaint": ("fill", "fill"),
    "device": ("cpu", "cpu"), "checkpoints": ("ckpt", "ckpt"), "export_guard": ("all", "all"), "supersample": ("3", 3.0),
    "video_size": ("320x240", [320, 240]), "aspect": ("9:16", "9:16"), "format": ("gif", "gif"),
    "codec": ("h265", "h265"), "crf": ("23", 23), "preset": ("slow", "slow"), "stereo": ("sbs", "sbs"),
    "eye_separation": ("0.05", 0.05), "motion": ("2", 2.0), "duration": ("3", 3.0), "loops": ("2", 2.0),
    "autoplay": ("none", "none"),
}


def parse(*argv: str) -> Config:
    from photo3d.cli.options import build_parser, effective_config

    return effective_config(build_parser().parse_args(["--image", "x.jpg", *argv]))[0]


def test_every_flag_lands_in_its_config_key():
    from photo3d.cli.options import FLAG_KEYS

    assert set(FLAG_VALUES) == set(FLAG_KEYS)  # a new option needs a line here
    for dest, keys in FLAG_KEYS.items():
        text, value = FLAG_VALUES[dest]
        cfg = parse(f"--{dest.replace('_', '-')}", text)
        for key in keys:
            assert get(Config(), key) != value, key
            assert get(cfg, key) == value, (dest, key)
        changed = {k for k in NON_DEFAULT_KEYS if get(cfg, k) != get(Config(), k)}
        assert changed == set(keys), (dest, changed)


def test_every_switch_lands_in_its_config_key():
    from photo3d.cli.options import SWITCH_KEYS

    for dest, (keys, value) in SWITCH_KEYS.items():
        keys = (keys,) if isinstance(keys, str) else keys
        cfg = parse(f"--{dest.replace('_', '-')}")
        for key in keys:
            assert get(Config(), key) != value, key
            assert get(cfg, key) == value, dest
        changed = {k for k in NON_DEFAULT_KEYS if get(cfg, k) != get(Config(), k)}
        assert changed == set(keys), (dest, changed)


def test_paths_and_name_land_in_the_config():
    assert parse("--paths", "swing, circle").video.paths == ["swing", "circle"]
    assert parse("--paths", "none").video.paths == []
    assert parse("--name", "scene").output.name == "scene"
    with pytest.raises(Photo3DError, match="output.name: must be a plain file name"):
        parse("--name", "sub/scene")


def test_flags_go_on_top_of_the_config_file(tmp_path):
    path = tmp_path / "c.yml"
    Config.from_keys(longer_side=200, fps=10, inpaint="fill").save(path)
    cfg = parse("--config", str(path), "--longer-side", "300")
    assert (cfg.prepare.longer_side, cfg.video.fps, cfg.inpaint.method) == (300, 10.0, "fill")


NON_DEFAULT_KEYS = [f"{s}.{f.name}" for s in SECTIONS for f in dataclasses.fields(type(getattr(Config(), s)))]


def test_saved_config_reproduces_the_run_byte_for_byte(tmp_path, capsys):
    """``--config outputs/x/config.yml`` (and the same photo) gives the same PLY, byte for byte."""
    from photo3d.cli import main

    image, disparity = synthetic_rgbd(48, 64)
    image_path, depth_path = tmp_path / "photo.png", tmp_path / "photo.npy"
    cv2.imwrite(str(image_path), image[..., ::-1])
    np.save(depth_path, disparity)
    out = tmp_path / "outputs"
    assert main(["--image", str(image_path), "--depth", str(depth_path), "--out", str(out), "--longer-side", "64",
                 "--paths", "none", "--inpaint", "fill", "--depth-kind", "disparity", "--quiet"]) == 0
    ply = out / "photo" / "photo.ply"
    saved = out / "photo" / "config.yml"
    first, first_config = ply.read_bytes(), saved.read_bytes()
    keep = tmp_path / "config.yml"
    keep.write_bytes(first_config)
    ply.unlink()
    saved.unlink()
    # only the photo and the saved settings: the output folder, the size, the inpainter... come from the file
    assert main(["--image", str(image_path), "--depth", str(depth_path), "--config", str(keep)]) == 0
    capsys.readouterr()
    assert ply.read_bytes() == first
    assert load_config(saved)[0].to_dict() == load_config(keep)[0].to_dict()
    header = first.split(b"end_header")[0]
    assert b"comment image_size 64 48" in header


def test_the_border_band_scales_with_the_longer_side_unless_given_in_pixels():
    regions = Config().regions
    assert [regions.border_pad(n) for n in (320, 640, 960, 1920)] == [20, 40, 60, 120]  # the reference's 60 at 960
    regions.extrapolation_thickness = 60
    assert regions.border_pad(320) == 60
    regions.extrapolate_border = False
    assert regions.border_pad(960) == 0
    cfg = Config()
    cfg.regions.extrapolation_fraction = 2.0
    with pytest.raises(Photo3DError, match="regions.extrapolation_fraction"):
        cfg.validate()
