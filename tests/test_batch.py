"""``photo3d batch`` inputs (folders, globs, lists; depth files beside the photos), resuming
with --skip-existing, the summary and report, local worker processes; ``photo3d render``
re-rendering a saved mesh."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from photo3d.cli import main
from photo3d.cli.batch import find_jobs

FAST = ["--inpaint", "fill", "--quiet", "--longer-side", "64"]


def photo(folder: Path, name: str, seed: int = 0, depth: str | None = "_disparity.png") -> Path:
    """A 48x64 photo of a near square before a slanted wall, and its depth file beside it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64]
    image = np.stack([xx * 4, yy * 5, np.full_like(xx, 90)], axis=2) + rng.integers(0, 30, (48, 64, 3))
    disparity = (1.0 + 0.5 * xx / 64).astype(np.float32)
    inside = (abs(yy - 24) < 10) & (abs(xx - 32 + seed) < 12)
    disparity[inside] = 3.0
    image[inside] = (220, 60, 40)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    cv2.imwrite(str(path), np.clip(image, 0, 255).astype(np.uint8)[..., ::-1])
    if depth == "_disparity.png":
        cv2.imwrite(str(folder / f"{name}_disparity.png"), (disparity / 3 * 65535).astype(np.uint16))
    elif depth == "_depth.npy":
        np.save(folder / f"{name}_depth.npy", 1.0 / disparity)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def files(folder: Path) -> list[str]:
    return sorted(str(Path(r, n).relative_to(folder)) for r, _, ns in os.walk(folder) for n in ns)


def test_depth_files_beside_photos_are_their_depth_with_the_kind_from_the_name(tmp_path):
    photo(tmp_path, "a")
    photo(tmp_path, "b", depth="_depth.npy")
    photo(tmp_path, "c", depth=None)
    cv2.imwrite(str(tmp_path / "orphan_depth.png"), np.zeros((4, 4), np.uint8))  # a depth map? a photo named so
    jobs = find_jobs(tmp_path)
    assert [(j.image.name, j.depth.name if j.depth else None, j.kind) for j in jobs] == [
        ("a.jpg", "a_disparity.png", "disparity"), ("b.jpg", "b_depth.npy", "depth"), ("c.jpg", None, None),
        ("orphan_depth.png", None, None)]


def test_inputs_as_globs_and_list_files(tmp_path):
    for name in ("x", "y", "z"):
        photo(tmp_path / "shots", name)
    listing = tmp_path / "todo.txt"
    listing.write_text("# the ones to do\nshots/z.jpg\n\nshots/x.jpg  # first take\n")
    assert [j.name for j in find_jobs([listing])] == ["z", "x"]
    assert [j.name for j in find_jobs([str(tmp_path / "shots" / "[xy].jpg")])] == ["x", "y"]
    assert [j.depth.name for j in find_jobs([str(tmp_path / "shots" / "*")])] == [
        "x_disparity.png", "y_disparity.png", "z_disparity.png"]
    (tmp_path / "bad.txt").write_text("shots/missing.jpg\n")
    from photo3d.errors import Photo3DError

    with pytest.raises(Photo3DError, match="listed photo"):
        find_jobs([tmp_path / "bad.txt"])


def test_skip_existing_resumes_and_redoes_what_changed(tmp_path, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    for i, name in enumerate(("p1", "p2", "p3")):
        photo(folder, name, seed=i)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    argv = ["batch", folder, "--out", out, "--frames", "2", "--paths", "swing", *FAST]
    code, stdout, stderr = run(capsys, *argv)
    assert code == 2 and stdout.splitlines()[-1] == "batch: 3 done, 0 skipped, 1 failed (broken.jpg)"
    manifest = out / "p1" / "manifest.json"
    assert manifest.stat().st_mtime_ns >= max((out / "p1" / f).stat().st_mtime_ns for f in os.listdir(out / "p1"))
    assert json.loads(manifest.read_text())["inputs"]["depth"]["path"].endswith("p1_disparity.png")
    report = json.loads((out / "batch_report.json").read_text())
    assert report["totals"]["done"] == 3 and report["totals"]["failed"] == 1
    assert [p["status"] for p in report["photos"]] == ["failed", "done", "done", "done"]
    assert "not a readable image" in report["photos"][0]["reason"]
    assert report["totals"]["photos_per_minute"] > 0 and "mesh" in report["totals"]["stage_seconds"]

    before = {n: (out / n / f"{n}.ply").stat().st_mtime_ns for n in ("p1", "p2", "p3")}
    (out / "p2" / "p2_swing.mp4").unlink()  # an incomplete photo (as an interrupted run leaves it)
    code, stdout, _ = run(capsys, *argv, "--skip-existing")
    assert stdout.splitlines()[-1] == "batch: 1 done, 2 skipped, 1 failed (broken.jpg)"
    assert (out / "p2" / "p2_swing.mp4").is_file()
    assert (out / "p1" / "p1.ply").stat().st_mtime_ns == before["p1"]  # not written twice
    code, stdout, _ = run(capsys, *argv, "--skip-existing", "--fps", "10")  # another config: all redone
    assert stdout.splitlines()[-1] == "batch: 3 done, 0 skipped, 1 failed (broken.jpg)"


def test_summary_table_and_progress_lines(tmp_path, capsys):
    folder = tmp_path / "in"
    photo(folder, "one")
    code, stdout, stderr = run(capsys, "batch", folder, "--out", tmp_path / "out", "--paths", "none",
                               "--inpaint", "fill", "--longer-side", "64")
    assert code == 0
    assert "[1/1] one: done (ETA -)" in stderr
    assert "batch summary" in stderr and "photos/minute" in stderr and "seconds per stage" in stderr


def test_ray_missing_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    photo(tmp_path, "a")
    code, stdout, stderr = run(capsys, "batch", tmp_path, "--ray", "--out", tmp_path / "out", *FAST)
    assert code == 2 and stderr.splitlines() == [
        "photo3d: error: --ray needs Ray, which is not installed: pip install 'photo3d[ray]'"]


def test_jobs_give_the_outputs_of_one_process(tmp_path, capsys):
    folder = tmp_path / "in"
    for i in range(3):
        photo(folder, f"q{i}", seed=i)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    common = [folder, "--frames", "2", "--paths", "circle", *FAST]
    assert run(capsys, "batch", *common, "--out", tmp_path / "one")[0] == 2
    code, stdout, _ = run(capsys, "batch", *common, "--out", tmp_path / "two", "--jobs", "2")
    assert code == 2 and stdout.splitlines()[-1] == "batch: 3 done, 0 skipped, 1 failed (corrupt.jpg)"
    assert files(tmp_path / "one") == files(tmp_path / "two")
    for i in range(3):
        for suffix in (".ply", "_circle.mp4"):
            a = (tmp_path / "one" / f"q{i}" / f"q{i}{suffix}").read_bytes()
            assert a == (tmp_path / "two" / f"q{i}" / f"q{i}{suffix}").read_bytes(), (i, suffix)
    report = json.loads((tmp_path / "two" / "batch_report.json").read_text())
    assert report["runner"] == "2 processes" and len({p["worker"] for p in report["photos"]}) >= 1


def test_render_rerenders_a_saved_mesh_without_rebuilding(tmp_path, capsys):
    import imageio_ffmpeg

    folder, out = tmp_path / "in", tmp_path / "out"
    image = photo(folder, "scene")
    code, _, stderr = run(capsys, "--image", image, "--depth", folder / "scene_disparity.png", "--out", out,
                          "--paths", "swing", "--frames", "3", "--glb", "--supersample", "1", *FAST)
    assert code == 0, stderr
    ply, glb = out / "scene" / "scene.ply", out / "scene" / "scene.glb"
    code, stdout, stderr = run(capsys, "render", ply, "--paths", "swing", "--frames", "3", "--out", tmp_path / "re",
                               "--supersample", "1", "--quiet")
    assert code == 0, stderr
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "re" / "scene" / "scene_swing.mp4"))
    w, h = next(reader)["size"]
    again = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    reader = imageio_ffmpeg.read_frames(str(out / "scene" / "scene_swing.mp4"))
    assert next(reader)["size"] == (w, h) and len(again) == 3
    first = np.frombuffer(next(reader), np.uint8).reshape(h, w, 3)
    assert cv2.PSNR(first, again[0]) > 30  # the same camera path on the same mesh (no hole guard saved)
    # stills at chosen poses, from the PLY and from the GLB, at a chosen size
    for mesh in (ply, glb):
        code, _, stderr = run(capsys, "render", mesh, "--still", "circle@0.25", "--video-size", "48x48",
                              "--name", f"still_{mesh.suffix[1:]}", "--quiet")
        assert code == 0, stderr
    a = cv2.imread(str(out / "scene" / "still_ply_still.png"))
    b = cv2.imread(str(out / "scene" / "still_glb_still.png"))
    assert a.shape == (48, 48, 3) and cv2.PSNR(a, b) > 35
    code, _, stderr = run(capsys, "render", tmp_path / "nothing.ply")
    assert code == 2 and "nothing.ply" in stderr


def test_jobs_retry_the_photos_of_a_killed_worker_process(tmp_path):
    """--jobs 2 with one worker process killed mid-run: its photos run again in a new pool."""
    import signal
    import subprocess
    import time

    folder, out = tmp_path / "in", tmp_path / "out"
    for i in range(6):
        photo(folder, f"k{i}", seed=i)
    repo = Path(__file__).resolve().parents[1]
    driver = subprocess.Popen([sys.executable, "run.py", "batch", str(folder), "--out", str(out), "--jobs", "2",
                               "--frames", "6", "--paths", "circle", *FAST], cwd=repo, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def workers() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == driver.pid and b"spawn_main" in cmd:
                found.append(int(entry.name))
        return found

    killed = None
    deadline = time.monotonic() + 240
    while driver.poll() is None and killed is None and time.monotonic() < deadline:
        if any(out.glob("*/manifest.json")) and workers():
            killed = workers()[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.1)
    stdout, stderr = driver.communicate(timeout=300)
    assert killed is not None and driver.returncode == 0, stderr
    assert stdout.splitlines()[-1] == "batch: 6 done, 0 skipped, 0 failed"
    report = json.loads((out / "batch_report.json").read_text())
    assert report["totals"]["retried"] >= 1
    assert all((out / f"k{i}" / "manifest.json").is_file() for i in range(6))
    assert not [f for f in files(out) if ".partial" in f]
