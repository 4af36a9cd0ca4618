"""Streaming H.264 writer (real ffmpeg) and rendering camera paths into videos (real EGL)."""
from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest

from photo3d.camera import camera_path
from photo3d.errors import Photo3DError
from photo3d.core.data import Intrinsics, Mesh
from photo3d.video import VideoWriter, video_intrinsics, write_path_video
from scenes import psnr


def moving_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """Smooth colour pattern drifting right by 2 px per frame."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = []
    for i in range(n):
        r = 128 + 100 * np.sin(2 * np.pi * (xs - 2 * i) / 29.0)
        g = 128 + 100 * np.cos(2 * np.pi * ys / 19.0)
        b = np.full_like(xs, 40.0 + 10 * i)
        frames.append(np.stack([r, g, b], -1).astype(np.uint8))
    return frames


def decode(path) -> tuple[list[np.ndarray], tuple[int, int]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return frames, (w, h)


def test_round_trip_frames_size_content_and_no_temp_files(tmp_path):
    frames = moving_frames(12, 96, 64)
    out = tmp_path / "clip.mp4"
    with VideoWriter(out, fps=40, size=(96, 64)) as writer:
        for f in frames:
            writer.write(f)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    decoded, size = decode(out)
    assert size == (96, 64) and len(decoded) == 12
    assert all(d.std() > 20 for d in decoded)  # not blank
    # yuv420p's chroma bounds this clip's PSNR (crf 12 reaches only 30.3 dB): 29.5 holds for
    # every default (veryfast crf 16: 29.9 dB; fast crf 18: 30.1 dB) and fails on a broken stream.
    assert min(psnr(d, f) for d, f in zip(decoded, frames)) >= 29.5
    assert writer.frames_written == 12 and writer.encode_cpu_seconds > 0
    assert out.read_bytes()[4:8] == b"ftyp"
    # +faststart: the index (moov) comes before the media data (mdat).
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_exception_mid_way_leaves_no_file_and_keeps_old_one(tmp_path):
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(out, fps=25, size=(64, 48)) as writer:
            for i, f in enumerate(moving_frames(5, 64, 48)):
                writer.write(f)
                if i == 2:
                    raise RuntimeError("boom")
    assert out.read_bytes() == b"previous video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_bad_frames_and_sizes_raise_and_clean_up(tmp_path):
    with pytest.raises(Photo3DError, match="even"):
        VideoWriter(tmp_path / "odd.mp4", fps=25, size=(65, 48))
    with pytest.raises(Photo3DError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "a.mp4", fps=25, size=(64, 48))
    with pytest.raises(Photo3DError, match=r"\(48, 64, 3\) uint8"):
        with VideoWriter(tmp_path / "a.mp4", fps=25, size=(64, 48)) as writer:
            writer.write(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(Photo3DError, match="no frames"):
        with VideoWriter(tmp_path / "b.mp4", fps=25, size=(64, 48)):
            pass
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_is_reported_and_cleaned_up(tmp_path, monkeypatch):
    with pytest.raises(Photo3DError, match="preset must be one of"):
        VideoWriter(tmp_path / "c.mp4", fps=25, size=(64, 48), preset="no-such-preset")
    import photo3d.video as video

    monkeypatch.setattr(video, "encoder_args", lambda *a: ["-c:v", "libx264", "-preset", "no-such-preset", "-f", "mp4"])
    with pytest.raises(Photo3DError, match="ffmpeg failed"):
        with VideoWriter(tmp_path / "c.mp4", fps=25, size=(64, 48)) as writer:
            for f in moving_frames(40, 64, 48):
                writer.write(f)
    assert list(tmp_path.iterdir()) == []


def _plane_mesh(intr: Intrinsics, depth: float = 2.0, margin: int = 12) -> Mesh:
    ys, xs = np.mgrid[-margin : intr.height + margin, -margin : intr.width + margin].astype(np.float64)
    verts = np.stack([(xs - intr.cx) / intr.fx * depth, (ys - intr.cy) / intr.fy * depth, np.full_like(xs, depth)], -1)
    rows, cols = xs.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)])
    colors = np.stack([128 + 100 * np.sin(xs / 5.0), 128 + 100 * np.cos(ys / 7.0), np.full_like(xs, 90)], -1)
    return Mesh(verts.reshape(-1, 3).astype(np.float32), colors.reshape(-1, 3).astype(np.uint8), faces.astype(np.int32), intr)


@pytest.mark.egl
def test_write_path_video_renders_every_frame(tmp_path):
    from photo3d.render import Renderer
    intr = Intrinsics.default(81, 61)  # odd: the video drops the last row and column
    frames = camera_path("dolly-zoom-in", 10, center_depth=2.0)
    out = tmp_path / "photo_dolly-zoom-in.mp4"
    with Renderer(intr.width, intr.height) as renderer:
        renderer.set_mesh(_plane_mesh(intr))
        result = write_path_video(renderer, frames, intr, out, fps=40, crop=(0.03, 0.03, 0.05, 0.03))
        # A dolly zoom on the centre plane leaves it unchanged: first and last frames agree.
        first, _ = renderer.render(frames[0].pose, video_intrinsics(intr, frames[0], (0.03, 0.03, 0.05, 0.03)))
        last, _ = renderer.render(frames[-1].pose, video_intrinsics(intr, frames[-1], (0.03, 0.03, 0.05, 0.03)))
    assert psnr(first, last) >= 35.0
    assert result.num_frames == 10 and result.size == (80, 60)
    decoded, size = decode(out)
    assert size == (80, 60) and len(decoded) == 10
    assert min(d.std() for d in decoded) > 20
    assert psnr(decoded[0], first) >= 30.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
