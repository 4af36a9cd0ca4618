"""Rendering and encoding speed of the default videos of a 960x720 photo.

A synthetic mesh shaped like a 3D photo's: a vertex grid at the pixel centres of the
image plus the 60-px extrapolated border, with depth steps (torn links: no triangles
across them) and a hidden background layer behind the nearer regions, about 2 M
triangles with vertex colours.

    python -m benchmarks.bench_render                  # render fps at 1x/1.5x/2x, encode ms/frame, pipeline
    python -m benchmarks.bench_render --full           # also all 4 default videos (960 frames)

The product target is the 4 default videos (960 frames) in <= 120 s on a 2-core CPU.
CPU times are reported next to wall times because the machine may be shared: CPU time
(render process: main thread + llvmpipe threads; ffmpeg separately) is what 2 free cores
have to absorb.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


from photo3d.camera import PATH_NAMES, camera_path  # noqa: E402
from photo3d.config import VideoConfig  # noqa: E402

DEFAULT_FPS = VideoConfig().fps
DEFAULT_CROP_BORDER = VideoConfig().crop_fractions()
from photo3d.render import Renderer, gl_context  # noqa: E402
from photo3d.core.data import Intrinsics, Mesh  # noqa: E402
from photo3d.video import VideoWriter, video_intrinsics, write_path_video  # noqa: E402


def grid_faces(valid_right: np.ndarray, valid_down: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Triangles of quads whose links are intact: (a b / c d) -> (a b c), (b d c)."""
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    top, left = valid_right[:-1, :], valid_down[:, :-1]
    bottom, right = valid_right[1:, :], valid_down[:, 1:]
    upper = top & left & (bottom | right)
    lower = bottom & right & (top | left)
    return np.concatenate([np.stack([a, b, c], -1)[upper], np.stack([b, d, c], -1)[lower]]).astype(np.int32)


def synthetic_photo_mesh(width: int = 960, height: int = 720, border: int = 60, seed: int = 0) -> Mesh:
    """A layered grid mesh like a 3D photo's (see module docstring); depth in [1/3, 20] units."""
    rng = np.random.default_rng(seed)
    intr = Intrinsics.default(width, height)
    ys, xs = np.mgrid[-border : height + border, -border : width + border].astype(np.float64)
    # Smooth far background plus nearer blobs: depth steps where the blobs end.
    depth = 8.0 + 4.0 * np.sin(xs / 170.0) * np.cos(ys / 130.0)
    near = np.zeros_like(depth, dtype=bool)
    for _ in range(10):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(30, 120)
        blob = (xs - cx) ** 2 + (ys - cy) ** 2 < r**2
        depth[blob] = np.minimum(depth[blob], rng.uniform(0.6, 3.0))
        near |= blob
    colors = np.stack([xs * 0.25 % 256, ys * 0.3 % 256, (xs + ys) * 0.2 % 256], -1)
    colors = (colors + rng.normal(0, 12, colors.shape)).clip(0, 255).astype(np.uint8)

    def layer(z):
        return np.stack([(xs - intr.cx) / intr.fx * z, (ys - intr.cy) / intr.fy * z, z], -1).reshape(-1, 3)

    disp = 1.0 / depth
    valid_right = np.abs(np.diff(disp, axis=1)) < 0.04
    valid_down = np.abs(np.diff(disp, axis=0)) < 0.04
    rows, cols = depth.shape
    index = np.arange(rows * cols).reshape(rows, cols)
    faces = [grid_faces(valid_right, valid_down, index)]
    # Hidden background layer behind the near regions (what inpainting adds), widened by 20 px.
    import cv2

    behind = cv2.dilate(near.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    bg_depth = 8.0 + 4.0 * np.sin(xs / 170.0) * np.cos(ys / 130.0)
    layer_index = np.full(depth.shape, -1)
    layer_index[behind] = rows * cols + np.arange(int(behind.sum()))
    both_r = behind[:, :-1] & behind[:, 1:]
    both_d = behind[:-1, :] & behind[1:, :]
    bg_faces = grid_faces(both_r, both_d, np.where(behind, layer_index, 0))
    faces.append(bg_faces)
    vertices = np.concatenate([layer(depth), layer(bg_depth)[behind.reshape(-1)]]).astype(np.float32)
    all_colors = np.concatenate([colors.reshape(-1, 3), colors.reshape(-1, 3)[behind.reshape(-1)]])
    return Mesh(vertices, all_colors, np.concatenate(faces), intr)


def bench_render(mesh: Mesh, supersample: float, num_frames: int, simplify: bool) -> tuple[float, float, float, int]:
    """(set_mesh s, wall ms/frame, CPU ms/frame, triangles drawn) of Renderer.render (draw,
    read-back, downsample) along the circle path at the video's cropped framing."""
    intr = mesh.intrinsics
    frames = camera_path("circle", num_frames)
    with Renderer(intr.width, intr.height, supersample=supersample, simplify=simplify) as renderer:
        start = time.perf_counter()
        renderer.set_mesh(mesh)
        upload = time.perf_counter() - start
        renderer.render(frames[0].pose, intr)  # warm-up: shader compile, first allocation
        start, cpu = time.perf_counter(), time.process_time()
        for f in frames:
            renderer.render(f.pose, video_intrinsics(intr, f, DEFAULT_CROP_BORDER))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return upload, 1000 * wall / num_frames, 1000 * cpu / num_frames, renderer.num_triangles


def bench_encode(mesh: Mesh, num_frames: int, out_dir: Path) -> tuple[float, float]:
    """(wall ms/frame, ffmpeg CPU ms/frame) of encoding rendered frames alone."""
    intr = mesh.intrinsics
    frames = camera_path("swing", num_frames)
    with Renderer(intr.width, intr.height, supersample=1.0) as renderer:
        renderer.set_mesh(mesh)
        images = [renderer.render(f.pose, video_intrinsics(intr, f, DEFAULT_CROP_BORDER))[0] for f in frames]
    h, w = images[0].shape[:2]
    start = time.perf_counter()
    with VideoWriter(out_dir / "encode.mp4", DEFAULT_FPS, (w, h)) as writer:
        for im in images:
            writer.write(im)
    wall = time.perf_counter() - start
    return 1000 * wall / num_frames, 1000 * writer.encode_cpu_seconds / num_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24, help="frames per measurement")
    parser.add_argument("--supersample", type=float, nargs="+", default=[1.0, 1.5, 2.0])
    parser.add_argument("--full", action="store_true", help="render and encode the 4 default 240-frame videos")
    parser.add_argument("--full-supersample", type=float, default=None, help="supersample for --full/pipeline")
    args = parser.parse_args()

    print(f"GL renderer: {gl_context().renderer_name}")
    t0 = time.perf_counter()
    mesh = synthetic_photo_mesh()
    print(
        f"mesh: {mesh.num_vertices / 1e6:.2f} M vertices, {mesh.num_faces / 1e6:.2f} M triangles "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )
    for simplify in (False, True):
        for ss in args.supersample:
            upload, wall_ms, cpu_ms, tris = bench_render(mesh, ss, args.frames, simplify)
            print(
                f"render {'simplified' if simplify else 'full'} ({tris / 1e6:.2f} M triangles, set_mesh {upload:.1f} s) "
                f"{ss:.1f}x: {1000 / wall_ms:5.2f} frames/s, {wall_ms:6.1f} ms/frame wall, {cpu_ms:6.1f} ms/frame CPU"
            )

    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        wall_ms, cpu_ms = bench_encode(mesh, args.frames, out_dir)
        print(f"encode alone (libx264 fast crf 18, 960x720): {wall_ms:.1f} ms/frame wall, {cpu_ms:.1f} ms/frame ffmpeg CPU")

        ss = args.full_supersample or args.supersample[-1]
        intr = mesh.intrinsics
        names = PATH_NAMES if args.full else ("circle",)
        num = 240 if args.full else args.frames
        with Renderer(intr.width, intr.height, supersample=ss) as renderer:
            renderer.set_mesh(mesh)
            total, ffmpeg_cpu, own_cpu = 0.0, 0.0, time.process_time()
            for name in names:
                frames = camera_path(name, num, center_depth=8.0)
                result = write_path_video(renderer, frames, intr, out_dir / f"bench_{name}.mp4", DEFAULT_FPS, DEFAULT_CROP_BORDER)
                total += result.wall_seconds
                ffmpeg_cpu += result.encode_cpu_seconds
                print(
                    f"pipeline {name} ({ss:.1f}x, {num} frames): {result.wall_seconds:.1f} s wall, "
                    f"render {1000 * result.render_seconds / num:.1f} ms/frame, "
                    f"ffmpeg CPU {1000 * result.encode_cpu_seconds / num:.1f} ms/frame"
                )
            own_cpu = time.process_time() - own_cpu
        per_frame = total / (num * len(names))
        cpu_per_frame = (own_cpu + ffmpeg_cpu) / (num * len(names))
        print(
            f"pipeline CPU: {1000 * cpu_per_frame:.1f} ms/frame (render process + ffmpeg) -> on 2 free cores "
            f"at best {960 * cpu_per_frame / 2:.0f} s for 960 frames"
        )
        print(f"pipeline: {1000 * per_frame:.1f} ms/frame wall -> 960 frames in {960 * per_frame:.0f} s (target 120 s)")


if __name__ == "__main__":
    main()
