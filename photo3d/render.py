"""Headless rendering of a Mesh with OpenGL through EGL (vispy gloo).

One offscreen GL context per process (created on first use, never at import) serves
every Renderer. A Renderer draws into its own framebuffer object (an RGBA8 colour
texture and a 24-bit depth render buffer), so nothing relies on the default surface
having a depth buffer.

Projection. Camera space is OpenCV's (+x right, +y down, +z forward, see
``photo3d.types``). Pixel (u, v) of a W x H image covers [u - 0.5, u + 0.5], so the
image spans NDC x = 2 (u + 0.5) / W - 1 and, *without* the usual y flip,
NDC y = 2 (v + 0.5) / H - 1. GL's bottom framebuffer row is therefore image row 0 and
``glReadPixels`` returns the image top row first. The flip mirrors triangle winding,
which does not matter: face culling is off.

Anti-aliasing. The reference renders at 3x and area-downsamples; here the frame is
rendered at ``supersample`` times the size (default 2) and downsampled with
``cv2.INTER_AREA``. Coverage comes from the alpha channel (cleared to 0, mesh
fragments write 1): the mask is coverage >= 0.5. The background is black.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import Photo3DError
from .types import Intrinsics, Mesh

_EGL_HELP = (
    "install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri "
    "(apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) and, without a display, "
    "set EGL_PLATFORM=surfaceless"
)

_GL_DEPTH_COMPONENT24 = 0x81A6
_GL_RGBA = 0x1908
_GL_UNSIGNED_BYTE = 0x1401

_VERTEX_SHADER = """
uniform mat4 u_mvp;
attribute vec3 a_position;
#ifdef TEXTURED
attribute vec2 a_uv;
varying vec2 v_uv;
#else
attribute vec3 a_color;
varying vec3 v_color;
#endif
void main() {
    gl_Position = u_mvp * vec4(a_position, 1.0);
#ifdef TEXTURED
    v_uv = a_uv;
#else
    v_color = a_color;
#endif
}
"""

_FRAGMENT_SHADER = """
#ifdef TEXTURED
uniform sampler2D u_texture;
varying vec2 v_uv;
#else
varying vec3 v_color;
#endif
void main() {
#ifdef TEXTURED
    gl_FragColor = vec4(texture2D(u_texture, v_uv).rgb, 1.0);
#else
    gl_FragColor = vec4(v_color, 1.0);
#endif
}
"""


@dataclass
class GLContext:
    """The process's offscreen GL context.

    canvas: the vispy Canvas owning the EGL context (its own surface is never drawn to).
    gloo, gl: the vispy modules bound to it.
    renderer_name: GL_RENDERER string (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    read_pixels: native ``glReadPixels`` that writes into a caller's buffer.
    """

    canvas: Any
    gloo: Any
    gl: Any
    renderer_name: str
    read_pixels: Any

    def make_current(self) -> None:
        self.canvas.set_current()

    def flush(self) -> None:
        """Execute the queued gloo (GLIR) commands now."""
        self.canvas.context.flush_commands()


_CONTEXT: GLContext | None = None


def _one_line(exc: BaseException) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _create_context() -> GLContext:
    # Without a display Mesa's EGL must be told to use no window system.
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    try:
        import vispy

        vispy.use(app="egl")
        from vispy import app, gloo
        from vispy.gloo import gl
        from vispy.gloo.gl import gl2

        canvas = app.Canvas(size=(16, 16), show=False)
        canvas.set_current()
        renderer_name = str(gl.glGetParameter(gl.GL_RENDERER))
        read_pixels_type = ctypes.CFUNCTYPE(
            None, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p
        )
        read_pixels = read_pixels_type(("glReadPixels", gl2._lib))
    except Exception as exc:  # any failure here means no usable EGL/GL
        raise Photo3DError(f"offscreen OpenGL (EGL) is unavailable ({_one_line(exc)}); {_EGL_HELP}") from exc
    return GLContext(canvas, gloo, gl, renderer_name, read_pixels)


def gl_context() -> GLContext:
    """The process's offscreen GL context, created on first call and made current."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = _create_context()
    _CONTEXT.make_current()
    return _CONTEXT


def projection_matrix(intrinsics: Intrinsics, near: float, far: float) -> np.ndarray:
    """(4, 4) float64 matrix from OpenCV camera coordinates to GL clip coordinates.

    A point projecting to pixel centre (u, v) lands at NDC (2 (u + 0.5) / W - 1,
    2 (v + 0.5) / H - 1) (no y flip, see module docstring); depth z = near maps to
    NDC -1 and z = far to +1.
    """
    w, h = intrinsics.width, intrinsics.height
    proj = np.zeros((4, 4), dtype=np.float64)
    proj[0, 0] = 2.0 * intrinsics.fx / w
    proj[0, 2] = 2.0 * (intrinsics.cx + 0.5) / w - 1.0
    proj[1, 1] = 2.0 * intrinsics.fy / h
    proj[1, 2] = 2.0 * (intrinsics.cy + 0.5) / h - 1.0
    proj[2, 2] = (far + near) / (far - near)
    proj[2, 3] = -2.0 * far * near / (far - near)
    proj[3, 2] = 1.0
    return proj


def _check_mesh(mesh: Mesh) -> None:
    vertices, colors, faces = mesh.vertices, mesh.colors, mesh.faces
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
        raise Photo3DError(f"mesh: vertices must be (V, 3) with V > 0, got {vertices.shape}")
    if colors.shape != vertices.shape:
        raise Photo3DError(f"mesh: colors must be (V, 3) like vertices {vertices.shape}, got {colors.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise Photo3DError(f"mesh: faces must be (F, 3), got {faces.shape}")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise Photo3DError(f"mesh: face indices must lie in [0, {len(vertices)}), got [{faces.min()}, {faces.max()}]")
    if not np.isfinite(vertices).all():
        raise Photo3DError("mesh: vertices contain NaN or inf")


def _mesh_texture(mesh: Mesh) -> tuple[np.ndarray, np.ndarray] | None:
    """(uv (V, 2) float32, texture (H, W, 3) uint8) when the mesh carries a colour texture.

    uv: (0, 0) is the top-left corner of the texture image, (1, 1) its bottom-right corner.
    """
    uv, texture = mesh.metadata.get("uv"), mesh.metadata.get("texture")
    if uv is None and texture is None:
        return None
    if uv is None or texture is None:
        raise Photo3DError("mesh: metadata needs both 'uv' and 'texture' for a textured mesh")
    uv = np.asarray(uv, dtype=np.float32)
    texture = np.asarray(texture)
    if uv.shape != (mesh.num_vertices, 2):
        raise Photo3DError(f"mesh: metadata 'uv' must be ({mesh.num_vertices}, 2), got {uv.shape}")
    if texture.ndim != 3 or texture.shape[2] != 3 or texture.dtype != np.uint8:
        raise Photo3DError(f"mesh: metadata 'texture' must be (H, W, 3) uint8, got {texture.shape} {texture.dtype}")
    return uv, texture


class Renderer:
    """Renders one mesh at a time from arbitrary cameras, offscreen.

    Args:
        width, height: initial output size in pixels (each render uses its intrinsics' size).
        supersample: render at this factor of the output size, then area-downsample (>= 1).
    """

    def __init__(self, width: int, height: int, supersample: float = 2.0):
        if width < 1 or height < 1:
            raise Photo3DError(f"Renderer: size must be positive, got {width}x{height}")
        if not (1.0 <= supersample <= 8.0):
            raise Photo3DError(f"Renderer: supersample must be in [1, 8], got {supersample}")
        self.supersample = float(supersample)
        self._ctx = gl_context()
        self._program: Any = None
        self._vertex_buffer: Any = None
        self._index_buffer: Any = None
        self._texture: Any = None
        self._bbox: np.ndarray | None = None  # (8, 4) homogeneous corners of the mesh's bounding box
        self._target: tuple[Any, Any, Any] | None = None  # colour texture, depth buffer, framebuffer
        self._target_size = (0, 0)
        self._readback = np.zeros((0, 0, 4), np.uint8)
        self._ensure_target(*self._render_size(int(width), int(height)))

    # -- resources -------------------------------------------------------------------
    def _render_size(self, width: int, height: int) -> tuple[int, int]:
        return max(1, round(width * self.supersample)), max(1, round(height * self.supersample))

    def _ensure_target(self, width: int, height: int) -> None:
        if self._target_size == (width, height):
            return
        gloo = self._ctx.gloo
        self._release_target()
        color = gloo.Texture2D(shape=(height, width, 4), format="rgba", internalformat="rgba8")
        depth = gloo.RenderBuffer((height, width), format=_GL_DEPTH_COMPONENT24)
        self._target = (color, depth, gloo.FrameBuffer(color=color, depth=depth))
        self._target_size = (width, height)
        self._readback = np.empty((height, width, 4), np.uint8)

    def _release_target(self) -> None:
        if self._target is not None:
            for obj in reversed(self._target):
                obj.delete()
            self._target = None
            self._target_size = (0, 0)

    def _release_mesh(self) -> None:
        for obj in (self._program, self._vertex_buffer, self._index_buffer, self._texture):
            if obj is not None:
                obj.delete()
        self._program = self._vertex_buffer = self._index_buffer = self._texture = None
        self._bbox = None

    def close(self) -> None:
        """Free this renderer's GL objects (the shared context stays)."""
        self._ctx.make_current()
        self._release_mesh()
        self._release_target()
        self._ctx.flush()

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- mesh ------------------------------------------------------------------------
    def set_mesh(self, mesh: Mesh) -> None:
        """Upload ``mesh`` (vertex colours, or a texture when ``metadata`` has 'uv' and 'texture').

        Buffers are uploaded once here; renders only change the camera.
        """
        _check_mesh(mesh)
        textured = _mesh_texture(mesh)
        gloo = self._ctx.gloo
        self._ctx.make_current()
        self._release_mesh()

        vertices = np.asarray(mesh.vertices, dtype=np.float32)
        if textured is None:
            # gloo declares every attribute as GL_FLOAT, so colours go up as float32.
            layout = [("a_position", np.float32, 3), ("a_color", np.float32, 3)]
            data = np.empty(len(vertices), dtype=layout)
            data["a_color"] = np.asarray(mesh.colors, dtype=np.float32) * np.float32(1.0 / 255.0)
            defines = ""
        else:
            uv, texture = textured
            data = np.empty(len(vertices), dtype=[("a_position", np.float32, 3), ("a_uv", np.float32, 2)])
            data["a_uv"] = uv
            defines = "#define TEXTURED\n"
        data["a_position"] = vertices

        self._program = gloo.Program(defines + _VERTEX_SHADER, defines + _FRAGMENT_SHADER)
        self._vertex_buffer = gloo.VertexBuffer(data)
        self._program.bind(self._vertex_buffer)
        self._index_buffer = gloo.IndexBuffer(np.ascontiguousarray(mesh.faces, dtype=np.uint32))
        if textured is not None:
            self._texture = gloo.Texture2D(
                np.ascontiguousarray(textured[1]), interpolation="linear", wrapping="clamp_to_edge"
            )
            self._program["u_texture"] = self._texture

        lo, hi = vertices.min(axis=0).astype(np.float64), vertices.max(axis=0).astype(np.float64)
        corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1).T
        self._bbox = np.concatenate([corners, np.ones((8, 1))], axis=1)
        self._ctx.flush()

    def _clip_range(self, world_to_camera: np.ndarray) -> tuple[float, float]:
        """Near/far planes enclosing the mesh's bounding box seen from this camera."""
        depths = (self._bbox @ world_to_camera[2]).astype(np.float64)
        far = float(depths.max())
        if far <= 0:  # the whole mesh is behind the camera: any valid range draws nothing
            return 1.0, 2.0
        near = max(0.5 * float(depths.min()), 1e-4 * far)
        return near, far * 1.01 + 1e-6

    # -- rendering -------------------------------------------------------------------
    def render(self, pose_c2w: np.ndarray, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
        """Render the mesh from a camera.

        Args:
            pose_c2w: (4, 4) camera-to-world matrix (identity = the input camera).
            intrinsics: camera; sets the output size.

        Returns:
            rgb: (H, W, 3) uint8, black where the mesh is absent.
            mask: (H, W) bool, pixels the mesh covers (coverage >= 0.5).
        """
        if self._program is None:
            raise Photo3DError("Renderer.render: no mesh; call set_mesh first")
        pose = np.asarray(pose_c2w, dtype=np.float64)
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise Photo3DError(f"Renderer.render: pose must be a finite 4x4 matrix, got shape {pose.shape}")
        out_w, out_h = intrinsics.width, intrinsics.height
        render_w, render_h = self._render_size(out_w, out_h)
        render_intrinsics = intrinsics.scaled(render_w / out_w, render_h / out_h)
        gloo = self._ctx.gloo
        self._ctx.make_current()
        self._ensure_target(render_w, render_h)

        world_to_camera = np.linalg.inv(pose)
        near, far = self._clip_range(world_to_camera)
        mvp = projection_matrix(render_intrinsics, near, far) @ world_to_camera
        # gloo uploads row-major arrays that GL reads column-major: pass the transpose.
        self._program["u_mvp"] = mvp.T.astype(np.float32)

        framebuffer = self._target[2]
        with framebuffer:
            gloo.set_viewport(0, 0, render_w, render_h)
            gloo.set_state(depth_test=True, cull_face=False, blend=False)
            gloo.set_clear_color((0.0, 0.0, 0.0, 0.0))
            gloo.clear(color=True, depth=True)
            self._program.draw("triangles", self._index_buffer)
            self._ctx.flush()
            # Read straight into our buffer (vispy's read_pixels copies twice and flips).
            self._ctx.read_pixels(
                0, 0, render_w, render_h, _GL_RGBA, _GL_UNSIGNED_BYTE, self._readback.ctypes.data_as(ctypes.c_void_p)
            )
        rgba = self._readback
        if (render_w, render_h) != (out_w, out_h):
            rgba = cv2.resize(rgba, (out_w, out_h), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3] >= 128
