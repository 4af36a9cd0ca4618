"""Video formats, quality settings, framing and stereo, checked by decoding what is written."""
from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from photo3d.errors import Photo3DError
from photo3d.video import VideoWriter, video_format
from scenes import psnr


def pattern_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """Smooth warm gradients drifting by 3 px a frame (few distinct hues: a palette can fit them)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return [np.stack([170 + 80 * np.sin((xs - 3 * i) / 11.0), 90 + 60 * np.cos(ys / 9.0),
                      np.full_like(xs, 40.0)], -1).astype(np.uint8) for i in range(n)]


def decode(path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]


def write(path, frames, **kw):
    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps=20, size=(w, h), **kw) as writer:
        for f in frames:
            writer.write(f)
    return writer


@pytest.mark.parametrize("name, codec, expect", [("a.mp4", "h264", "h264"), ("b.mp4", "h265", "hevc"),
                                                  ("c.webm", "h264", "vp9")])
def test_video_codecs_decode_to_the_frames_written(tmp_path, name, codec, expect):
    frames = pattern_frames(9, 96, 64)
    writer = write(tmp_path / name, frames, codec=codec)
    meta, decoded = decode(tmp_path / name)
    assert meta["codec"] == expect and meta["size"] == (96, 64) and len(decoded) == 9
    assert min(psnr(d, f) for d, f in zip(decoded, frames)) > 30
    assert writer.frames_written == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_gif_has_an_optimised_palette_and_loops(tmp_path):
    frames = pattern_frames(8, 96, 64)
    write(tmp_path / "a.gif", frames)
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 8 and gif.size == (96, 64) and gif.info["loop"] == 0  # 0 = forever
    palette = np.array(gif.getpalette()).reshape(-1, 3)
    assert len(palette) <= 256
    # The palette is made from these frames: warm colours, no blue beyond the frames' 40
    # (a fixed web palette would spend most entries on hues that do not occur).
    used = np.unique(np.asarray(gif.convert("P")))
    assert np.all(palette[used][:, 2] < 80)
    gif.seek(3)
    assert psnr(np.asarray(gif.convert("RGB")), frames[3]) > 27


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_image_sequences_are_folders_of_numbered_frames(tmp_path, suffix):
    frames = pattern_frames(5, 64, 48)
    writer = write(tmp_path / f"clip.{suffix}", frames)
    folder = tmp_path / "clip"
    assert writer.path == folder and sorted(p.name for p in tmp_path.iterdir()) == ["clip"]
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame_{i:05d}.{suffix}" for i in range(5)]
    first = np.asarray(Image.open(folder / names[0]).convert("RGB"))
    assert first.shape == (48, 64, 3)
    assert psnr(first, frames[0]) > (60 if suffix == "png" else 35)
    # Written again: the old folder is replaced whole.
    write(tmp_path / f"clip.{suffix}", frames[:2])
    assert len(list(folder.iterdir())) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["clip"]


def test_unknown_or_contradicting_formats_are_errors(tmp_path):
    with pytest.raises(Photo3DError, match=r"a\.avi: unknown video format \.avi"):
        VideoWriter(tmp_path / "a.avi", fps=20, size=(64, 48))
    with pytest.raises(Photo3DError, match="no suffix"):
        video_format(tmp_path / "clip")
    with pytest.raises(Photo3DError, match=r"the suffix \.gif is not a mp4 file"):
        video_format(tmp_path / "m.gif", "mp4")
    assert video_format(tmp_path / "clip", "png") == "png" and video_format("x.JPEG") == "jpg"
    assert list(tmp_path.iterdir()) == []


def test_crf_trades_size_for_quality(tmp_path):
    frames = pattern_frames(10, 128, 96)
    write(tmp_path / "hq.mp4", frames, crf=12, preset="veryfast")
    write(tmp_path / "lq.mp4", frames, crf=40, preset="veryfast")
    assert (tmp_path / "hq.mp4").stat().st_size > 1.5 * (tmp_path / "lq.mp4").stat().st_size
    hq, lq = decode(tmp_path / "hq.mp4")[1], decode(tmp_path / "lq.mp4")[1]
    assert psnr(hq[5], frames[5]) > psnr(lq[5], frames[5]) + 5
