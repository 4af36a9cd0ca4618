"""Offscreen rendering: :mod:`.context` (the EGL context), :mod:`.simplify` (what is drawn,
pure numpy), :mod:`.renderer` (the GL renderer: framebuffer, shaders, read-back)."""
from .context import GLContext, gl_context
from .renderer import Renderer, projection_matrix
from .simplify import RenderMesh, render_mesh, simplify_grid_mesh

__all__ = ["GLContext", "RenderMesh", "Renderer", "gl_context", "projection_matrix", "render_mesh", "simplify_grid_mesh"]
