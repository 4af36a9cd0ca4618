"""Floors of a frame on this machine's GL renderer (Mesa llvmpipe on 2 cores): what a frame
costs before any mesh, and what fill and triangles cost, at the 2x supersampled render sizes.

Each configuration runs in its own process (``LP_NUM_THREADS`` is read when the GL context is
made) and reports milliseconds per frame, wall and CPU (this process's CPU time: the main
thread and llvmpipe's rasteriser threads), median over ``--frames`` frames after a warm-up:

* ``clear``: clear colour + depth, glFinish.
* ``clear_readback``: the same, then glReadPixels of the RGBA8 target into numpy.
* ``clear_readback_downsample``: the same, then the renderer's cv2 area downsample to the
  output size and RGBA -> RGB (everything a frame costs besides drawing).
* ``quad_flat`` / ``quad_flat_nodepth``: one full-frame quad (2 triangles), vertex colour,
  with and without the depth test.
* ``quad_tex_{linear,nearest}_{affine,projective}``: the quad textured from a 4096 x 2048 RGB
  texture at half a texel per pixel (the patches' scale at 2x), bilinear or nearest,
  uv / 1 or uv w / w interpolated (the renderer's projective patches).
* ``quad_tex_linear_projective_rgba``: the same from an RGBA8 texture (4 bytes a texel).
* ``grid_{N}k_{colour,tex}``: N thousand triangles of a regular grid over the frame (pixel-sized
  to a few pixels), vertex-coloured or projective-textured: the per-triangle cost.
* ``quad_tex_linear_projective_rgba``: the same from an RGBA8 texture (4 bytes a texel).
* ``grid_{N}k_colour_offscreen``: the same triangles outside the view (vertex work and clipping
  only).

    python -m benchmarks.bench_llvmpipe_floors                       # 640x510 and 1920x1532, threads 1/2/3
    python -m benchmarks.bench_llvmpipe_floors --threads 2 --out benchmarks/results/llvmpipe_floors.jsonl
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time

import numpy as np

_VERTEX = """
attribute vec3 a_position;
#ifdef TEXTURED
attribute vec2 a_uv;
varying vec3 v_uvw;
#else
attribute vec3 a_color;
varying vec3 v_color;
#endif
void main() {
    gl_Position = vec4(a_position.xy, 0.5 * a_position.z, 1.0);
#ifdef TEXTURED
#ifdef PROJECTIVE
    v_uvw = vec3(a_uv * 2.0, 2.0);
#else
    v_uvw = vec3(a_uv, 1.0);
#endif
#else
    v_color = a_color;
#endif
}
"""
_FRAGMENT = """
#ifdef TEXTURED
uniform sampler2D u_texture;
varying vec3 v_uvw;
#else
varying vec3 v_color;
#endif
void main() {
#ifdef TEXTURED
#ifdef PROJECTIVE
    gl_FragColor = vec4(texture2D(u_texture, v_uvw.xy / v_uvw.z).rgb, 1.0);
#else
    gl_FragColor = vec4(texture2D(u_texture, v_uvw.xy).rgb, 1.0);
#endif
#else
    gl_FragColor = vec4(v_color, 1.0);
#endif
}
"""


def _grid(n_triangles: int, width: int, height: int, offscreen: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) in NDC and faces of a regular grid of about n_triangles over the frame."""
    cells = max(1, n_triangles // 2)
    nx = max(1, int(round((cells * width / height) ** 0.5)))
    ny = max(1, cells // nx)
    x, y = np.meshgrid(np.linspace(-1, 1, nx + 1), np.linspace(-1, 1, ny + 1))
    if offscreen:
        x = x + 3.0
    vertices = np.stack([x, y, np.zeros_like(x)], -1).reshape(-1, 3)
    idx = np.arange((nx + 1) * (ny + 1)).reshape(ny + 1, nx + 1)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)])
    return vertices, faces


def child(width: int, height: int, frames: int, which: list[str]) -> list[dict]:
    import cv2

    from photo3d.render.context import gl_context

    ctx = gl_context()
    gloo = ctx.gloo
    color = gloo.Texture2D(shape=(height, width, 4), format="rgba", internalformat="rgba8")
    depth = gloo.RenderBuffer((height, width), format=0x81A6)
    fbo = gloo.FrameBuffer(color=color, depth=depth)
    readback = np.empty((height, width, 4), np.uint8)
    rng = np.random.default_rng(0)
    texture = gloo.Texture2D(rng.integers(0, 256, (2048, 4096, 3), dtype=np.uint8), interpolation="linear",
                             wrapping="clamp_to_edge")
    texture_nearest = gloo.Texture2D(rng.integers(0, 256, (2048, 4096, 3), dtype=np.uint8),
                                     interpolation="nearest", wrapping="clamp_to_edge")
    texture_rgba = gloo.Texture2D(rng.integers(0, 256, (2048, 4096, 4), dtype=np.uint8), interpolation="linear",
                                  wrapping="clamp_to_edge")

    def program(vertices, faces, textured=False, projective=False, nearest=False, rgba=False):
        defines = ("#define TEXTURED\n" if textured else "") + ("#define PROJECTIVE\n" if projective else "")
        prog = gloo.Program(defines + _VERTEX, defines + _FRAGMENT)
        if textured:
            # half a texel per pixel: the frame spans (width / 2, height / 2) texels
            uv = (vertices[:, :2] + 1) / 2 * [width / 2 / 4096, height / 2 / 2048]
            data = np.empty(len(vertices), [("a_position", np.float32, 3), ("a_uv", np.float32, 2)])
            data["a_uv"] = uv
            prog["u_texture"] = texture_nearest if nearest else (texture_rgba if rgba else texture)
        else:
            data = np.empty(len(vertices), [("a_position", np.float32, 3), ("a_color", np.float32, 3)])
            data["a_color"] = rng.random((len(vertices), 3))
        data["a_position"] = vertices
        prog.bind(gloo.VertexBuffer(data))
        return prog, gloo.IndexBuffer(np.ascontiguousarray(faces, np.uint32))

    quad_v = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float64)
    quad_f = np.array([[0, 1, 2], [0, 2, 3]])
    cases = {
        "clear": (None, True, False, False),
        "clear_readback": (None, True, True, False),
        "clear_readback_downsample": (None, True, True, True),
        "quad_flat": (program(quad_v, quad_f), True, False, False),
        "quad_flat_nodepth": (program(quad_v, quad_f), False, False, False),
    }
    for interp in ("linear", "nearest"):
        for proj in ("affine", "projective"):
            cases[f"quad_tex_{interp}_{proj}"] = (
                program(quad_v, quad_f, True, proj == "projective", interp == "nearest"), True, False, False)
    cases["quad_tex_linear_projective_rgba"] = (program(quad_v, quad_f, True, True, False, True), True, False, False)
    for k in (16, 64, 256, 1024):
        v, f = _grid(k * 1000, width, height, False)
        cases[f"grid_{k}k_colour"] = (program(v, f), True, False, False)
        cases[f"grid_{k}k_tex"] = (program(v, f, True, True), True, False, False)
        v, f = _grid(k * 1000, width, height, True)
        cases[f"grid_{k}k_colour_offscreen"] = (program(v, f), True, False, False)
    rows = []
    for name, (prog, depth_test, read, down) in cases.items():
        if which and not any(name.startswith(w) for w in which):
            continue
        walls, cpus = [], []
        for i in range(frames + 2):
            t, c = time.perf_counter(), time.process_time()
            with fbo:
                gloo.set_viewport(0, 0, width, height)
                gloo.set_state(depth_test=depth_test, cull_face=False, blend=False)
                gloo.set_clear_color((0, 0, 0, 0))
                gloo.clear(color=True, depth=True)
                if prog is not None:
                    prog[0].draw("triangles", prog[1])
                ctx.flush()
                ctx.gl.glFinish()
                if read:
                    ctx.read_pixels(0, 0, width, height, 0x1908, 0x1401, readback.ctypes.data_as(ctypes.c_void_p))
            if down:
                small = cv2.resize(readback, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
                cv2.cvtColor(small, cv2.COLOR_RGBA2RGB)
            if i >= 2:
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
        rows.append({"case": name, "size": f"{width}x{height}", "wall_ms": round(1000 * float(np.median(walls)), 2),
                     "cpu_ms": round(1000 * float(np.median(cpus)), 2)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["640x510", "1920x1532"], help="render (supersampled) sizes")
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2, 3], help="LP_NUM_THREADS values")
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--cases", nargs="*", default=[], help="only cases whose names start with these")
    ap.add_argument("--out", help="also append the rows (JSON lines) to this file")
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        for row in child(args.child[0], args.child[1], args.frames, args.cases):
            print(json.dumps(row), flush=True)
        return
    for threads in args.threads:
        for size in args.sizes:
            w, h = (int(x) for x in size.split("x"))
            env = dict(os.environ, LP_NUM_THREADS=str(threads))
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_llvmpipe_floors", "--child", str(w), str(h),
                                  "--frames", str(args.frames), "--cases", *args.cases],
                                 env=env, capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                row = dict(json.loads(line), lp_num_threads=threads, load=round(os.getloadavg()[0], 1))
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
