"""Where a video frame's time goes on a real photo: each drawable part of the renderer's mesh
alone (triangles, ms wall and CPU with a glFinish, fragments it rasterises per pixel), all
parts but this one (its marginal cost is "all" minus that), the same with a 1 x 1 scissor (vertex
shading, clipping and triangle setup: llvmpipe drops triangles outside the scissor before
binning and rasterising them), all parts together, and the frame's clear, read-back and
downsample; at the first, middle and last frames of each default path.

    python -m benchmarks.profile_frame --photo Art --size 960
    python -m benchmarks.profile_frame --photo bsds100007 --size 320 --out benchmarks/results/profile_frame.jsonl
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import time

import cv2
import numpy as np

from benchmarks.bench_real import DATA, PHOTOS
from photo3d.api import Photo3D
from photo3d.camera import PATH_NAMES
from photo3d.config import Config
from photo3d.pipeline import path_frames, video_motion, video_options
from photo3d.render import Renderer
from photo3d.render.renderer import projection_matrix
from photo3d.render.simplify import render_mesh
from photo3d.video import video_intrinsics


def _part_name(part, index: int) -> str:
    kind = "blend" if part.blend else ("masked" if part.mask is not None else
                                       "textured" if part.texture is not None else "colour")
    return f"{index}:{kind}{'_behind' if part.behind else ''}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photo", default="Art", choices=list(PHOTOS))
    ap.add_argument("--size", type=int, default=960)
    ap.add_argument("--error", type=float, default=0.3)
    ap.add_argument("--repeat", type=int, default=3, help="draws per pose and case")
    ap.add_argument("--out")
    ap.add_argument("--masked-patches", choices=("config", "on", "off"), default="config",
                    help="masked patches (render.masked_patches): as configured, on or off")
    args = ap.parse_args()
    image, depth = PHOTOS[args.photo]
    config = Config()
    config.prepare.longer_side = args.size
    config.prepare.enlarge = True
    config.inpaint.method = "fill"
    config.depth.download = False
    p3d = Photo3D.from_files(DATA / image, DATA / depth if depth else None, config=config)
    scene, k = p3d.scene, p3d.intrinsics
    motion = video_motion(scene, config.video)
    options = video_options(config.video, scene.prepared.depth_scale)
    poses = []
    for name in PATH_NAMES:
        frames = path_frames(name, config.video, scene.prepared.center_depth, scene.prepared.depth_scale,
                             intrinsics=k)
        for frame in (frames[0], frames[len(frames) // 2], frames[-1]):
            poses.append((frame.pose, video_intrinsics(k, frame, options["crop"], options["size"], options["aspect"])))
    masked = config.render.masked_patches if args.masked_patches == "config" else args.masked_patches == "on"
    prepared = render_mesh(p3d.mesh, True, motion, args.error, masked)
    counts = {"colour": len(prepared.faces), "flat": len(prepared.flat.faces), "textured": len(prepared.tex_faces),
              "hole_flat": len(prepared.hole_flat.faces), "hole_colour": len(prepared.hole_faces),
              "blend": len(prepared.blend_faces), "masked": len(prepared.masked.faces)}
    renderer = Renderer(k.width, k.height, supersample=2.0)
    renderer.set_mesh(prepared)
    ctx, gloo = renderer._ctx, renderer._ctx.gloo
    parts = list(renderer._parts)
    part_tris = [p.index_buffer.size // 3 for p in parts]

    from vispy.gloo.gl import gl2

    lib = gl2._lib
    query = ctypes.c_uint()
    lib.glGenQueries(1, ctypes.byref(query))

    def set_pose(parts, pose, cam) -> tuple[int, int]:
        """Bind the supersampled target and give ``parts`` the camera's matrices, as a frame does."""
        render_w, render_h = renderer._render_size(cam.width, cam.height)
        rk = cam.scaled(render_w / cam.width, render_h / cam.height)
        renderer._ensure_target(render_w, render_h)
        w2c = np.linalg.inv(pose)
        near, far, behind = renderer._clip_range(w2c)
        mvp = (projection_matrix(rk, near, far) @ w2c).T.astype(np.float32)
        for part in parts:
            part.program["u_mvp"] = mvp
            if part.behind:
                part.program["u_behind_ndc"] = np.float32(behind)
        return render_w, render_h

    def fragments(part) -> float:
        """Fragments the part rasterises (depth test off, alone) per output pixel of the
        supersampled frame, averaged over the poses (an occlusion query)."""
        total, area = 0, 0
        for pose, cam in poses:
            render_w, render_h = set_pose([part], pose, cam)
            if part.blend:
                part.program["u_cover"] = 1.0
            with renderer._target[2]:
                gloo.set_viewport(0, 0, render_w, render_h)
                gloo.set_state(depth_test=False, blend=False)
                gloo.clear(color=True, depth=True)
                ctx.flush()
                lib.glBeginQuery(0x8914, query.value)  # GL_SAMPLES_PASSED
                part.program.draw("triangles", part.index_buffer)
                ctx.flush()
                lib.glEndQuery(0x8914)
                result = ctypes.c_uint()
                lib.glGetQueryObjectuiv(query.value, 0x8866, ctypes.byref(result))  # GL_QUERY_RESULT
            total += result.value
            area += render_w * render_h
        return round(total / area, 3)

    def frame(subset, scissor: bool, read: bool) -> tuple[float, float, float, float]:
        walls, cpus, reads, downs = [], [], [], []
        for pose, cam in poses:
            render_w, render_h = set_pose(subset, pose, cam)
            for _ in range(args.repeat):
                t, c = time.perf_counter(), time.process_time()
                with renderer._target[2]:
                    gloo.set_viewport(0, 0, render_w, render_h)
                    gloo.set_state(depth_test=True, cull_face=False, blend=False, scissor_test=False)
                    gloo.set_clear_color((0, 0, 0, 0))
                    gloo.clear(color=True, depth=True)
                    if scissor:
                        gloo.set_state(scissor_test=True)
                        gloo.set_scissor(0, 0, 1, 1)
                    renderer._draw_parts(subset, mask=True)
                    gloo.set_state(scissor_test=False)
                    ctx.flush()
                    ctx.gl.glFinish()
                    t1 = time.perf_counter()
                    if read:
                        ctx.read_pixels(0, 0, render_w, render_h, 0x1908, 0x1401,
                                        renderer._readback.ctypes.data_as(ctypes.c_void_p))
                t2 = time.perf_counter()
                if read:
                    small = cv2.resize(renderer._readback, (cam.width, cam.height), interpolation=cv2.INTER_AREA)
                    cv2.cvtColor(small, cv2.COLOR_RGBA2RGB)
                t3 = time.perf_counter()
                walls.append(t1 - t)
                cpus.append(time.process_time() - c)
                reads.append(t2 - t1)
                downs.append(t3 - t2)
        ms = lambda x: round(1000 * float(np.mean(x)), 2)  # noqa: E731
        return ms(walls), ms(cpus), ms(reads), ms(downs)

    frame(parts, False, True)  # warm-up: shader compilation
    base = {"photo": args.photo, "size": f"{k.width}x{k.height}", "error_px": args.error,
            "load": round(os.getloadavg()[0], 1), "poses": len(poses), "counts": counts}
    rows = []
    wall, cpu, _, _ = frame([], False, False)
    rows.append({"case": "clear", "wall_ms": wall, "cpu_ms": cpu})
    for i, part in enumerate(parts):
        name = _part_name(part, i)
        wall, cpu, _, _ = frame([part], False, False)
        swall, scpu, _, _ = frame([part], True, False)
        owall, ocpu, _, _ = frame([p for p in parts if p is not part], False, False)
        rows.append({"case": name, "triangles": int(part_tris[i]), "wall_ms": wall, "cpu_ms": cpu,
                     "scissor_wall_ms": swall, "scissor_cpu_ms": scpu, "others_wall_ms": owall,
                     "others_cpu_ms": ocpu, "fragments_per_px": fragments(part)})
    wall, cpu, read, down = frame(parts, False, True)
    swall, scpu, _, _ = frame(parts, True, False)
    rows.append({"case": "all", "triangles": int(sum(part_tris)), "wall_ms": wall, "cpu_ms": cpu,
                 "scissor_wall_ms": swall, "scissor_cpu_ms": scpu, "readback_ms": read, "downsample_ms": down})
    for row in rows:
        row = {**base, **row}
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
    renderer.close()
    p3d.close()


if __name__ == "__main__":
    main()
