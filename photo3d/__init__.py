"""photo3d: one photo to a 3D photo (Shih et al., CVPR 2020), fast and embeddable.

Layers, bottom to top. A module imports only from layers below its own (or from its own
package); nothing imports upwards, and there are no cycles (``tests/test_layout.py`` walks
every import, lazy ones included):

    errors, files                 Photo3DError; atomic file writes
    checks                        one checker per concept (image, depth, pose, intrinsics, sizes, ranges)
    config                        the nested settings, a section per stage
    core                          the paper's stages on numpy arrays (data, prepare, canvas, ...)
    io, camera, device            files, camera paths, the torch device
    weights                       finding, loading and downloading weight files
    depth, inpaint, render        depth sources; inpainters and networks; offscreen rendering
    video, web                    streaming frames to ffmpeg; the web GLB, viewer page and server
    inputs, pipeline              loading photo + depth; sequencing the stages
    train                         training photo3d's own networks
    api                           the Python API (Photo3D)
    cli                           the command line (argparse lives only here)
"""
from __future__ import annotations

__version__ = "0.1.0"

# The layer order above, as data (checked by tests/test_layout.py).
LAYERS = (
    ("errors", "files"),
    ("checks",),
    ("config",),
    ("core",),
    ("io", "camera", "device"),
    ("weights",),
    ("depth", "inpaint", "render"),
    ("video", "web"),
    ("inputs", "pipeline"),
    ("train",),
    ("api",),
    ("cli",),
)

from .core.data import Intrinsics, Mesh  # noqa: E402,F401


def __getattr__(name):  # lazy: importing photo3d must not pull torch or vispy
    if name == "Photo3D":
        from .api import Photo3D

        return Photo3D
    raise AttributeError(name)
