"""The process's offscreen OpenGL context through EGL (vispy gloo): created on first use,
never at import, shared by every Renderer. Without a display Mesa's EGL runs surfaceless
(llvmpipe on the CPU); NVIDIA machines use their driver's EGL.
"""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Any

from ..errors import Photo3DError

_EGL_HELP = (
    "install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri "
    "(apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) and, without a display, "
    "set EGL_PLATFORM=surfaceless"
)

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
