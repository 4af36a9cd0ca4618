"""photo3d.config: the reference implementation's argument.yml keys, photo3d's own keys,
type checks and validation with errors naming the source, crop fractions, YAML round trips."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from photo3d.config import DEFAULT_PATHS, Config, config_from_mapping, load_config
from photo3d.errors import Photo3DError


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
    assert cfg.longer_side == 960 and cfg.depth_threshold == 0.04 and cfg.num_frames == 240 and cfg.fps == 40.0
    assert cfg.paths == list(DEFAULT_PATHS) and cfg.filter_size == [7, 7, 5, 5, 5]
    assert Config().paths is not cfg.paths  # no shared mutable defaults


def test_reference_argument_yml_maps_onto_config(tmp_path):
    path = tmp_path / "argument.yml"
    path.write_text(yaml.safe_dump(reference_argument_yml()))
    cfg, ignored = load_config(path)
    assert cfg.longer_side == 960 and isinstance(cfg.longer_side, int)
    assert cfg.edge_weights == "checkpoints/edge-model.pth"
    assert cfg.depth_weights == "checkpoints/depth-model.pth"
    assert cfg.color_weights == "checkpoints/color-model.pth"
    assert cfg.device == "auto"  # gpu_ids 0 is the reference default, also on CPU machines
    assert cfg.fps == 40.0 and isinstance(cfg.fps, float)
    assert cfg.crop_fractions() == (0.03, 0.03, 0.03, 0.03)
    assert (cfg.background_thickness, cfg.context_thickness, cfg.extrapolation_thickness) == (70, 140, 60)
    assert cfg.custom_trajectories == [
        {"name": "zoom-in", "traj_type": "straight-line", "x": -0.03, "y": 0.0, "z": -0.07},
        {"name": "swing", "traj_type": "circle", "x": -0.02, "y": 0.0, "z": -0.07},
        {"name": "circle", "traj_type": "circle", "x": -0.02, "y": -0.02, "z": -0.07},
    ]
    assert cfg.paths == ["zoom-in", "swing", "circle"]
    ignored_keys = {entry.split(" ")[0] for entry in ignored}
    assert ignored_keys == {
        "MiDaS_model_ckpt", "specific", "src_folder", "depth_folder", "mesh_folder", "video_folder",
        "load_ply", "offscreen_rendering", "img_format", "redundant_number", "background_thickness_2",
        "context_thickness_2", "depth_edge_dilate", "depth_edge_dilate_2", "discount_factor",
    }
    assert all("(" in entry and entry.endswith(")") for entry in ignored)  # each with its reason


@pytest.mark.parametrize("gpu_ids, device", [(0, "auto"), (1, "auto"), (-1, "cpu"), (None, "cpu")])
def test_gpu_ids(gpu_ids, device):
    assert config_from_mapping({"gpu_ids": gpu_ids})[0].device == device


def test_explicit_device_beats_gpu_ids():
    assert config_from_mapping({"gpu_ids": -1, "device": "cuda:1"})[0].device == "cuda:1"


def test_inference_video_false_means_no_videos():
    assert config_from_mapping({"inference_video": False})[0].paths == []
    assert config_from_mapping({"inference_video": True})[0].paths == list(DEFAULT_PATHS)
    # The reference file always carries the trajectory keys: they must not bring videos back.
    data = reference_argument_yml() | {"inference_video": False}
    cfg, _ = config_from_mapping(data)
    assert cfg.paths == [] and len(cfg.custom_trajectories) == 3


def test_own_keys_and_reference_names_together():
    cfg, ignored = config_from_mapping({"longer_side_len": 512, "num_frames": 30, "paths": ["swing"],
                                        "inpaint": "fill", "crop_border": [0.1, 0.0, 0.2, 0.05]})
    assert ignored == []
    assert (cfg.longer_side, cfg.num_frames, cfg.paths, cfg.inpaint) == (512, 30, ["swing"], "fill")
    assert cfg.crop_fractions() == (0.1, 0.0, 0.2, 0.05)


def test_integral_floats_become_ints():
    cfg, _ = config_from_mapping({"longer_side": 640.0, "num_frames": 12.0})
    assert cfg.longer_side == 640 and type(cfg.longer_side) is int
    assert cfg.num_frames == 12 and type(cfg.num_frames) is int


def test_base_values_kept_for_keys_not_given():
    base, _ = config_from_mapping({"longer_side": 320, "inpaint": "fill"})
    cfg, _ = config_from_mapping({"num_frames": 8}, base=base)
    assert (cfg.longer_side, cfg.inpaint, cfg.num_frames) == (320, "fill", 8)
    assert base.num_frames == 240  # the base is not modified


def test_unknown_keys_are_named():
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping({"longer_side": 640, "longer_sid": 1, "frames": 3}, source="my.yml")
    assert str(exc.value) == "my.yml: unknown config key(s): frames, longer_sid"


@pytest.mark.parametrize("data, problem", [
    ({"longer_side": "960"}, "longer_side must be an integer"),
    ({"longer_side": 160.5}, "longer_side must be an integer"),
    ({"longer_side": True}, "longer_side must be an integer"),
    ({"fps": "fast"}, "fps must be a number"),
    ({"save_ply": "yes"}, "save_ply must be true or false"),
    ({"extrapolate_border": 1}, "extrapolate_border must be true or false"),
    ({"depth_kind": 3}, "depth_kind must be a string"),
    ({"checkpoints": 5}, "checkpoints must be a string"),
    ({"paths": "swing"}, "paths must be a list"),
    ({"paths": ["swing", 3]}, "paths must be a list of path names"),
    ({"filter_size": 7}, "filter_size must be a list"),
    ({"gpu_ids": "0,1"}, "gpu_ids must be an integer"),
    ({"inference_video": "no"}, "inference_video must be true or false"),
    ({"max_batch_pixels": "many"}, "max_batch_pixels must be an integer"),
    ({"max_batch_pixels": 1.5}, "max_batch_pixels must be an integer"),
    ({"max_batch_pixels": True}, "max_batch_pixels must be an integer"),
])
def test_wrong_types_raise(data, problem):
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping(data, source="cfg.yml")
    assert str(exc.value).startswith(f"cfg.yml: {problem}"), str(exc.value)


@pytest.mark.parametrize("data, problem", [
    ({"depth_kind": "inverse"}, "depth_kind must be"),
    ({"inpaint": "magic"}, "inpaint must be"),
    ({"longer_side": 8}, "longer_side must be >= 16"),
    ({"background_thickness": -1}, "background_thickness must be >= 0"),
    ({"sparse_iter": -2}, "sparse_iter must be >= 0"),
    ({"depth_threshold": 0}, "depth_threshold must be > 0"),
    ({"fps": 0}, "fps must be > 0"),
    ({"fps": float("nan")}, "fps must be a finite number"),
    ({"sigma_s": float("inf")}, "sigma_s must be a finite number"),
    ({"supersample": 0.5}, "supersample must be in [1, 8]"),
    ({"sparse_iter": 6}, "filter_size needs sparse_iter=6 entries"),
    ({"filter_size": [7, 7, 5, 0, 5]}, "filter_size must be a list of positive integers"),
    ({"crop_border": [0.1, 0.1]}, "crop_border must be one number or four"),
    ({"crop_border": 0.5}, "crop_border fractions must be in [0, 0.5)"),
    ({"crop_border": [0.0, -0.1, 0.0, 0.0]}, "crop_border fractions must be in [0, 0.5)"),
    ({"paths": ["swing", "spiral"]}, "unknown path(s) spiral"),
    ({"num_frames": 0}, "num_frames must be >= 1"),
    ({"custom_trajectories": [{"name": "a", "traj_type": "circle"}]}, "numbers x, y, z"),
    ({"custom_trajectories": [{"name": "a", "traj_type": "circle", "x": 0.1, "y": "up", "z": 0}]}, "numbers x, y, z"),
])
def test_validation_errors(data, problem):
    with pytest.raises(Photo3DError) as exc:
        config_from_mapping(data, source="cfg.yml")
    message = str(exc.value)
    assert message.startswith("cfg.yml: ") and problem in message, message


def test_max_batch_pixels_integral_or_none():
    cfg, _ = config_from_mapping({"max_batch_pixels": 2e6})
    assert cfg.max_batch_pixels == 2_000_000 and type(cfg.max_batch_pixels) is int
    cfg, _ = config_from_mapping({"max_batch_pixels": None}, base=cfg)
    assert cfg.max_batch_pixels is None


def test_no_frames_is_fine_without_videos():
    cfg, _ = config_from_mapping({"num_frames": 0, "paths": []})
    assert cfg.num_frames == 0 and cfg.paths == []


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
    assert cfg.paths == ["slide"]
    # A later layer (e.g. the command line) may choose among them and the built-in paths.
    cfg2, _ = config_from_mapping({"paths": ["slide", "circle"]}, base=cfg)
    assert cfg2.paths == ["slide", "circle"] and cfg2.custom_trajectories == cfg.custom_trajectories


@pytest.mark.parametrize("crop, fractions", [
    (0.03, (0.03, 0.03, 0.03, 0.03)),
    (0, (0.0, 0.0, 0.0, 0.0)),
    ([0.03, 0.03, 0.05, 0.03], (0.03, 0.03, 0.05, 0.03)),
    ((0.1, 0.2, 0.0, 0.4), (0.1, 0.2, 0.0, 0.4)),
])
def test_crop_fractions(crop, fractions):
    result = Config(crop_border=crop).crop_fractions()
    assert result == fractions and all(type(v) is float for v in result)


@pytest.mark.parametrize("crop", [[0.1, 0.1, 0.1], "0.03", [0.1, "a", 0.1, 0.1], None])
def test_crop_fractions_refuses_malformed(crop):
    with pytest.raises(Photo3DError, match="crop_border must be one number or four"):
        Config(crop_border=crop).crop_fractions()


def test_yaml_save_load_round_trip(tmp_path):
    data = reference_argument_yml() | {"longer_side_len": 384, "inpaint": "fill", "depth_kind": "depth",
                                       "crop_border": [0.0, 0.01, 0.02, 0.03], "device": "cpu"}
    cfg, _ = config_from_mapping(data)
    path = tmp_path / "nested" / "config.yml"
    cfg.save(path)
    loaded, ignored = load_config(path)
    assert ignored == []
    assert loaded == cfg
    assert dataclasses.asdict(loaded) == yaml.safe_load(path.read_text())
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.yml"]  # no temporary left


def test_saved_run_record_is_skipped_on_load(tmp_path):
    """The CLI's outputs/<name>/config.yml carries a ``_run`` record; it loads back as a config."""
    cfg = Config(longer_side=200, paths=["swing"], num_frames=5)
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
