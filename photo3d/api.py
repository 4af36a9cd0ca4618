"""The Python API for apps that embed photo3d.

    >>> from photo3d import Photo3D
    >>> p3d = Photo3D.from_rgbd(image, depth)              # HxWx3 uint8, HxW depth (z)
    >>> p3d.save_ply("scene.ply")
    >>> rgb, mask = p3d.render(np.eye(4))                  # identity = the input camera
    >>> p3d.write_video("swing.mp4", "swing")

Camera convention: poses are 4x4 camera-to-world matrices in the depth's units, the world
frame being the input camera's (+x right, +y down, +z forward; identity = input camera).
Intrinsics are (fx, fy, cx, cy) in pixels with pixel centres at integer coordinates.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .checks import (
    as_rgb_image,
    check_intrinsics_values,
    check_pose,
    check_size,
    crop_fractions,
)
from .config import Config
from .core.data import Intrinsics, Mesh
from .errors import Photo3DError
from .pipeline import Scene, build_scene, make_renderer, path_frames, write_outputs


def _as_intrinsics(intrinsics, width: int, height: int) -> Intrinsics | None:
    """(fx, fy, cx, cy) or an Intrinsics for an image of (width, height), checked."""
    if intrinsics is None:
        return None
    if isinstance(intrinsics, Intrinsics):
        values = (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy)
    else:
        try:
            values = tuple(intrinsics)
        except TypeError:
            raise Photo3DError(f"intrinsics: expected (fx, fy, cx, cy), got {intrinsics!r}") from None
        if len(values) != 4:
            raise Photo3DError(f"intrinsics: expected (fx, fy, cx, cy), got {len(values)} values")
    fx, fy, cx, cy = check_intrinsics_values(*values)
    return Intrinsics(fx, fy, cx, cy, int(width), int(height))


class Photo3D:
    """A 3D photo: the layered mesh built from one RGB-D image, and ways to view it."""

    def __init__(self, scene: Scene, config: Config):
        self.scene = scene
        self.config = config
        self._renderer = None
        self.depth_source = "array"  # where the depth came from ("file", "embedded (...)", a model, ...)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_rgbd(
        cls,
        image: np.ndarray,
        depth: np.ndarray,
        intrinsics: Sequence[float] | Intrinsics | None = None,
        config: Config | None = None,
        normalize: bool = True,
        progress: bool = False,
    ) -> "Photo3D":
        """Build from an RGB image and its depth.

        Args:
            image: (H, W, 3) uint8 RGB.
            depth: (H, W) float32 depth (camera z, not disparity) in the caller's units;
                NaN/inf/0 holes are filled. Another size is resized to the image.
            intrinsics: (fx, fy, cx, cy) in pixels of ``image``; default focal max(H, W)
                at the centre (the reference's camera).
            config: pipeline settings; by default the image keeps its own resolution.
            normalize: True applies the reference's disparity normalisation (depth in
                [1/3, 20], so its camera ranges apply); False keeps the caller's units,
                so renders line up with real cameras.
        """
        image = as_rgb_image(image, "image")
        h, w = image.shape[:2]
        if config is None:
            config = Config()
            config.prepare.longer_side = max(h, w)
        scene = build_scene(
            image, np.asarray(depth, dtype=np.float32), config, kind="depth",
            intrinsics=_as_intrinsics(intrinsics, w, h), normalize=normalize, source="depth", progress=progress,
        )
        return cls(scene, config)

    @classmethod
    def from_files(cls, image_path, depth_path=None, *, config: Config | None = None,
                   progress: bool = False) -> "Photo3D":
        """What the CLI does: read the image (and depth, or find/estimate it) and build.

        ``config.depth`` says what a depth file holds and, without ``depth_path``, where depth
        comes from (embedded, a model, the prior; see :func:`photo3d.depth.resolve_depth`).
        Warnings (a stretched depth map, a weak depth prior) go to the ``photo3d`` logger.
        """
        from .inputs import load_inputs

        config = config or Config()
        rgbd = load_inputs(image_path, depth_path, config.depth, config.inpaint.checkpoints)
        scene = build_scene(rgbd.image, rgbd.depth, config, kind=rgbd.kind, source=rgbd.source, progress=progress)
        p3d = cls(scene, config)
        p3d.depth_source = rgbd.depth_source
        return p3d

    # -- results --------------------------------------------------------------------------
    @property
    def mesh(self) -> Mesh:
        return self.scene.mesh

    @property
    def intrinsics(self) -> Intrinsics:
        """Camera of the (working-resolution) input image."""
        return self.scene.mesh.intrinsics

    def save_ply(self, path) -> Path:
        from .io import write_ply

        return write_ply(self.mesh, path)

    def save_glb(self, path) -> Path:
        """The mesh as binary glTF (+y up, camera looking down -z; see :func:`photo3d.io.write_glb`)."""
        from .io import write_glb

        return write_glb(self.mesh, path)

    def _get_renderer(self):
        if self._renderer is None:
            self._renderer = make_renderer(self.intrinsics, self.config.render)
            self._renderer.set_mesh(self.mesh)
        return self._renderer

    def render(self, pose: np.ndarray, size: tuple[int, int] | None = None,
               intrinsics: Sequence[float] | Intrinsics | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Render the 3D photo from ``pose`` (4x4 camera-to-world, depth units).

        Args:
            size: (width, height) of the output; default the working image size.
            intrinsics: (fx, fy, cx, cy) for that size; default the input camera scaled to it.
        Returns:
            (H, W, 3) uint8 image and (H, W) bool mask of the pixels the mesh covers.
        """
        pose = check_pose(pose)
        k = self.intrinsics
        if size is not None:
            w, h = check_size(*size, "render: size")
        else:
            w, h = k.width, k.height
        cam = _as_intrinsics(intrinsics, w, h)
        if cam is None:
            cam = k.scaled(w / k.width, h / k.height)
            cam = Intrinsics(cam.fx, cam.fy, cam.cx, cam.cy, w, h)
        return self._get_renderer().render(pose, cam)

    def write_video(self, path, path_name: str | Sequence[np.ndarray], *, num_frames: int | None = None,
                    fps: float | None = None, crop: Sequence[float] | None = None, progress: bool = False):
        """Write an mp4 along a named path ("circle", "swing", "zoom-in", "dolly-zoom-in")
        or a list of 4x4 poses. Named paths use the reference ranges scaled to this scene's
        depth units. Returns the :class:`photo3d.video.VideoResult`."""
        from .camera import CameraFrame
        from .video import write_path_video

        if isinstance(path_name, str):
            frames = path_frames(path_name, self.config.video, self.scene.prepared.center_depth,
                                 self.scene.prepared.depth_scale, num_frames)
        else:
            frames = [CameraFrame(pose=check_pose(p, f"poses[{i}]")) for i, p in enumerate(path_name)]
        crop = self.config.video.crop_fractions() if crop is None else crop_fractions(list(crop))
        return write_path_video(self._get_renderer(), frames, self.intrinsics, path,
                                float(fps or self.config.video.fps), crop=crop, progress=progress)

    def write_outputs(self, out_dir, name: str, progress: bool = False) -> dict:
        """The CLI's outputs: PLY and the configured videos under ``out_dir``."""
        return write_outputs(self.scene, out_dir, name, self.config, progress=progress, renderer=self._get_renderer())

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> "Photo3D":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
