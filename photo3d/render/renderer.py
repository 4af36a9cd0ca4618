"""Headless rendering of a Mesh with OpenGL through EGL (vispy gloo).

One offscreen GL context per process (created on first use, never at import) serves
every Renderer. A Renderer draws into its own framebuffer object (an RGBA8 colour
texture and a 24-bit depth render buffer), so nothing relies on the default surface
having a depth buffer.

Projection. Camera space is OpenCV's (+x right, +y down, +z forward, see
``photo3d.core.data``). Pixel (u, v) of a W x H image covers [u - 0.5, u + 0.5], so the
image spans NDC x = 2 (u + 0.5) / W - 1 and, *without* the usual y flip,
NDC y = 2 (v + 0.5) / H - 1. GL's bottom framebuffer row is therefore image row 0 and
``glReadPixels`` returns the image top row first. The flip mirrors triangle winding,
which does not matter: face culling is off.

Anti-aliasing. The reference renders at 3x and area-downsamples; here the frame is
rendered at ``supersample`` times the size (default 2) and downsampled with
``cv2.INTER_AREA``. Coverage comes from the alpha channel (cleared to 0, mesh
fragments write 1): the mask is coverage >= 0.5. The background is black.

Speed: meshes are simplified before upload (:mod:`photo3d.render.simplify`);
``Renderer(simplify=False)`` draws the mesh as it is.
"""
from __future__ import annotations

import ctypes
import time
from typing import Any

import cv2
import numpy as np

from ..checks import (
    MAX_RENDER_SIDE,
    check_float_range,
    check_intrinsics_values,
    check_memory,
    check_pose,
    check_size,
    memory_bytes,
)
from ..core.data import Intrinsics, Mesh
from ..errors import Photo3DError
from .context import gl_context
from .simplify import RenderMesh, render_mesh

_GL_DEPTH_COMPONENT24 = 0x81A6
_GL_RGBA = 0x1908
_GL_UNSIGNED_BYTE = 0x1401

_VERTEX_SHADER = """
uniform mat4 u_mvp;
#ifdef BEHIND
uniform float u_behind_ndc;
#endif
attribute vec3 a_position;
#ifdef TEXTURED
attribute vec2 a_uv;
varying vec3 v_uvw;
#ifdef MASKED
attribute vec4 a_square;  // masked patches: cell texel (x, y), grid (column, row)
varying vec4 v_square;
#endif
#elif defined(BLEND)
attribute vec4 a_rgba;  // own names: vispy reads declarations past the #ifdefs
varying vec4 v_rgba;
#else
attribute vec3 a_color;
varying vec3 v_color;
#endif
void main() {
    gl_Position = u_mvp * vec4(a_position, 1.0);
#ifdef BEHIND
    // hole guard: drawn between the mesh's farthest point and the far plane, so it
    // shows only where nothing else is
    gl_Position.z = gl_Position.w * u_behind_ndc;
#endif
#ifdef TEXTURED
#ifdef PROJECTIVE
    // texture coordinates affine in the input image: interpolate (uv z, z), divide per pixel
    v_uvw = vec3(a_uv * a_position.z, a_position.z);
#ifdef MASKED
    v_square = a_square * a_position.z;
#endif
#else
    v_uvw = vec3(a_uv, 1.0);
#endif
#elif defined(BLEND)
    v_rgba = a_rgba;
#else
    v_color = a_color;
#endif
}
"""

_FRAGMENT_SHADER = """
#ifdef TEXTURED
uniform sampler2D u_texture;
varying vec3 v_uvw;
#ifdef MASKED
uniform sampler2D u_mask;
uniform vec2 u_mask_size;
varying vec4 v_square;
#endif
#ifdef BLEND
uniform float u_cover;
#endif
#elif defined(BLEND)
uniform float u_cover;
varying vec4 v_rgba;
#else
varying vec3 v_color;
#endif
void main() {
#ifdef MASKED
    // masked patches (simplify.MaskedPart): the pixel square under the fragment, from the
    // patch's cell (the texel of its top-left vertex) and the fragment's place in the patch's
    // grid (small numbers: little rounding), read nearest; its code says whether the square, one
    // triangle of it, or nothing is the patch's. Ties follow the rasteriser's fill rule for the
    // full mesh's triangles (top and left edges in, in image coordinates): a fragment on a
    // square's side belongs to the square right of / below it, one on a half's diagonal to the
    // half above-right (TL-BR) or below-right (TR-BL) of it. The margin (1/16384 of a square)
    // keeps interpolation noise from turning a tie at the input camera (whose pixel centres lie
    // on the squares' sides and corners), and is small enough not to move a cut's pixels at
    // other cameras (1/256 did: a pixel 1/500 inside a square went to the next, missing, one).
    const float tie = 1.0 / 16384.0;
    vec4 place = v_square / v_uvw.z;
    vec2 grid = place.zw + tie;
    vec2 texel = floor(place.xy + 0.5) + floor(grid);
    vec2 f = fract(grid) - tie;
    float below = f.y - f.x;  // > 0: below the TL-BR diagonal
    float past = f.x + f.y - 1.0;  // > 0: below-right of the TR-BL diagonal
    float code = floor(texture2D(u_mask, (texel + 0.5) / u_mask_size).r * 255.0 + 0.5);
    if (code < 0.5) discard;
    else if (code < 1.5) { if (past <= -tie) discard; }  // without TL
    else if (code < 2.5) { if (below < tie) discard; }  // without TR
    else if (code < 3.5) { if (below >= tie) discard; }  // without BL
    else if (code < 4.5) { if (past > -tie) discard; }  // without BR
#endif
#ifdef TEXTURED
#ifdef BLEND
    // the soft rim's strips: RGBA texels, straight alpha (see below)
    vec4 texel = texture2D(u_texture, v_uvw.xy / v_uvw.z);
    gl_FragColor = u_cover > 0.5 ? vec4(texel.rgb, 1.0) : texel;
#elif defined(BEHIND)
    gl_FragColor = vec4(texture2D(u_texture, v_uvw.xy / v_uvw.z).rgb, 0.0);
#else
    gl_FragColor = vec4(texture2D(u_texture, v_uvw.xy / v_uvw.z).rgb, 1.0);
#endif
#elif defined(BLEND)
    // the soft rim, straight alpha; then once more into the alpha channel alone (u_cover = 1):
    // the rim counts as covered, as the opaque facets did
    gl_FragColor = u_cover > 0.5 ? vec4(v_rgba.rgb, 1.0) : v_rgba;
#else
#ifdef BEHIND
    gl_FragColor = vec4(v_color, 0.0);  // alpha 0: not counted in the coverage mask
#else
    gl_FragColor = vec4(v_color, 1.0);
#endif
#endif
}
"""


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


class _Part:
    """GL objects of one drawable part: program, vertex and index buffers, optional texture."""

    def __init__(self, gloo, data: np.ndarray, faces: np.ndarray, texture: np.ndarray | None, behind: bool = False,
                 projective: bool = False, blend: bool = False, nearest: bool = False, mask: np.ndarray | None = None):
        defines = (("" if texture is None else "#define TEXTURED\n") + ("#define BEHIND\n" if behind else "")
                   + ("#define PROJECTIVE\n" if projective else "") + ("#define BLEND\n" if blend else "")
                   + ("" if mask is None else "#define MASKED\n"))
        self.behind = behind
        self.blend = blend
        self.program = gloo.Program(defines + _VERTEX_SHADER, defines + _FRAGMENT_SHADER)
        self.vertex_buffer = gloo.VertexBuffer(data)
        self.program.bind(self.vertex_buffer)
        self.index_buffer = gloo.IndexBuffer(np.ascontiguousarray(faces, dtype=np.uint32))
        self.texture = None
        if texture is not None:
            self.texture = gloo.Texture2D(
                np.ascontiguousarray(texture), interpolation="nearest" if nearest else "linear",
                wrapping="clamp_to_edge"
            )
            self.program["u_texture"] = self.texture
        self.mask = None
        if mask is not None:  # one channel (luminance), codes read back exactly: nearest
            self.mask = gloo.Texture2D(np.ascontiguousarray(mask[..., None]), interpolation="nearest",
                                       wrapping="clamp_to_edge")
            self.program["u_mask"] = self.mask
            self.program["u_mask_size"] = np.array([mask.shape[1], mask.shape[0]], np.float32)

    def delete(self) -> None:
        for obj in (self.program, self.vertex_buffer, self.index_buffer, self.texture, self.mask):
            if obj is not None:
                obj.delete()


def _colour_vertex_data(vertices: np.ndarray, colors: np.ndarray) -> np.ndarray:
    # gloo declares every attribute as GL_FLOAT, so colours go up as float32.
    data = np.empty(len(vertices), dtype=[("a_position", np.float32, 3), ("a_color", np.float32, 3)])
    data["a_position"] = vertices
    data["a_color"] = np.asarray(colors, dtype=np.float32) * np.float32(1.0 / 255.0)
    return data


def _rgba_vertex_data(vertices: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    data = np.empty(len(vertices), dtype=[("a_position", np.float32, 3), ("a_rgba", np.float32, 4)])
    data["a_position"] = vertices
    data["a_rgba"] = np.asarray(rgba, dtype=np.float32) * np.float32(1.0 / 255.0)
    return data


def _uv_vertex_data(vertices: np.ndarray, uv: np.ndarray) -> np.ndarray:
    data = np.empty(len(vertices), dtype=[("a_position", np.float32, 3), ("a_uv", np.float32, 2)])
    data["a_position"] = vertices
    data["a_uv"] = uv
    return data


class Renderer:
    """Renders one mesh at a time from arbitrary cameras, offscreen.

    Args:
        width, height: initial output size in pixels (each render uses its intrinsics' size).
        supersample: render at this factor of the output size, then area-downsample (>= 1).
        simplify: draw planar patches of the pixel grid as textured fans
            (``simplify_grid_mesh``): the same picture from about 10x fewer triangles.
        masked_patches: with ``simplify``, also patches over depth cuts and holes whose missing
            pixel squares the fragment shader discards (``simplify_grid_mesh(masked=True)``).
    """

    def __init__(self, width: int, height: int, supersample: float = 2.0, simplify: bool = True,
                 simplify_error: float = 0.0, profile: bool = False, masked_patches: bool = False):
        check_size(width, height, "Renderer")
        check_float_range(supersample, "supersample", "Renderer", low=1, high=8)
        check_float_range(simplify_error, "simplify_error", "Renderer", low=0)
        self.supersample = float(supersample)
        self.simplify = bool(simplify)
        self.simplify_error = float(simplify_error)
        self.masked_patches = bool(masked_patches)
        self.profile = bool(profile)
        # seconds spent per part of render() (with ``profile``: draw includes a glFinish)
        self.seconds = {"draw": 0.0, "readback": 0.0, "downsample": 0.0}
        self.num_triangles = 0  # triangles drawn per frame for the current mesh
        self._ctx = gl_context()
        self._parts: list[_Part] = []
        self._bbox: np.ndarray | None = None  # (8, 4) homogeneous corners of the mesh's bounding box
        self._target: tuple[Any, Any, Any] | None = None  # colour texture, depth buffer, framebuffer
        self._target_size = (0, 0)
        self._readback = np.zeros((0, 0, 4), np.uint8)
        self._gl_max_side: int | None = None
        self._ensure_target(*self._render_size(int(width), int(height)))

    # -- resources -------------------------------------------------------------------
    def _max_side(self) -> int:
        """Largest render-target side this GL context supports (texture, renderbuffer, viewport)."""
        if self._gl_max_side is None:
            gl = self._ctx.gl
            try:
                limits = [int(gl.glGetParameter(gl.GL_MAX_TEXTURE_SIZE)),
                          int(gl.glGetParameter(gl.GL_MAX_RENDERBUFFER_SIZE)),
                          *(int(v) for v in np.ravel(gl.glGetParameter(gl.GL_MAX_VIEWPORT_DIMS)))]
                self._gl_max_side = max(1, min(limits))
            except Exception:  # a driver that does not answer: the common minimum
                self._gl_max_side = MAX_RENDER_SIDE
        return self._gl_max_side

    def _render_size(self, width: int, height: int) -> tuple[int, int]:
        """The supersampled target size, the supersampling lowered (to 1 at least) where the
        target would exceed the GL limit or the memory. Raises Photo3DError (before any GL
        call) for an output the GL context cannot hold."""
        limit = self._max_side()
        if max(width, height) > limit:
            raise Photo3DError(f"render: size {width}x{height} exceeds this GL renderer's {limit} pixels per side")
        check_memory(width * height, 16, f"render: size {width}x{height}")  # readback, resize, RGB copy
        scale = min(self.supersample, limit / max(width, height),
                    max(1.0, (memory_bytes() / 8 / (8 * width * height)) ** 0.5))
        scale = max(1.0, scale)
        return (min(limit, max(1, round(width * scale))), min(limit, max(1, round(height * scale))))

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

    def _recover(self) -> None:
        """After a failed GL call: drop the queued GL commands and this renderer's target,
        so that the shared context stays usable for later renders (its own and others')."""
        try:
            self._ctx.canvas.context.glir.clear()
        except Exception:
            pass
        self._target = None  # its GL objects may never have been made; forget them
        self._target_size = (0, 0)

    def _release_target(self) -> None:
        if self._target is not None:
            for obj in reversed(self._target):
                obj.delete()
            self._target = None
            self._target_size = (0, 0)

    def _release_mesh(self) -> None:
        for part in self._parts:
            part.delete()
        self._parts = []
        self._bbox = None
        self.num_triangles = 0

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
    def set_mesh(self, mesh: Mesh | RenderMesh, motion: tuple[float, float, float] | None = None) -> None:
        """Upload a mesh: vertex colours, or its texture (``mesh.texture``).

        A Mesh is converted with ``render_mesh(mesh, self.simplify, motion,
        self.simplify_error, self.masked_patches)``: given the ``motion`` of the cameras to come
        (:func:`photo3d.camera.motion_extent`), simplified to what they can show; a RenderMesh
        is drawn as given. Buffers are uploaded once here; renders only change the camera.
        """
        prepared = (mesh if isinstance(mesh, RenderMesh)
                    else render_mesh(mesh, self.simplify, motion, self.simplify_error, self.masked_patches))
        gloo = self._ctx.gloo
        self._ctx.make_current()
        self._release_mesh()
        if len(prepared.faces):
            data = _colour_vertex_data(prepared.vertices, prepared.colors)
            self._parts.append(_Part(gloo, data, prepared.faces, None))
        if len(prepared.flat.faces):  # merged edge facets: one texel per pixel square; before the
            # patches, as in the full mesh, so that they win depth ties with them
            data = _uv_vertex_data(prepared.flat.vertices, prepared.flat.uv)
            self._parts.append(_Part(gloo, data, prepared.flat.faces, prepared.flat.texture, projective=True,
                                     nearest=True))
        if len(prepared.tex_faces):
            data = _uv_vertex_data(prepared.tex_vertices, prepared.tex_uv)
            self._parts.append(_Part(gloo, data, prepared.tex_faces, prepared.texture,
                                     projective=prepared.tex_projective))
        if len(prepared.masked.faces):  # patches over cuts: their missing squares discarded
            data = np.empty(len(prepared.masked.vertices), dtype=[("a_position", np.float32, 3),
                                                                   ("a_uv", np.float32, 2), ("a_square", np.float32, 4)])
            data["a_position"] = prepared.masked.vertices
            data["a_uv"] = prepared.masked.uv
            data["a_square"] = prepared.masked.square
            self._parts.append(_Part(gloo, data, prepared.masked.faces, prepared.masked.texture, projective=True,
                                     mask=prepared.masked.mask))
        # the guard, drawn last: it fills only what nothing else covers (first drawn first)
        if len(prepared.hole_flat.faces):
            data = _uv_vertex_data(prepared.hole_flat.vertices, prepared.hole_flat.uv)
            self._parts.append(_Part(gloo, data, prepared.hole_flat.faces, prepared.hole_flat.texture, behind=True,
                                     projective=True, nearest=True))
        if len(prepared.hole_faces):
            data = _colour_vertex_data(prepared.hole_vertices, prepared.hole_colors)
            self._parts.append(_Part(gloo, data, prepared.hole_faces, None, behind=True))
        if len(prepared.blend_flat.faces):  # the soft rim's strips, blended over all of the above
            data = _uv_vertex_data(prepared.blend_flat.vertices, prepared.blend_flat.uv)
            self._parts.append(_Part(gloo, data, prepared.blend_flat.faces, prepared.blend_flat.texture,
                                     projective=True, blend=True, nearest=True))
        if len(prepared.blend_faces):  # the soft rim, blended over all of the above
            data = _rgba_vertex_data(prepared.blend_vertices, prepared.blend_colors)
            self._parts.append(_Part(gloo, data, prepared.blend_faces, None, blend=True))
        self.num_triangles = prepared.num_triangles

        points = np.concatenate([prepared.vertices, prepared.tex_vertices, prepared.flat.vertices,
                                 prepared.blend_vertices, prepared.blend_flat.vertices,
                                 prepared.masked.vertices]).astype(np.float64)
        if len(points) == 0:
            points = np.zeros((1, 3))
        lo, hi = points.min(axis=0), points.max(axis=0)
        corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1).T
        self._bbox = np.concatenate([corners, np.ones((8, 1))], axis=1)
        self._ctx.flush()

    def _clip_range(self, world_to_camera: np.ndarray) -> tuple[float, float, float]:
        """Near/far planes enclosing the mesh's bounding box seen from this camera, and the
        NDC depth of the hole guard: halfway between the box's farthest point and the far
        plane (a fixed NDC depth would land in front of far surfaces when the near plane
        is tiny, e.g. when the camera turns and box corners pass behind it)."""
        depths = (self._bbox @ world_to_camera[2]).astype(np.float64)
        mesh_far = float(depths.max())
        if mesh_far <= 0:  # the whole mesh is behind the camera: any valid range draws nothing
            return 1.0, 2.0, 0.5
        near = max(0.5 * float(depths.min()), 1e-4 * mesh_far)
        far = mesh_far * 1.1 + 1e-6
        # NDC depth of z: (far + near - 2 far near / z) / (far - near), see projection_matrix
        mesh_far_ndc = (far + near - 2.0 * far * near / mesh_far) / (far - near)
        return near, far, 0.5 * (mesh_far_ndc + 1.0)

    # -- rendering -------------------------------------------------------------------
    def render(self, pose_c2w: np.ndarray, intrinsics: Intrinsics, mask: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Render the mesh from a camera.

        Args:
            pose_c2w: (4, 4) camera-to-world matrix (identity = the input camera).
            intrinsics: camera; sets the output size.
            mask: compute the coverage mask. Without it (videos) the soft rim is drawn once,
                not once more into the alpha channel, and the returned mask is None; the
                colours are the same.

        Returns:
            rgb: (H, W, 3) uint8, black where the mesh is absent.
            mask: (H, W) bool, pixels the mesh covers (coverage >= 0.5), or None.
        """
        if self._bbox is None:
            raise Photo3DError("Renderer.render: no mesh; call set_mesh first")
        pose = check_pose(pose_c2w, "Renderer.render: pose")
        check_intrinsics_values(intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy, "Renderer.render: intrinsics")
        check_size(intrinsics.width, intrinsics.height, "Renderer.render: intrinsics")
        out_w, out_h = intrinsics.width, intrinsics.height
        render_w, render_h = self._render_size(out_w, out_h)
        render_intrinsics = intrinsics.scaled(render_w / out_w, render_h / out_h)
        self._ctx.make_current()
        world_to_camera = np.linalg.inv(pose)  # checked invertible
        try:
            return self._draw(world_to_camera, render_intrinsics, (render_w, render_h), (out_w, out_h), bool(mask))
        except Photo3DError:
            raise
        except Exception as exc:  # a GL error: keep the context usable, report it as ours
            self._recover()
            text = " ".join(str(exc).split())[:200]
            raise Photo3DError(f"render: the GL renderer failed at {out_w}x{out_h} ({type(exc).__name__}: {text})") from exc

    def _draw_parts(self, parts: list, mask: bool = True) -> None:
        """Issue the draw calls of ``parts`` (of ``self._parts``) into the bound target, in order."""
        gloo = self._ctx.gloo
        for part in parts:
            if not part.blend:
                part.program.draw("triangles", part.index_buffer)
                continue
            # the soft rim: colour blended over what is drawn, depth tested but not written;
            # then coverage: alpha 1 wherever it lies, colour untouched
            gloo.set_state(blend=True, depth_mask=False)
            gloo.set_blend_func("src_alpha", "one_minus_src_alpha", "one", "one_minus_src_alpha")
            part.program["u_cover"] = 0.0
            part.program.draw("triangles", part.index_buffer)
            gloo.set_state(blend=False)
            if not mask:  # the alpha channel is not read: no coverage pass (~10 % of a frame)
                continue
            gloo.set_color_mask(False, False, False, True)
            part.program["u_cover"] = 1.0
            part.program.draw("triangles", part.index_buffer)
            gloo.set_color_mask(True, True, True, True)
        gloo.set_state(blend=False, depth_mask=True)

    def _draw(self, world_to_camera: np.ndarray, render_intrinsics: Intrinsics, render_size: tuple[int, int],
              out_size: tuple[int, int], mask: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Draw the mesh into the (supersampled) target and read it back at ``out_size``."""
        gloo = self._ctx.gloo
        (render_w, render_h), (out_w, out_h) = render_size, out_size
        self._ensure_target(render_w, render_h)

        near, far, behind_ndc = self._clip_range(world_to_camera)
        mvp = projection_matrix(render_intrinsics, near, far) @ world_to_camera
        # gloo uploads row-major arrays that GL reads column-major: pass the transpose.
        mvp_gl = mvp.T.astype(np.float32)
        for part in self._parts:
            part.program["u_mvp"] = mvp_gl
            if part.behind:
                part.program["u_behind_ndc"] = np.float32(behind_ndc)

        framebuffer = self._target[2]
        with framebuffer:
            gloo.set_viewport(0, 0, render_w, render_h)
            gloo.set_state(depth_test=True, cull_face=False, blend=False)
            gloo.set_clear_color((0.0, 0.0, 0.0, 0.0))
            gloo.clear(color=True, depth=True)
            t0 = time.perf_counter()
            self._draw_parts(self._parts, mask)
            self._ctx.flush()
            if self.profile:  # wait for the rasteriser, so that read-back is timed alone
                self._ctx.gl.glFinish()
            t1 = time.perf_counter()
            # Read straight into our buffer (vispy's read_pixels copies twice and flips).
            self._ctx.read_pixels(
                0, 0, render_w, render_h, _GL_RGBA, _GL_UNSIGNED_BYTE, self._readback.ctypes.data_as(ctypes.c_void_p)
            )
            t2 = time.perf_counter()
        rgba = self._readback
        if (render_w, render_h) != (out_w, out_h):
            rgba = cv2.resize(rgba, (out_w, out_h), interpolation=cv2.INTER_AREA)
        t3 = time.perf_counter()
        self.seconds["draw"] += t1 - t0
        self.seconds["readback"] += t2 - t1
        self.seconds["downsample"] += t3 - t2
        # cv2 drops the alpha channel several times faster than a strided numpy copy
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), (rgba[..., 3] >= 128 if mask else None)
