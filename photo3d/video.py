"""Streaming H.264 video output and rendering of camera paths into videos.

Frames go to an ffmpeg process (the binary that imageio-ffmpeg ships) through a pipe,
from a background thread with a short queue: rendering the next frame overlaps with
handing the last one to ffmpeg, and at most ``queue_frames`` frames are held in memory.
The video is written under a temporary name in the destination folder and renamed to
its final name only after ffmpeg finished successfully; on any error it is deleted.
"""
from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .camera import CameraFrame, crop_intrinsics, even_size, frame_intrinsics
from .checks import check_float_range, check_size
from .core.data import Intrinsics
from .errors import Photo3DError
from .io import current_umask

_STOP = None  # queue sentinel


def _ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:
        raise Photo3DError(f"no ffmpeg binary: install imageio-ffmpeg (pip install imageio-ffmpeg): {exc}") from exc


class VideoWriter:
    """Context manager writing RGB frames to an H.264 (libx264, yuv420p) MP4 file.

    Args:
        path: output file (.mp4); its folder must exist.
        fps: frames per second.
        size: (width, height), both even (yuv420p halves the chroma resolution).
        crf: x264 constant rate factor (lower = better; 18 is visually lossless).
        preset: x264 speed preset.
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
        crf: int = 18,
        preset: str = "fast",
        queue_frames: int = 6,
    ):
        self.path = Path(path)
        width, height = check_size(*size, f"{self.path}: video", even=True)
        check_float_range(fps, "fps", str(self.path), low=0, low_open=True)
        if not self.path.parent.is_dir():
            raise Photo3DError(f"{self.path}: output folder {self.path.parent} does not exist")
        self.fps = float(fps)
        self.size = (width, height)
        self.crf = int(crf)
        self.preset = preset
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
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".partial.mp4", dir=self.path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; the final video gets normal permissions
        self._tmp_path = Path(tmp)
        width, height = self.size
        fps = Fraction(self.fps).limit_denominator(1001)
        cmd = [
            _ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
            "-an", "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", str(self._tmp_path),
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
            os.replace(self._tmp_path, self.path)
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
            self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


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
    intrinsics: Intrinsics, frame: CameraFrame, crop: tuple[float, float, float, float] | None
) -> Intrinsics:
    """The camera of one video frame: dolly focal scale, then the border crop, then even size."""
    camera = frame_intrinsics(intrinsics, frame)
    if crop is not None and any(c > 0 for c in crop):
        camera = crop_intrinsics(camera, crop)
    return even_size(camera)


def write_path_video(
    renderer,
    frames: list[CameraFrame],
    intrinsics: Intrinsics,
    path: str | os.PathLike,
    fps: float,
    crop: tuple[float, float, float, float] | None = None,
    progress: bool = False,
) -> VideoResult:
    """Render ``frames`` with ``renderer`` (mesh already set) and stream them into ``path``.

    The border crop (top, left, bottom, right fractions, as the reference's
    ``crop_border``) is applied through the intrinsics: each frame is rendered directly
    at the cropped framing and full output size, which is what the reference's
    crop-and-resize produces, without its bicubic upsampling. Odd sizes lose their last
    row/column, as in the reference.
    """
    from tqdm import tqdm

    if not frames:
        raise Photo3DError(f"{path}: no camera frames to render")
    path = Path(path)
    output = even_size(intrinsics)
    size = (output.width, output.height)
    render_seconds = 0.0
    start = time.perf_counter()
    with VideoWriter(path, fps, size) as writer, tqdm(
        total=len(frames), desc=path.name, unit="frame", disable=not progress, leave=False
    ) as bar:
        for frame in frames:
            t0 = time.perf_counter()
            rgb, _ = renderer.render(frame.pose, video_intrinsics(intrinsics, frame, crop))
            render_seconds += time.perf_counter() - t0
            writer.write(rgb)
            bar.update(1)
    return VideoResult(
        path=path,
        num_frames=len(frames),
        size=size,
        render_seconds=render_seconds,
        wall_seconds=time.perf_counter() - start,
        encode_cpu_seconds=writer.encode_cpu_seconds,
    )
