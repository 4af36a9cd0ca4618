"""Regression tests of issue 11 (reliability): bad input is one line and exit 2, never a
traceback or a NaN mesh; sizes are bounded before allocating; a run commits all its files
or none (errors, SIGTERM/SIGHUP, concurrent runs); the API raises only Photo3DError and a
failed render leaves the GL context usable."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from photo3d import checks
from photo3d.cli import main
from photo3d.config import Config, load_config
from photo3d.errors import Photo3DError
from photo3d.io import OutputTransaction, read_ply

REPO = Path(__file__).resolve().parents[1]
FAST = ["--inpaint", "fill", "--quiet", "--longer-side", "64", "--frames", "2"]


def all_files(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (hidden ones included), relative, sorted."""
    out = []
    for root, dirs, names in os.walk(folder):
        out += [str(Path(root, n).relative_to(folder)) for n in dirs + names]
    return sorted(out)


def photo(tmp_path: Path, height: int = 48, width: int = 64) -> tuple[Path, Path]:
    """A small photo and its disparity (.npy) under ``tmp_path``."""
    yy, xx = np.mgrid[0:height, 0:width]
    image = np.stack([xx * 4 % 256, yy * 5 % 256, np.full_like(xx, 90)], 2).astype(np.uint8)
    disparity = (1.0 + 0.5 * xx / width).astype(np.float32)
    disparity[height // 4: 3 * height // 4, width // 3: 2 * width // 3] = 3.0
    cv2.imwrite(str(tmp_path / "p.png"), image[..., ::-1])
    np.save(tmp_path / "p.npy", disparity)
    return tmp_path / "p.png", tmp_path / "p.npy"


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """Exit code (argparse's SystemExit included) and stderr of the CLI run in-process."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


# -- group 2: non-finite depth, intrinsics ------------------------------------------------

@pytest.mark.parametrize("kind", ["disparity", "depth"])
def test_depth_near_the_float32_limits_is_repaired_or_refused_never_a_nan_mesh(tmp_path, capsys, kind):
    image, _ = photo(tmp_path)
    values = np.full((48, 64), 3.0e38, np.float32)
    values[:, 32:] = -3.0e38 if kind == "disparity" else 1.0e-30
    np.save(tmp_path / "big.npy", values)
    out = tmp_path / "out"
    code, err = run_cli(["--image", image, "--depth", tmp_path / "big.npy", "--depth-kind", kind, "--out", out,
                         "--paths", "none", *FAST], capsys)
    assert code in (0, 2), err
    if code == 0:
        assert np.isfinite(read_ply(out / "p" / "p.ply").vertices).all()
    else:
        assert err.count("\n") == 1 and "big.npy" in err and not (out / "p").exists()


def test_nan_intrinsics_and_zero_focal_are_refused_by_the_api():
    from photo3d import Photo3D

    image, depth = np.zeros((24, 32, 3), np.uint8), np.linspace(1, 2, 24 * 32, dtype=np.float32).reshape(24, 32)
    for bad in [(0, 0, 16, 12), (np.nan, 30, 16, 12), (1e300, 1e300, 0, 0)]:
        with pytest.raises(Photo3DError, match="intrinsics"):
            Photo3D.from_rgbd(image, depth, intrinsics=bad)


def test_mesh_writers_refuse_non_finite_vertices(tmp_path):
    from photo3d.core.data import Intrinsics, Mesh
    from photo3d.io import write_glb, write_ply

    mesh = Mesh(np.array([[0, 0, 1], [1, 0, np.nan], [0, 1, 1]], np.float32), np.zeros((3, 3), np.uint8),
                np.array([[0, 1, 2]], np.int32), Intrinsics.default(4, 4))
    for writer, name in ((write_ply, "m.ply"), (write_glb, "m.glb")):
        with pytest.raises(Photo3DError, match="not finite"):
            writer(mesh, tmp_path / name)
    assert all_files(tmp_path) == []


# -- group 7, 8: memory bounds, YAML -------------------------------------------------------

@pytest.mark.parametrize("args", [["--longer-side", "100000"], ["--config", "thick.yml"]])
def test_size_settings_are_bounded_before_allocating(tmp_path, capsys, args):
    image, depth = photo(tmp_path)
    (tmp_path / "thick.yml").write_text("regions:\n  extrapolation_thickness: 100000\n")
    args = [tmp_path / a if a.endswith(".yml") else a for a in args]
    start = time.perf_counter()
    code, err = run_cli(["--image", image, "--depth", depth, "--out", tmp_path / "out", "--quiet",
                         "--paths", "none", *args], capsys)
    assert code == 2 and err.count("\n") == 1 and time.perf_counter() - start < 5
    assert not (tmp_path / "out").exists()


def test_memory_check_names_the_input_for_a_photo_too_large_for_the_machine(monkeypatch):
    from photo3d.pipeline import check_scene_size

    monkeypatch.setattr(checks, "memory_bytes", lambda: 1 << 30)
    config = Config.from_keys(longer_side=4000)
    with pytest.raises(Photo3DError, match=r"photo\.jpg: .*GiB"):
        check_scene_size((3000, 4000, 3), config, "photo.jpg")


def test_yaml_alias_bomb_is_refused_at_once_with_a_short_message(tmp_path):
    lines = ["_run:", "  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"  {name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        prev = name
    (tmp_path / "bomb.yml").write_text("\n".join(lines + ["longer_side: *i"]) + "\n")
    start = time.perf_counter()
    with pytest.raises(Photo3DError) as info:
        load_config(tmp_path / "bomb.yml")
    assert time.perf_counter() - start < 2 and len(str(info.value)) < 300 and "alias" in str(info.value)


def test_echoed_values_are_cut_to_about_100_characters(tmp_path):
    (tmp_path / "long.yml").write_text("longer_side: " + "x" * 5000 + "\n")
    with pytest.raises(Photo3DError) as info:
        load_config(tmp_path / "long.yml")
    assert len(str(info.value)) < 250


def test_binary_config_is_one_error_line_single_and_batch(tmp_path, capsys):
    image, depth = photo(tmp_path)
    (tmp_path / "bin.yml").write_bytes(bytes(range(256)) * 8)
    for args in (["--image", image, "--depth", depth], ["batch", tmp_path]):
        code, err = run_cli([*args, "--config", tmp_path / "bin.yml", "--out", tmp_path / "out"], capsys)
        assert code == 2 and err.count("\n") == 1 and "bin.yml" in err and "Traceback" not in err


# -- group 9: the API raises its own errors; the GL context survives -----------------------

@pytest.fixture(scope="module")
def p3d():
    from photo3d import Photo3D

    yy, xx = np.mgrid[0:24, 0:32]
    image = np.stack([xx * 8, yy * 10, np.full_like(xx, 90)], 2).astype(np.uint8)
    depth = np.where((abs(xx - 16) < 6) & (abs(yy - 12) < 5), 1.0, 2.0).astype(np.float32)
    config = Config.from_keys(longer_side=32, inpaint="fill", extrapolation_thickness=4, num_frames=3,
                              paths=["circle"])
    with Photo3D.from_rgbd(image, depth, config=config) as scene:
        yield scene


@pytest.mark.parametrize("call", [
    lambda p: p.render(np.diag([1.0, 1, 1, 0])),
    lambda p: p.render(np.zeros((4, 4))),
    lambda p: p.render(np.eye(4), size=(0, 0)),
    lambda p: p.render(np.eye(4), size=(-5, -5)),
    lambda p: p.render(np.eye(4), size=(5,)),
    lambda p: p.render(np.eye(4), size=(20000, 20000)),
    lambda p: p.render(np.eye(4), size=(100000, 100000)),
    lambda p: p.render(np.eye(4), intrinsics=(0, 0, 16, 12)),
    lambda p: p.render("pose"),
    lambda p: p.write_video("/nonexistent-folder/x.mp4", [np.eye(4)]),
    lambda p: p.write_video("x.mp4", [np.diag([1.0, 1, 1, 0])]),
    lambda p: p.write_video("x.mp4", "circle", fps=0),
    lambda p: p.write_video("x.mp4", "circle", num_frames=0),
])
def test_api_calls_raise_photo3d_error_and_the_gl_context_stays_usable(p3d, tmp_path, monkeypatch, call):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Photo3DError):
        call(p3d)
    rgb, mask = p3d.render(np.eye(4))
    assert mask.mean() > 0.9 and rgb.shape == (24, 32, 3)
    assert all_files(tmp_path) == []


def test_a_new_photo3d_renders_after_a_failed_huge_render(p3d):
    from photo3d import Photo3D

    with pytest.raises(Photo3DError):
        p3d.render(np.eye(4), size=(20000, 20000))
    image, depth = np.full((16, 16, 3), 128, np.uint8), np.linspace(1, 2, 256, dtype=np.float32).reshape(16, 16)
    with Photo3D.from_rgbd(image, depth, config=Config.from_keys(longer_side=16, inpaint="fill")) as other:
        assert other.render(np.eye(4))[1].mean() > 0.9


@pytest.mark.parametrize("image, depth", [
    (np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), np.float32)),
    (np.zeros((8, 8, 3), np.uint8), "depth"),
    (np.zeros((8, 8, 3), np.uint8), np.zeros((8,), np.float32)),
    ("image", np.ones((8, 8), np.float32)),
])
def test_from_rgbd_with_bad_arrays_raises_photo3d_error(image, depth):
    from photo3d import Photo3D

    with pytest.raises(Photo3DError):
        Photo3D.from_rgbd(image, depth)


def test_singular_poses_are_refused_by_the_pose_check():
    for pose in (np.diag([1.0, 1, 1, 0]), np.zeros((4, 4)), np.diag([1.0, 0, 1, 1])):
        with pytest.raises(Photo3DError, match="invertible"):
            checks.check_pose(pose)
    assert checks.check_pose(np.eye(4)).dtype == np.float64


# -- group 1, 10: names and exit codes -----------------------------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["--name", "x" * 300], "bytes long"),
    (["--name", "../evil"], "plain file name"),
    (["--paths", ",,"], "--paths"),
    (["--device", "bogus"], "device"),
    (["--fps", "1e-9"], "fps"),
    (["--image-is", "replaced"], None),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, extra, needle):
    image, depth = photo(tmp_path)
    args = ["--image", image, "--depth", depth, "--out", tmp_path / "out", *FAST, *extra]
    if needle is None:  # an unreadable image (no permission) in place of the option
        args = ["--image", tmp_path / "locked.png", "--depth", depth, "--out", tmp_path / "out", *FAST]
        (tmp_path / "locked.png").write_bytes(image.read_bytes())
        os.chmod(tmp_path / "locked.png", 0)
        if os.access(tmp_path / "locked.png", os.R_OK):
            pytest.skip("running as a user who reads every file")
        needle = "locked.png"
    code, err = run_cli(args, capsys)
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_a_symlink_loop_is_named_as_one(tmp_path, capsys):
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    code, err = run_cli(["--image", tmp_path / "a.png", "--out", tmp_path / "out", *FAST], capsys)
    assert code == 2 and "symbolic link loop" in err


def test_a_video_size_problem_is_found_before_the_build_and_names_the_photo(tmp_path, capsys):
    image = np.zeros((1000, 3, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "thin.png"), image)
    np.save(tmp_path / "thin.npy", np.linspace(1, 2, 3000, dtype=np.float32).reshape(1000, 3))
    code, err = run_cli(["--image", tmp_path / "thin.png", "--depth", tmp_path / "thin.npy",
                         "--out", tmp_path / "out", "--inpaint", "fill", "--quiet", "--longer-side", "160"], capsys)
    assert code == 2 and "thin.png" in err and "2x2" in err
    assert not (tmp_path / "out").exists()


def test_a_trajectory_name_with_a_folder_is_refused(tmp_path, capsys):
    image, depth = photo(tmp_path)
    (tmp_path / "ref.yml").write_text(
        "traj_types: [circle]\nx_shift_range: [0.01]\ny_shift_range: [0.0]\nz_shift_range: [0.0]\n"
        "video_postfix: ['../../escape']\n")
    code, err = run_cli(["--image", image, "--depth", depth, "--config", tmp_path / "ref.yml",
                         "--out", tmp_path / "out", *FAST], capsys)
    assert code == 2 and "escape" in err and not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.parent.iterdir() if "escape" in p.name) == []


# -- groups 3-5: one output transaction ----------------------------------------------------

def test_a_late_failure_leaves_the_output_folder_as_it_was(tmp_path, capsys, monkeypatch):
    import photo3d.video

    image, depth = photo(tmp_path)
    out = tmp_path / "out"
    code, _ = run_cli(["--image", image, "--depth", depth, "--out", out, *FAST, "--paths", "circle"], capsys)
    assert code == 0
    before = {p: (out / p).read_bytes() for p in all_files(out) if (out / p).is_file()}

    def broken(*args, **kwargs):
        raise Photo3DError("video: ffmpeg failed (simulated)")

    monkeypatch.setattr(photo3d.video, "write_path_video", broken)
    code, err = run_cli(["--image", image, "--depth", depth, "--out", out, *FAST, "--paths", "swing",
                         "--glb"], capsys)
    assert code == 2 and "simulated" in err
    assert {p: (out / p).read_bytes() for p in all_files(out) if (out / p).is_file()} == before
    assert all_files(out) == sorted(before) + ["p"] or all_files(out) == sorted(set(before) | {"p"})


def test_a_new_run_replaces_the_whole_set_of_the_previous_one(tmp_path, capsys):
    image, depth = photo(tmp_path)
    out = tmp_path / "out"
    assert run_cli(["--image", image, "--depth", depth, "--out", out, *FAST, "--paths", "circle"], capsys)[0] == 0
    (out / "p" / "notes.txt").write_text("mine")
    assert run_cli(["--image", image, "--depth", depth, "--out", out, *FAST, "--paths", "none"], capsys)[0] == 0
    assert all_files(out) == ["p", "p/config.yml", "p/notes.txt", "p/p.ply"]


@pytest.mark.parametrize("stage", ["prepare", "mesh", "write_ply", "video"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_at_any_stage_leaves_nothing(tmp_path, capsys, monkeypatch, stage, signum):
    import photo3d.io
    import photo3d.pipeline
    import photo3d.video

    image, depth = photo(tmp_path)
    targets = {"prepare": (photo3d.pipeline, "prepare"), "mesh": (photo3d.pipeline, "build_mesh"),
               "write_ply": (photo3d.io, "write_ply"), "video": (photo3d.video.VideoWriter, "write")}
    owner, attr = targets[stage]
    original = getattr(owner, attr)

    def interrupted(*args, **kwargs):
        if stage in ("write_ply", "video"):
            original(*args, **kwargs) if stage == "video" else None
        os.kill(os.getpid(), signum)
        time.sleep(1)  # the handler raises here
        raise AssertionError("signal not delivered")

    monkeypatch.setattr(owner, attr, interrupted)
    code, err = run_cli(["--image", image, "--depth", depth, "--out", tmp_path / "out", *FAST,
                         "--paths", "circle"], capsys)
    assert code == 128 + signum and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_sigterm_from_outside_cleans_up_a_real_process(tmp_path):
    image, depth = photo(tmp_path, 240, 320)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO), EGL_PLATFORM="surfaceless")
    proc = subprocess.Popen([sys.executable, str(REPO / "run.py"), "--image", image, "--depth", depth, "--out", out,
                             "--inpaint", "fill", "--quiet", "--longer-side", "320", "--frames", "400",
                             "--paths", "circle"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(".partial" in f for f in all_files(out) if out.exists()):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not out.exists() or all_files(out) == [], all_files(out)


def test_two_runs_into_one_name_cannot_mix(tmp_path):
    out = tmp_path / "out"
    first = OutputTransaction(out / "n", "n", staging_parent=out, replace_set=True)
    staging = first.begin()
    (staging / "n.ply").write_text("first")
    second = OutputTransaction(out / "n", "n", staging_parent=out, replace_set=True)
    with pytest.raises(Photo3DError, match="another photo3d run"):
        second.begin()
    first.commit()
    assert all_files(out) == ["n", "n/n.ply"]
    with OutputTransaction(out / "n", "n", staging_parent=out, replace_set=True) as staging:
        (staging / "n.ply").write_text("third")
    assert (out / "n" / "n.ply").read_text() == "third" and all_files(out) == ["n", "n/n.ply"]


def test_a_killed_runs_private_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "out"
    (out / ".n.abcd1234.partial").mkdir(parents=True)
    (out / ".n.abcd1234.partial" / "n.ply").write_text("half")
    with OutputTransaction(out / "n", "n", staging_parent=out, replace_set=True) as staging:
        (staging / "n.ply").write_text("whole")
    assert all_files(out) == ["n", "n/n.ply"]


def test_sigterm_during_a_batch_leaves_no_partial_video(tmp_path, capsys, monkeypatch):
    import photo3d.video

    image, depth = photo(tmp_path)
    (tmp_path / "photos").mkdir()
    for stem in ("a", "b"):
        (tmp_path / "photos" / f"{stem}.png").write_bytes(image.read_bytes())
    original = photo3d.video.VideoWriter.write
    calls = []

    def write(self, frame):
        calls.append(1)
        if len(calls) == 3:  # the second photo's video
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        return original(self, frame)

    monkeypatch.setattr(photo3d.video.VideoWriter, "write", write)
    code, err = run_cli(["batch", tmp_path / "photos", "--out", tmp_path / "out", *FAST, "--paths", "circle",
                         "--no-download"], capsys)
    assert code == 143
    assert all_files(tmp_path / "out") == ["a", "a/a.ply", "a/a_circle.mp4", "a/config.yml", "a/manifest.json"]


def test_disk_full_during_the_ply_write_names_the_file_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    import errno

    import photo3d.io
    import photo3d.pipeline  # noqa: F401

    def full(mesh, path):
        with photo3d.io.atomic_write(path) as tmp, open(tmp, "wb"):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(photo3d.io, "write_ply", full)
    image, depth = photo(tmp_path)
    code, err = run_cli(["--image", image, "--depth", depth, "--out", tmp_path / "out", *FAST, "--paths", "none"],
                        capsys)
    assert code == 2 and "p.ply: cannot write (No space left on device)" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_api_writes_its_outputs_all_or_none(p3d, tmp_path, monkeypatch):
    import photo3d.video

    result = p3d.write_outputs(tmp_path, "scene")
    assert result["ply"] == tmp_path / "scene.ply" and result["ply"].is_file()
    assert all(v.path.parent == tmp_path and v.path.is_file() for v in result["videos"].values())
    before = all_files(tmp_path)

    def broken(*args, **kwargs):
        raise Photo3DError("video: simulated")

    monkeypatch.setattr(photo3d.video, "write_path_video", broken)
    with pytest.raises(Photo3DError, match="simulated"):
        p3d.write_outputs(tmp_path, "other")
    assert all_files(tmp_path) == before


def test_re_rendering_a_saved_mesh_writes_all_its_videos_or_none(tmp_path, capsys, monkeypatch):
    import photo3d.video

    image, depth = photo(tmp_path)
    assert run_cli(["--image", image, "--depth", depth, "--out", tmp_path / "out", *FAST, "--paths", "none"],
                   capsys)[0] == 0
    before = all_files(tmp_path / "out")
    original, calls = photo3d.video.write_path_video, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Photo3DError("video: simulated")
        return original(*args, **kwargs)

    monkeypatch.setattr(photo3d.video, "write_path_video", second_fails)
    code, err = run_cli(["render", tmp_path / "out" / "p" / "p.ply", "--paths", "circle,swing", "--frames", "2",
                         "--quiet"], capsys)
    assert code == 2 and "simulated" in err and all_files(tmp_path / "out") == before
