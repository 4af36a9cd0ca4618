"""photo3d: one photo to a 3D photo (Shih et al., CVPR 2020), fast and embeddable."""
from __future__ import annotations

__version__ = "0.1.0"

from .types import Intrinsics, Mesh  # noqa: F401


def __getattr__(name):  # lazy: importing photo3d must not pull torch or vispy
    if name == "Photo3D":
        from .api import Photo3D

        return Photo3D
    raise AttributeError(name)
