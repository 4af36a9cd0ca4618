"""Core data types shared by every stage.

Conventions (stated once, used everywhere):

* Pixels: (x, y) with x to the right and y down; pixel *centres* sit at integer
  coordinates, so pixel (0, 0) covers [-0.5, 0.5] x [-0.5, 0.5].
* Camera axes (OpenCV): +x right, +y down, +z forward (into the scene). A point
  at depth z projects to u = fx * X / Z + cx, v = fy * Y / Z + cy.
* ``depth`` is the z coordinate (not the ray length); ``disparity`` is 1 / depth
  in whatever units the depth has (after the reference normalisation: depth in
  about [1/3, 20], disparity in [0.05, 3]).
* Poses are 4x4 camera-to-world matrices; the world frame is the input camera's
  frame, so the identity pose is the input camera.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for an image of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def default(cls, width: int, height: int) -> "Intrinsics":
        """The reference implementation's camera: focal max(H, W), centre (W//2, H//2)."""
        f = float(max(width, height))
        return cls(f, f, float(width // 2), float(height // 2), int(width), int(height))

    def scaled(self, sx: float, sy: float | None = None) -> "Intrinsics":
        """Intrinsics for the image resized by (sx, sy), keeping pixel-centre conventions."""
        sy = sx if sy is None else sy
        return Intrinsics(
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            int(round(self.width * sx)),
            int(round(self.height * sy)),
        )

    def shifted(self, dx: float, dy: float, width: int, height: int) -> "Intrinsics":
        """Intrinsics of a canvas whose origin moved by (-dx, -dy) (e.g. a padded canvas)."""
        return Intrinsics(self.fx, self.fy, self.cx + dx, self.cy + dy, int(width), int(height))

    def unproject(self, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) of pixel positions (u, v) at depth z (broadcast)."""
        return np.stack(np.broadcast_arrays((u - self.cx) / self.fx * z, (v - self.cy) / self.fy * z, z), -1)

    def matrix(self) -> np.ndarray:
        """3x3 camera matrix K."""
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)


@dataclass
class Mesh:
    """A triangle mesh in the input camera's frame (see module conventions).

    vertices: (V, 3) float32 camera-space points.
    colors:   (V, 3) uint8 RGB per vertex.
    faces:    (F, 3) int32 vertex indices.
    intrinsics: camera of the input image (image-sized, not the padded canvas).
    """

    vertices: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    intrinsics: Intrinsics
    metadata: dict = field(default_factory=dict)

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])
