"""Streaming video output (MP4 H.264/H.265, WebM VP9, GIF, PNG/JPEG sequences) and
rendering of camera paths into videos.

The format follows the file's suffix (``.mp4``, ``.webm``, ``.gif``, ``.png``, ``.jpg``) or is
given; an unknown suffix is an error. GIFs get a palette computed from all their frames
(ffmpeg ``palettegen``/``paletteuse``) and loop forever; image sequences are folders of
numbered frames (``clip.png`` -> ``clip/frame_00000.png``, ...).

Frames go to an ffmpeg process (the binary that imageio-ffmpeg ships) through a pipe,
from a background thread with a short queue: rendering the next frame overlaps with
handing the last one to ffmpeg, and at most ``queue_frames`` frames are held in memory.
The video is written under a temporary name in the destination folder and renamed to
its final name only after ffmpeg finished successfully; on any error it is deleted.
"""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .camera import CameraFrame, crop_intrinsics, even_size, frame_intrinsics, frame_window, stereo_poses
from .checks import check_choice, check_float_range, check_int_range, check_size
from .core.data import Intrinsics
from .errors import Photo3DError
from .io import current_umask

_STOP = None  # queue sentinel

FORMATS = ("mp4", "webm", "gif", "png", "jpg")
SEQUENCE_FORMATS = ("png", "jpg")
CODECS = ("h264", "h265")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
SUFFIX_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm", ".gif": "gif", ".png": "png", ".jpg": "jpg",
                  ".jpeg": "jpg"}
FORMAT_SUFFIX = {"mp4": ".mp4", "webm": ".webm", "gif": ".gif", "png": ".png", "jpg": ".jpg"}
# Constant rate factor by encoder when none is given: visually lossless for x264, about the
# same quality for x265 and VP9 (whose scales differ).
DEFAULT_CRF = {"h264": 16, "h265": 22, "webm": 31}
# Speed preset by encoder when none is given (x264 `veryfast` at crf 16: Art at 960 px, 48 frames,
# 38.5 against 85 ms ffmpeg CPU a frame for `fast` at 18, PSNR 38.40 against 38.39 dB, +16 % size).
DEFAULT_PRESET = {"h264": "veryfast", "h265": "fast", "webm": "fast"}
# libvpx has no x264-style presets: its -deadline/-cpu-used pair for each.
_VP9_SPEED = {"ultrafast": ("realtime", 8), "superfast": ("realtime", 7), "veryfast": ("realtime", 6),
              "faster": ("good", 5), "fast": ("good", 4), "medium": ("good", 3), "slow": ("good", 2),
              "slower": ("good", 1), "veryslow": ("good", 0)}


def video_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The output format of ``path``: ``format`` when given (it must agree with a known
    suffix), else the suffix's. Raises Photo3DError for an unknown or missing suffix."""
    suffix = Path(path).suffix.lower()
    if format is not None:
        check_choice(format, "format", str(path), FORMATS)
        if suffix in SUFFIX_FORMATS and SUFFIX_FORMATS[suffix] != format:
            raise Photo3DError(f"{path}: the suffix {suffix} is not a {format} file")
        return format
    if suffix not in SUFFIX_FORMATS:
        raise Photo3DError(f"{path}: unknown video format {suffix or '(no suffix)'}; "
                           f"use {', '.join(sorted(SUFFIX_FORMATS))}")
    return SUFFIX_FORMATS[suffix]


def sequence_folder(path: str | os.PathLike) -> Path:
    """Where an image sequence named ``path`` goes: ``clip.png`` -> ``clip/``."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in SUFFIX_FORMATS else path


def encoder_args(format: str, codec: str = "h264", crf: int | None = None, preset: str | None = None) -> list[str]:
    """ffmpeg output options for one format (without the output file)."""
    if format == "mp4":
        check_choice(codec, "codec", "video", CODECS)
        crf = DEFAULT_CRF[codec] if crf is None else int(crf)
        preset = DEFAULT_PRESET[codec] if preset is None else preset
        if codec == "h264":
            args = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf)]
        else:  # hvc1: the tag Apple players need
            args = ["-c:v", "libx265", "-preset", preset, "-crf", str(crf), "-tag:v", "hvc1",
                    "-x265-params", "log-level=error"]
        return args + ["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]
    if format == "webm":
        crf = DEFAULT_CRF["webm"] if crf is None else int(crf)
        preset = DEFAULT_PRESET["webm"] if preset is None else preset
        deadline, cpu_used = _VP9_SPEED[preset]
        return ["-c:v", "libvpx-vp9", "-crf", str(crf), "-b:v", "0", "-deadline", deadline, "-cpu-used",
                str(cpu_used), "-row-mt", "1", "-pix_fmt", "yuv420p", "-f", "webm"]
    if format == "gif":
        # one palette from all frames (a GIF holds 256 colours), error-diffusion dithering; loop forever
        graph = "split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a"
        return ["-filter_complex", graph, "-loop", "0", "-f", "gif"]
    if format == "png":
        return ["-c:v", "png", "-pix_fmt", "rgb24", "-start_number", "0", "-f", "image2"]
    if format == "jpg":
        return ["-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj444p", "-start_number", "0", "-f", "image2"]
    raise Photo3DError(f"unknown video format {format!r}; valid: {', '.join(FORMATS)}")


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:
        raise Photo3DError(f"no ffmpeg binary: install imageio-ffmpeg (pip install imageio-ffmpeg): {exc}") from exc


class VideoWriter:
    """Context manager writing RGB frames to a video file (or an image-sequence folder).

    Args:
        path: output file; its folder must exist. Its suffix gives the format unless
            ``format`` does (see the module docs); sequences go to :func:`sequence_folder`.
        fps: frames per second.
        size: (width, height), both even (yuv420p halves the chroma resolution).
        format: one of ``FORMATS``, or None for the suffix's.
        codec: for mp4: "h264" (libx264) or "h265" (libx265).
        crf: constant rate factor for mp4/webm (lower = better); None = ``DEFAULT_CRF``.
        preset: encoder speed preset (x264/x265 names; mapped onto VP9's speed settings); None =
            ``DEFAULT_PRESET``.
        queue_frames: frames buffered between the caller and ffmpeg.

    After closing: ``frames_written``, ``encode_cpu_seconds`` (ffmpeg's CPU time) and
    ``blocked_seconds`` (time the caller waited because ffmpeg lagged behind).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float,
        size: tuple[int, int],
        *,
        format: str | None = None,
        codec: str = "h264",
        crf: int | None = None,
        preset: str | None = None,
        queue_frames: int = 6,
    ):
        self.format = video_format(path, format)
        self.path = sequence_folder(path) if self.format in SEQUENCE_FORMATS else Path(path)
        width, height = check_size(*size, f"{self.path}: video", even=True)
        check_choice(codec, "codec", str(self.path), CODECS)
        if preset is not None:
            check_choice(preset, "preset", str(self.path), PRESETS)
        if crf is not None:
            check_int_range(crf, "crf", str(self.path), low=0, high=63)
        self._encoder = encoder_args(self.format, codec, crf, preset)
        check_float_range(fps, "fps", str(self.path), low=0, low_open=True)
        if not self.path.parent.is_dir():
            raise Photo3DError(f"{self.path}: output folder {self.path.parent} does not exist")
        self.fps = float(fps)
        self.size = (width, height)
        self.codec = codec
        self.frames_written = 0
        self.encode_cpu_seconds = 0.0
        self.blocked_seconds = 0.0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_frames)))
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._stderr = None
        self._tmp_path: Path | None = None
        self._error: BaseException | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------
    def open(self) -> "VideoWriter":
        if self._process is not None or self._closed:
            raise Photo3DError(f"{self.path}: VideoWriter can be opened once")
        if self.format in SEQUENCE_FORMATS:
            tmp = tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".partial", dir=self.path.parent)
            os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
            self._tmp_path = Path(tmp)
            target = str(self._tmp_path / f"frame_%05d.{self.format}")
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".partial{self.path.suffix}",
                                       dir=self.path.parent)
            os.close(fd)
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the final video gets normal permissions
            self._tmp_path = Path(tmp)
            target = str(self._tmp_path)
        width, height = self.size
        fps = Fraction(self.fps).limit_denominator(1001)
        cmd = [
            _ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
            "-an", *self._encoder, target,
        ]  # fmt: skip
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
        except OSError as exc:
            self._cleanup_files()
            raise Photo3DError(f"{self.path}: cannot start ffmpeg: {exc}") from exc
        self._thread = threading.Thread(target=self._pump, name=f"ffmpeg-writer {self.path.name}", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> "VideoWriter":
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _pump(self) -> None:
        """Writer thread: move frames from the queue into ffmpeg's stdin."""
        stdin = self._process.stdin
        while True:
            frame = self._queue.get()
            if frame is _STOP:
                return
            if self._error is not None:
                continue  # keep draining so the caller never blocks on a dead encoder
            try:
                stdin.write(memoryview(frame).cast("B"))
            except BaseException as exc:  # broken pipe when ffmpeg died
                self._error = exc

    def _ffmpeg_message(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1] if text else ""

    def write(self, frame: np.ndarray) -> None:
        """Queue one (H, W, 3) uint8 RGB frame (copied; the caller may reuse its array)."""
        if self._process is None or self._closed:
            raise Photo3DError(f"{self.path}: VideoWriter is not open")
        width, height = self.size
        if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
            raise Photo3DError(
                f"{self.path}: frame must be ({height}, {width}, 3) uint8, got {frame.shape} {frame.dtype}"
            )
        if self._error is not None:
            raise Photo3DError(f"{self.path}: ffmpeg failed: {self._ffmpeg_message() or self._error}")
        start = time.perf_counter()
        self._queue.put(np.array(frame, order="C", copy=True))
        self.blocked_seconds += time.perf_counter() - start
        self.frames_written += 1

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _wait_process(self) -> int:
        """Wait for ffmpeg and record its CPU time; returns its exit code."""
        proc = self._process
        if proc.returncode is None:
            if not hasattr(os, "wait4"):  # not POSIX: no CPU accounting
                return proc.wait()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.encode_cpu_seconds = usage.ru_utime + usage.ru_stime
        return proc.returncode

    def close(self) -> Path:
        """Finish the video and move it to ``path``; raises Photo3DError if encoding failed."""
        if self._closed:
            return self.path
        if self._process is None:
            raise Photo3DError(f"{self.path}: VideoWriter was never opened")
        try:
            self._stop_thread()
            try:
                self._process.stdin.close()
            except BrokenPipeError:
                pass
            code = self._wait_process()
            if self._error is not None or code != 0:
                raise Photo3DError(
                    f"{self.path}: ffmpeg failed (exit {code}): {self._ffmpeg_message() or self._error}"
                )
            if self.frames_written == 0:
                raise Photo3DError(f"{self.path}: no frames were written")
            _move_into_place(self._tmp_path, self.path)
            self._tmp_path = None
        except BaseException:
            self.abort()
            raise
        finally:
            self._closed = True
            self._cleanup_files()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the partial file; ``path`` is left untouched."""
        self._closed = True
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            # Unblock the writer thread: drop queued frames, then stop it.
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._stop_thread()
            try:
                self._process.stdin.close()
            except OSError:
                pass
            self._wait_process()
        self._cleanup_files()

    def _cleanup_files(self) -> None:
        if self._tmp_path is not None:
            if self._tmp_path.is_dir():
                shutil.rmtree(self._tmp_path, ignore_errors=True)
            else:
                self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _move_into_place(tmp: Path, final: Path) -> None:
    """Rename a finished file or folder to its final name, replacing what was there."""
    if tmp.is_dir() and final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
        os.replace(final, old / final.name)  # out of the way first: a folder cannot be replaced in one step
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@dataclass(frozen=True)
class VideoResult:
    """What writing one path video cost.

    render_seconds: time spent in ``Renderer.render`` (all frames).
    wall_seconds: total time, rendering and encoding overlapped.
    encode_cpu_seconds: ffmpeg's CPU time.
    """

    path: Path
    num_frames: int
    size: tuple[int, int]
    render_seconds: float
    wall_seconds: float
    encode_cpu_seconds: float


def video_intrinsics(
    intrinsics: Intrinsics,
    frame: CameraFrame,
    crop: tuple[float, float, float, float] | None,
    size: tuple[int, int] | None = None,
    aspect: float | None = None,
) -> Intrinsics:
    """The camera of one video frame: dolly focal scale, the border crop, the output window
    (``size`` or ``aspect``: cropped and scaled, never squashed), then even size."""
    camera = frame_intrinsics(intrinsics, frame)
    if crop is not None and any(c > 0 for c in crop):
        camera = crop_intrinsics(camera, crop)
    return even_size(frame_window(camera, size, aspect))


def write_path_video(
    renderer,
    frames: list[CameraFrame],
    intrinsics: Intrinsics,
    path: str | os.PathLike,
    fps: float,
    crop: tuple[float, float, float, float] | None = None,
    progress: bool = False,
    *,
    size: tuple[int, int] | None = None,
    aspect: float | None = None,
    eye_separation: float | None = None,
    format: str | None = None,
    codec: str = "h264",
    crf: int | None = None,
    preset: str | None = None,
) -> VideoResult:
    """Render ``frames`` with ``renderer`` (mesh already set) and stream them into ``path``.

    The border crop (top, left, bottom, right fractions, as the reference's
    ``crop_border``) is applied through the intrinsics: each frame is rendered directly
    at the cropped framing and full output size, which is what the reference's
    crop-and-resize produces, without its bicubic upsampling. Odd sizes lose their last
    row/column, as in the reference. ``size`` (width, height) or ``aspect`` (width /
    height) frame the output independently of the mesh's resolution (see
    :func:`photo3d.camera.frame_window`). With ``eye_separation`` (scene units) each frame
    is side-by-side stereo: the left eye's view, then the right eye's, each of the output
    size (so the frame is twice as wide).
    """
    from tqdm import tqdm

    if not frames:
        raise Photo3DError(f"{path}: no camera frames to render")
    if size is not None:
        size = check_size(*size, f"{path}: video size", even=True)
    path = Path(path)
    output = video_intrinsics(intrinsics, CameraFrame(np.eye(4)), crop, size, aspect)
    eye_size = (output.width, output.height)
    stereo = eye_separation is not None
    frame_size = (2 * output.width, output.height) if stereo else eye_size
    render_seconds = 0.0
    start = time.perf_counter()
    with VideoWriter(path, fps, frame_size, format=format, codec=codec, crf=crf, preset=preset) as writer, tqdm(
        total=len(frames), desc=path.name, unit="frame", disable=not progress, leave=False
    ) as bar:
        for frame in frames:
            t0 = time.perf_counter()
            camera = video_intrinsics(intrinsics, frame, crop, size, aspect)
            if stereo:
                left, right = stereo_poses(frame.pose, float(eye_separation))
                rgb = np.concatenate([renderer.render(left, camera, mask=False)[0],
                                      renderer.render(right, camera, mask=False)[0]], axis=1)
            else:
                rgb, _ = renderer.render(frame.pose, camera, mask=False)  # the video needs no mask
            render_seconds += time.perf_counter() - t0
            writer.write(rgb)
            bar.update(1)
    return VideoResult(
        path=writer.path,
        num_frames=len(frames),
        size=frame_size,
        render_seconds=render_seconds,
        wall_seconds=time.perf_counter() - start,
        encode_cpu_seconds=writer.encode_cpu_seconds,
    )
