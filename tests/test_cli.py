"""The command line end to end (real pipeline, EGL rendering and H.264 encoding at tiny
sizes): outputs, decoded videos, config handling, one-line errors with exit code 2 and no
partial files, and the batch runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from photo3d.cli import main
from scenes import synthetic_rgbd

FAST = ["--inpaint", "fill", "--quiet"]  # deterministic and fast whatever weights are installed


def decode(path: Path) -> tuple[tuple[int, int], np.ndarray]:
    """((width, height), (N, H, W, 3) uint8 frames) of an mp4, decoded by ffmpeg."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader]
    return (width, height), np.stack(frames)


def all_files(folder: Path) -> list[str]:
    """Every file under ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(Path(root, name).relative_to(folder)) for root, _, names in os.walk(folder) for name in names)


def ply_image_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes().split(b"end_header")[0].decode("ascii")
    line = next(ln for ln in header.splitlines() if ln.startswith("comment image_size"))
    width, height = line.split()[2:4]
    return int(width), int(height)


@pytest.fixture
def rgbd(tmp_path) -> tuple[Path, Path]:
    image, disparity = synthetic_rgbd()
    image_path, depth_path = tmp_path / "in" / "photo.png", tmp_path / "in" / "photo.npy"
    image_path.parent.mkdir()
    cv2.imwrite(str(image_path), image[..., ::-1])
    np.save(depth_path, disparity)
    return image_path, depth_path


def run_main(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------- success
@pytest.mark.egl  # writes videos
def test_run_py_sample_end_to_end(tmp_path, repo_root, sample_files):
    """``python run.py`` as a user runs it: mesh, two videos, config.yml and nothing else."""
    SAMPLE_IMAGE, SAMPLE_DISPARITY = sample_files
    out = tmp_path / "outputs"
    proc = subprocess.run(
        [sys.executable, "run.py", "--image", SAMPLE_IMAGE, "--depth", SAMPLE_DISPARITY, "--out", out,
         "--longer-side", "160", "--frames", "6", "--paths", "swing,zoom-in", "--inpaint", "fill"],
        cwd=repo_root, capture_output=True, text=True, timeout=120,
        env={**os.environ, "EGL_PLATFORM": os.environ.get("EGL_PLATFORM", "surfaceless")},
    )
    assert proc.returncode == 0, proc.stderr
    assert all_files(out) == ["sample/config.yml", "sample/sample.ply", "sample/sample_swing.mp4",
                              "sample/sample_zoom-in.mp4"]
    assert str(out / "sample" / "sample.ply") in proc.stdout
    assert "error" not in proc.stderr

    width, height = ply_image_size(out / "sample" / "sample.ply")
    assert (width, height) == (160, 106)  # 960x640 scaled to a longer side of 160, truncated as the reference
    frames = {}
    for path_name in ("swing", "zoom-in"):
        size, frames[path_name] = decode(out / "sample" / f"sample_{path_name}.mp4")
        assert size == (160, 106)
        assert frames[path_name].shape == (6, 106, 160, 3)
        assert frames[path_name].std() > 20  # a picture, not a blank frame
        # The camera moves: the frames of one video are not all the same picture.
        moved = np.abs(frames[path_name].astype(int) - frames[path_name][:1]).mean(axis=(1, 2, 3))
        assert moved.max() > 2.0, moved
    # The rendered video shows the sample's content: its mean colour is the photo's.
    photo = cv2.resize(cv2.imread(str(SAMPLE_IMAGE))[..., ::-1], (160, 106), interpolation=cv2.INTER_AREA)
    assert np.abs(frames["swing"][0].mean(axis=(0, 1)) - photo.mean(axis=(0, 1))).max() < 25

    saved = yaml.safe_load((out / "sample" / "config.yml").read_text())
    assert (saved["prepare"]["longer_side"], saved["video"]["num_frames"], saved["video"]["paths"]) == \
        (160, 6, ["swing", "zoom-in"])
    assert saved["inpaint"]["method"] == "fill" and saved["_run"]["inpaint_used"] == "fill"
    assert saved["output"]["out_dir"] == str(out)  # every option is in the config
    assert saved["_run"]["image"] == str(SAMPLE_IMAGE) and saved["_run"]["depth"] == str(SAMPLE_DISPARITY)
    assert saved["_run"]["depth_source"] == "file"


def test_paths_none_writes_no_video(tmp_path, rgbd, capsys):
    image, depth = rgbd
    code, stdout, _ = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o",
                               "--longer-side", "96", "--paths", "none", *FAST)
    assert code == 0
    assert all_files(tmp_path / "o") == ["photo/config.yml", "photo/photo.ply"]
    assert yaml.safe_load((tmp_path / "o" / "photo" / "config.yml").read_text())["video"]["paths"] == []


@pytest.mark.egl  # writes videos
def test_name_and_no_ply(tmp_path, rgbd, capsys):
    image, depth = rgbd
    code, _, _ = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o", "--name", "scene",
                          "--longer-side", "96", "--frames", "2", "--paths", "circle", "--no-ply", *FAST)
    assert code == 0
    assert all_files(tmp_path / "o") == ["scene/config.yml", "scene/scene_circle.mp4"]
    size, frames = decode(tmp_path / "o" / "scene" / "scene_circle.mp4")
    assert size == (64, 48) and len(frames) == 2  # a 64x48 photo keeps its size (no --enlarge)


def test_simplify_writes_the_rendered_form_with_its_texture(tmp_path, rgbd, capsys):
    image, depth = rgbd
    code, _, _ = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o", "--longer-side", "96",
                          "--paths", "none", "--simplify", *FAST)
    assert code == 0
    assert all_files(tmp_path / "o") == ["photo/config.yml", "photo/photo.ply", "photo/photo_texture.png"]
    assert yaml.safe_load((tmp_path / "o" / "photo" / "config.yml").read_text())["output"]["simplify_ply"] is True
    import trimesh

    ply = trimesh.load(tmp_path / "o" / "photo" / "photo.ply", process=False)  # opens elsewhere too
    assert len(ply.faces) > 0


def test_glb_output(tmp_path, rgbd, capsys):
    image, depth = rgbd
    code, out, _ = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o", "--longer-side", "96",
                            "--paths", "none", "--glb", *FAST)
    assert code == 0
    assert all_files(tmp_path / "o") == ["photo/config.yml", "photo/photo.glb", "photo/photo.ply"]
    assert "photo.glb" in out
    import trimesh

    glb = trimesh.load(tmp_path / "o" / "photo" / "photo.glb", force="mesh", process=False)
    ply = trimesh.load(tmp_path / "o" / "photo" / "photo.ply", process=False)
    # the GLB carries the exportable hole guard (border skirt) on top of the PLY's mesh
    assert len(glb.vertices) > len(ply.vertices) and len(glb.faces) > len(ply.faces)
    np.testing.assert_array_equal(np.asarray(glb.faces)[: len(ply.faces)], np.asarray(ply.faces))
    code, _, _ = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "n", "--longer-side", "96",
                          "--paths", "none", "--glb", "--export-guard", "none", *FAST)
    assert code == 0
    glb = trimesh.load(tmp_path / "n" / "photo" / "photo.glb", force="mesh", process=False)
    assert len(glb.vertices) == len(ply.vertices) and len(glb.faces) == len(ply.faces)


REFERENCE_KEYS = {
    "longer_side_len": 960, "num_frames": 240, "fps": 40, "gpu_ids": 0, "crop_border": 0.03,
    "inference_video": True, "save_ply": True, "depth_threshold": 0.04, "sparse_iter": 5,
    "filter_size": [7, 7, 5, 5, 5], "background_thickness": 70, "context_thickness": 140,
    "extrapolation_thickness": 60, "img_format": ".jpg", "src_folder": "image", "specific": "",
    "depth_edge_model_ckpt": "checkpoints/edge-model.pth",
    "traj_types": ["straight-line", "circle", "circle"], "video_postfix": ["zoom-in", "swing", "circle"],
    "x_shift_range": [-0.03, -0.02, -0.02], "y_shift_range": [0.0, 0.0, -0.02],
    "z_shift_range": [-0.07, -0.07, -0.07],
}


@pytest.mark.egl  # writes videos
def test_reference_config_with_flags_on_top(tmp_path, rgbd, capsys):
    image, depth = rgbd
    config = tmp_path / "argument.yml"
    config.write_text(yaml.safe_dump(REFERENCE_KEYS))
    out = tmp_path / "o"
    code, _, stderr = run_main(capsys, "--image", image, "--depth", depth, "--out", out, "--config", config,
                               "--longer-side", "100", "--enlarge", "--frames", "3", "--paths", "swing",
                               "--inpaint", "fill")
    assert code == 0, stderr
    ignored_line = next(ln for ln in stderr.splitlines() if ln.startswith("photo3d: config keys ignored:"))
    assert "img_format" in ignored_line and "src_folder" in ignored_line and "specific" in ignored_line
    assert all_files(out) == ["photo/config.yml", "photo/photo.ply", "photo/photo_swing.mp4"]
    size, frames = decode(out / "photo" / "photo_swing.mp4")
    assert size == (100, 74) and len(frames) == 3  # 64x48 -> 100x75 -> odd height loses a row (yuv420p)

    saved = yaml.safe_load((out / "photo" / "config.yml").read_text())
    assert (saved["prepare"]["longer_side"], saved["video"]["num_frames"], saved["video"]["paths"]) == \
        (100, 3, ["swing"])  # flags win
    assert saved["video"]["fps"] == 40.0 and saved["video"]["crop_border"] == [0.03] * 4  # from the file
    assert saved["inpaint"]["edge_weights"] == "checkpoints/edge-model.pth"
    assert [t["name"] for t in saved["video"]["custom_trajectories"]] == ["zoom-in", "swing", "circle"]
    assert {"img_format", "src_folder", "specific"} <= {k.split()[0] for k in saved["_run"]["ignored_keys"]}

    # The saved config.yml is a valid --config: the same run again gives the same settings.
    out2 = tmp_path / "o2"
    code, _, stderr = run_main(capsys, "--image", image, "--depth", depth, "--out", out2,
                               "--config", out / "photo" / "config.yml", "--paths", "none", *FAST)
    assert code == 0, stderr
    again = yaml.safe_load((out2 / "photo" / "config.yml").read_text())
    for run in (again, saved):  # what this run changed on the command line
        del run["_run"], run["video"]["paths"], run["output"]["out_dir"], run["output"]["quiet"]
    assert again == saved


def test_reference_config_inference_video_false(tmp_path, rgbd, capsys):
    image, depth = rgbd
    config = tmp_path / "argument.yml"
    config.write_text(yaml.safe_dump(REFERENCE_KEYS | {"inference_video": False, "longer_side_len": 96}))
    code, _, stderr = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o",
                               "--config", config, *FAST)
    assert code == 0, stderr
    assert all_files(tmp_path / "o") == ["photo/config.yml", "photo/photo.ply"]


@pytest.mark.egl  # writes videos
def test_nan_holes_inside_valid_depth_succeed(tmp_path, capsys):
    image, disparity = synthetic_rgbd()
    disparity[5:15, 8:30] = np.nan
    disparity[40, 60] = np.inf
    image_path, depth_path = tmp_path / "holes.png", tmp_path / "holes.npy"
    cv2.imwrite(str(image_path), image[..., ::-1])
    np.save(depth_path, disparity)
    code, _, stderr = run_main(capsys, "--image", image_path, "--depth", depth_path, "--out", tmp_path / "o",
                               "--longer-side", "96", "--frames", "2", "--paths", "swing", *FAST)
    assert code == 0, stderr
    assert all_files(tmp_path / "o") == ["holes/config.yml", "holes/holes.ply", "holes/holes_swing.mp4"]
    _, frames = decode(tmp_path / "o" / "holes" / "holes_swing.mp4")
    assert len(frames) == 2 and frames.std() > 10


def test_save_depth_writes_the_depth_used(tmp_path, rgbd, capsys):
    image, depth = rgbd
    code, stdout, stderr = run_main(capsys, "--image", image, "--depth", depth, "--out", tmp_path / "o",
                                    "--longer-side", "96", "--paths", "none", "--save-depth", *FAST)
    assert code == 0, stderr
    assert all_files(tmp_path / "o") == ["photo/config.yml", "photo/photo.ply", "photo/photo_depth.npy",
                                         "photo/photo_depth.png"]
    assert str(tmp_path / "o" / "photo" / "photo_depth.npy") in stdout
    np.testing.assert_array_equal(np.load(tmp_path / "o" / "photo" / "photo_depth.npy"), np.load(depth))


def test_save_depth_with_holes_warns_and_still_succeeds(tmp_path, capsys):
    image, disparity = synthetic_rgbd()
    disparity[3:9, 3:9] = np.nan
    image_path, depth_path = tmp_path / "holes.png", tmp_path / "holes.npy"
    cv2.imwrite(str(image_path), image[..., ::-1])
    np.save(depth_path, disparity)
    code, _, stderr = run_main(capsys, "--image", image_path, "--depth", depth_path, "--out", tmp_path / "o",
                               "--longer-side", "96", "--paths", "none", "--save-depth", *FAST)
    assert code == 0, stderr
    assert any(ln.startswith("photo3d: warning: --save-depth:") for ln in stderr.splitlines())
    assert all_files(tmp_path / "o") == ["holes/config.yml", "holes/holes.ply"]


# ---------------------------------------------------------------------------- bad input
def _bad_inputs(folder: Path) -> dict[str, tuple[list, str]]:
    """name -> (extra argv, text the error line must contain)."""
    image, disparity = synthetic_rgbd()
    good_image, good_depth = folder / "good.png", folder / "good.npy"
    cv2.imwrite(str(good_image), image[..., ::-1])
    np.save(good_depth, disparity)
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"this is not a jpeg" * 50)
    constant, all_nan, negative = folder / "constant.npy", folder / "all_nan.npy", folder / "negative.npy"
    np.save(constant, np.full_like(disparity, 2.5))
    np.save(all_nan, np.full_like(disparity, np.nan))
    np.save(negative, -disparity)
    cube = folder / "cube.npy"
    np.save(cube, np.stack([disparity] * 3))
    pickled = folder / "pickled.npy"
    np.save(pickled, np.array([{"depth": 1}], dtype=object), allow_pickle=True)
    unknown_key = folder / "unknown.yml"
    unknown_key.write_text("longer_side_len: 96\nnum_frame: 3\n")
    wrong_type = folder / "wrong_type.yml"
    wrong_type.write_text("longer_side: big\n")
    with_depth = ["--depth", good_depth]
    return {
        "missing image": (["--image", folder / "nope.jpg", *with_depth], f"{folder / 'nope.jpg'}: image file not found"),
        "image is a folder": (["--image", folder, *with_depth], f"{folder}: image path is not a file"),
        "unreadable image": (["--image", garbage, *with_depth], f"{garbage}: not a readable image"),
        "missing depth": (["--image", good_image, "--depth", folder / "nope.npy"], f"{folder / 'nope.npy'}: depth file not found"),
        "constant depth": (["--image", good_image, "--depth", constant], f"{constant}: depth map is constant"),
        "all-NaN depth": (["--image", good_image, "--depth", all_nan], f"{all_nan}: "),
        "negative depth": (["--image", good_image, "--depth", negative, "--depth-kind", "depth"], f"{negative}: "),
        "3-D depth": (["--image", good_image, "--depth", cube], f"{cube}: depth map must be 2-D"),
        "pickled depth": (["--image", good_image, "--depth", pickled], f"{pickled}: "),
        "constant depth, --save-depth": (["--image", good_image, "--depth", constant, "--save-depth"],
                                         f"{constant}: depth map is constant"),
        "unknown path": (["--image", good_image, *with_depth, "--paths", "swing,spiral"], "unknown path(s) spiral"),
        "zero frames": (["--image", good_image, *with_depth, "--frames", "0"], "num_frames must be >= 1"),
        "unknown config key": (["--image", good_image, *with_depth, "--config", unknown_key],
                               f"{unknown_key}: unknown config key(s): num_frame"),
        "wrong config type": (["--image", good_image, *with_depth, "--config", wrong_type],
                              f"{wrong_type}: prepare.longer_side must be an integer"),
        "name with a folder": (["--image", good_image, *with_depth, "--name", "../escape"],
                               "output.name: must be a plain file name"),
        "missing config": (["--image", good_image, *with_depth, "--config", folder / "nope.yml"],
                           f"{folder / 'nope.yml'}: config file not found"),
        "output under a file": (["--image", good_image, *with_depth, "--out", good_depth / "sub"],
                                f"{good_depth}: output path is not a folder"),
    }


@pytest.mark.parametrize("case", [
    "missing image", "image is a folder", "unreadable image", "missing depth", "constant depth", "all-NaN depth",
    "negative depth", "3-D depth", "pickled depth", "constant depth, --save-depth", "unknown path", "zero frames", "unknown config key",
    "wrong config type", "name with a folder", "missing config", "output under a file",
])
def test_bad_input_is_one_error_line_and_exit_2(tmp_path, capsys, case):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    argv, expected = _bad_inputs(inputs)[case]
    out = tmp_path / "out"
    # Not --quiet: warnings and progress must not add lines to a failed run's stderr either.
    code, stdout, stderr = run_main(capsys, "--out", out, "--longer-side", "96", "--frames", "2", "--inpaint", "fill",
                                    *argv)  # the case's flags last, so they win
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("photo3d: error: ") and expected in lines[0], lines[0]
    assert stdout == ""
    assert not out.exists() or all_files(out) == []  # nothing written, partial or otherwise


def test_bad_input_through_run_py(tmp_path, repo_root):
    """The same contract from a real process: exit status 2, one line, no traceback."""
    depth = tmp_path / "flat.npy"
    np.save(depth, np.ones((30, 40), np.float32))
    image = tmp_path / "flat.png"
    cv2.imwrite(str(image), np.full((30, 40, 3), 128, np.uint8))
    proc = subprocess.run([sys.executable, "run.py", "--image", image, "--depth", depth, "--out", tmp_path / "o"],
                          cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"photo3d: error: {depth}: depth map is constant (1); no 3D structure to show"]
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------- batch
def _batch_folder(root: Path) -> tuple[Path, Path]:
    images, depths = root / "images", root / "depths"
    images.mkdir()
    depths.mkdir()
    for i, name in enumerate(("alpha", "beta")):
        image, disparity = synthetic_rgbd(seed=i)
        cv2.imwrite(str(images / f"{name}.png"), image[..., ::-1])
        if name == "alpha":
            np.save(depths / "alpha.npy", disparity)
        else:  # a 16-bit PNG depth map, found by the photo's stem
            cv2.imwrite(str(depths / "beta.png"), (disparity / disparity.max() * 65535).astype(np.uint16))
    (images / "gamma.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken jpeg" * 10)
    np.save(depths / "gamma.npy", synthetic_rgbd()[1])
    (images / "notes.txt").write_text("not an image: not a job")
    return images, depths


@pytest.mark.egl  # writes videos
def test_batch_goes_on_after_a_bad_image(tmp_path, capsys):
    images, depths = _batch_folder(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = run_main(capsys, "batch", images, "--depth-dir", depths, "--out", out,
                                    "--longer-side", "96", "--frames", "2", "--paths", "swing", *FAST)
    assert code == 2
    assert all_files(out) == ["alpha/alpha.ply", "alpha/alpha_swing.mp4", "alpha/config.yml", "alpha/manifest.json",
                              "batch_report.json", "beta/beta.ply", "beta/beta_swing.mp4", "beta/config.yml",
                              "beta/manifest.json"]
    errors = [ln for ln in stderr.splitlines() if ln.startswith("photo3d: error:")]
    assert errors == [f"photo3d: error: {images / 'gamma.jpg'}: not a readable image (jpg, png, webp, tiff, heic expected)"]
    assert stdout.splitlines()[-1] == "batch: 2 done, 0 skipped, 1 failed (gamma.jpg)"
    for name, depth_file in (("alpha", "alpha.npy"), ("beta", "beta.png")):
        run = yaml.safe_load((out / name / "config.yml").read_text())["_run"]
        assert run["depth"] == str(depths / depth_file) and run["depth_source"] == "file"
        _, frames = decode(out / name / f"{name}_swing.mp4")
        assert len(frames) == 2 and frames.std() > 10


def test_batch_all_good_exits_0(tmp_path, capsys):
    images, depths = _batch_folder(tmp_path)
    (images / "gamma.jpg").unlink()
    code, stdout, _ = run_main(capsys, "batch", images, "--depth-dir", depths, "--out", tmp_path / "out",
                               "--longer-side", "96", "--paths", "none", *FAST)
    assert code == 0
    assert stdout.splitlines()[-1] == "batch: 2 done, 0 skipped, 0 failed"
    assert all_files(tmp_path / "out") == ["alpha/alpha.ply", "alpha/config.yml", "alpha/manifest.json",
                                           "batch_report.json", "beta/beta.ply", "beta/config.yml", "beta/manifest.json"]


@pytest.mark.parametrize("problem", ["no images", "missing depth dir", "missing image dir"])
def test_batch_folder_errors(tmp_path, capsys, problem):
    images, depths = _batch_folder(tmp_path)
    if problem == "no images":
        empty = tmp_path / "empty"
        empty.mkdir()
        argv, expected = [empty], f"{empty}: no images found"
    elif problem == "missing depth dir":
        argv, expected = [images, "--depth-dir", tmp_path / "nope"], f"{tmp_path / 'nope'}: depth folder not found"
    else:
        argv, expected = [tmp_path / "nope"], f"{tmp_path / 'nope'}: not a folder"
    code, stdout, stderr = run_main(capsys, "batch", *argv, "--out", tmp_path / "out", *FAST)
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"photo3d: error: {expected}"), stderr
    assert not (tmp_path / "out").exists()


def test_batch_depth_maps_beside_the_photos(tmp_path, capsys):
    """--depth-dir = the photo folder: photo.jpg takes photo.png as its depth; photo.png is no job."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    image, disparity = synthetic_rgbd()
    cv2.imwrite(str(folder / "photo.jpg"), image[..., ::-1])
    cv2.imwrite(str(folder / "photo.png"), (disparity / disparity.max() * 65535).astype(np.uint16))
    code, stdout, stderr = run_main(capsys, "batch", folder, "--depth-dir", folder, "--out", tmp_path / "out",
                                    "--longer-side", "96", "--paths", "none", *FAST)
    assert code == 0, stderr
    assert stdout.splitlines()[-1] == "batch: 1 done, 0 skipped, 0 failed"
    assert all_files(tmp_path / "out") == ["batch_report.json", "photo/config.yml", "photo/manifest.json",
                                           "photo/photo.ply"]
    run = yaml.safe_load((tmp_path / "out" / "photo" / "config.yml").read_text())["_run"]
    assert run["image"] == str(folder / "photo.jpg") and run["depth"] == str(folder / "photo.png")


def test_find_jobs_pairs_and_clashes(tmp_path):
    from photo3d.cli.batch import find_jobs
    from photo3d.errors import Photo3DError

    photos, depths = tmp_path / "photos", tmp_path / "depths"
    photos.mkdir()
    depths.mkdir()
    for name in ("b.jpg", "a.PNG", "c.webp", "readme.md"):
        (photos / name).write_bytes(b"x")
    for name in ("a.pfm", "a.npy", "b.tiff", "z.npy"):
        (depths / name).write_bytes(b"x")
    pairs = lambda jobs: [(j.image, j.depth) for j in jobs]  # noqa: E731
    assert pairs(find_jobs(photos, depths)) == [(photos / "a.PNG", depths / "a.npy"),  # .npy is preferred
                                                (photos / "b.jpg", depths / "b.tiff"), (photos / "c.webp", None)]
    assert pairs(find_jobs(photos, None)) == [(photos / "a.PNG", None), (photos / "b.jpg", None),
                                              (photos / "c.webp", None)]

    (photos / "b.png").write_bytes(b"x")  # b.jpg and b.png would both write <out>/b/
    with pytest.raises(Photo3DError) as exc:
        find_jobs(photos, depths)
    assert str(exc.value) == f"{photos}: b.jpg and b.png would write the same outputs; rename one"


def test_api_from_files_reports_a_stretched_depth_map(tmp_path, caplog):
    """The Python API passes on what the CLI prints as a warning (it used to drop it)."""
    import logging

    from photo3d import Photo3D
    from photo3d.config import Config

    image, disparity = synthetic_rgbd(48, 64)
    cv2.imwrite(str(tmp_path / "photo.png"), image[..., ::-1])
    np.save(tmp_path / "square.npy", cv2.resize(disparity, (48, 48), interpolation=cv2.INTER_NEAREST))
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        p3d = Photo3D.from_files(tmp_path / "photo.png", tmp_path / "square.npy",
                                 config=Config.from_keys(longer_side=64, paths=[], inpaint="fill"))
    assert p3d.intrinsics.width == 64 and p3d.intrinsics.height == 48
    assert any("square.npy" in r.getMessage() and "stretched" in r.getMessage() for r in caplog.records)
