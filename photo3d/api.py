"""The Python API for apps that embed photo3d.

    >>> from photo3d import Photo3D
    >>> p3d = Photo3D.from_rgbd(image, depth)              # HxWx3 uint8, HxW depth (z)
    >>> p3d.save_ply("scene.ply")
    >>> rgb, mask = p3d.render(np.eye(4))                  # identity = the input camera
    >>> p3d.write_video("swing.mp4", "swing")
    >>> p3d.write_video("orbit.gif", "orbit", size=(480, 480), loops=2)
    >>> poses, focal_scales = p3d.path_poses("dolly-out", 60)   # any named path as arrays

Camera convention: poses are 4x4 camera-to-world matrices in the depth's units, the world
frame being the input camera's (+x right, +y down, +z forward; identity = input camera).
Intrinsics are (fx, fy, cx, cy) in pixels with pixel centres at integer coordinates.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from .checks import (
    as_depth_map,
    as_rgb_image,
    check_float_range,
    check_int_range,
    check_intrinsics_values,
    check_pose,
    check_size_pair,
    crop_fractions,
)
from .config import MAX_FPS, MAX_FRAMES, MIN_FPS, Config
from .core.data import Intrinsics, Mesh
from .errors import Photo3DError
from .pipeline import Scene, build_scene, make_renderer, path_frames, video_motion, video_options, write_outputs


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
            config: pipeline settings. The working size is the image's, at most
                ``config.prepare.longer_side`` (960) unless ``config.prepare.enlarge``
                (the same rule as :meth:`from_files` and the command line).
            normalize: True applies the reference's disparity normalisation (depth in
                [1/3, 20], so its camera ranges apply); False keeps the caller's units,
                so renders line up with real cameras.
        """
        image = as_rgb_image(image, "image")
        h, w = image.shape[:2]
        if config is None:
            config = Config()
        elif not isinstance(config, Config):
            raise Photo3DError(f"config: expected a photo3d.config.Config, got {type(config).__name__}")
        scene = build_scene(
            image, as_depth_map(depth, "depth"), config, kind="depth",
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

    def save_ply(self, path, simplify: bool | None = None) -> Path:
        """The mesh as PLY; ``simplify`` (default ``config.output.simplify_ply``): simplified as
        the renderer draws it, colour from a texture beside it (see ``OutputConfig.simplify_ply``)."""
        from .io import write_ply

        if self.config.output.simplify_ply if simplify is None else simplify:
            from .pipeline import simplified_ply_mesh

            return write_ply(simplified_ply_mesh(self.scene, self.config), path)
        return write_ply(self.mesh, path)

    def save_glb(self, path) -> Path:
        """The mesh as binary glTF (+y up, camera looking down -z; see :func:`photo3d.io.write_glb`)."""
        from .io import write_glb

        return write_glb(self.mesh, path)

    def save_web_glb(self, path) -> Path:
        """The web-sized GLB (simplified, textured, quantised, hole guard as node
        ``photo3d_hole_guard``; see :mod:`photo3d.web.glb`), with this photo's video paths."""
        from .io import atomic_write
        from .pipeline import scene_web_glb

        data = scene_web_glb(self.scene, self.config)
        with atomic_write(Path(path)) as tmp:
            tmp.write_bytes(data)
        return Path(path)

    def save_html(self, path, embed: bool = True) -> Path:
        """An interactive 3D photo for any browser: one self-contained HTML page with photo3d's
        WebGL2 viewer and the web GLB embedded (``embed=False``: ``<stem>_web.glb`` written
        beside the page, which loads it; serve that folder, e.g. ``photo3d view``)."""
        import copy

        from .pipeline import write_web

        path = Path(path)
        config = copy.deepcopy(self.config)
        config.output.html_embed = bool(embed)
        config.output.save_web_glb = False
        config.output.save_html = False
        return write_web(self.scene, path.parent, path.stem, config, html_path=path)["html"]

    def _get_renderer(self):
        if self._renderer is None:
            self._renderer = make_renderer(self.intrinsics, self.config.render)
            self._renderer.set_mesh(self.mesh, motion=video_motion(self.scene, self.config.video))
        return self._renderer

    def render(self, pose: np.ndarray, size: tuple[int, int] | None = None,
               intrinsics: Sequence[float] | Intrinsics | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Render the 3D photo from ``pose`` (4x4 camera-to-world, depth units).

        Args:
            size: (width, height) of the output; default the working image size.
            intrinsics: (fx, fy, cx, cy) for that size; default the input camera's largest
                centred window of that aspect ratio, scaled uniformly (cropped, never squashed).
        Returns:
            (H, W, 3) uint8 image and (H, W) bool mask of the pixels the mesh covers.
        """
        from .camera import frame_window

        pose = check_pose(pose)
        k = self.intrinsics
        if size is not None:
            w, h = check_size_pair(size, "render: size")
        else:
            w, h = k.width, k.height
        cam = _as_intrinsics(intrinsics, w, h)
        if cam is None:
            cam = frame_window(k, (w, h)) if (w, h) != (k.width, k.height) else k
        return self._get_renderer().render(pose, cam)

    def path_poses(self, path_name: str, num_frames: int | None = None, *, motion: float | None = None,
                   loops: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A named path as arrays for this scene: ((N, 4, 4) poses, (N,) focal scales).

        Uses this scene's depth units and centre depth; ``motion`` scales the range and
        ``loops`` repeats it (defaults from the config's video section).
        """
        video = self.config.video
        if motion is not None or loops is not None:
            video = self.config.with_changes({k: v for k, v in (("video.motion", motion), ("video.loops", loops))
                                              if v is not None}, "path_poses").video
        frames = path_frames(path_name, video, self.scene.prepared.center_depth, self.scene.prepared.depth_scale,
                             num_frames, intrinsics=self.intrinsics)
        return np.stack([f.pose for f in frames]), np.array([f.focal_scale for f in frames])

    def write_video(self, path, path_name: str | Sequence[np.ndarray], *, num_frames: int | None = None,
                    fps: float | None = None, crop: Sequence[float] | None = None, progress: bool = False,
                    focal_scales: Sequence[float] | None = None, size: tuple[int, int] | None = None,
                    aspect: str | float | None = None, format: str | None = None, stereo: bool | None = None,
                    loops: float | None = None, motion: float | None = None):
        """Write a video along a named path (a reference path, a preset, a motion of the
        config) or a list of 4x4 poses. Named paths use the reference ranges scaled to this
        scene's depth units.

        Args:
            path: output file; its suffix gives the format (.mp4, .webm, .gif, .png/.jpg
                sequences) unless ``format`` does. An unknown suffix is an error.
            focal_scales: with a pose list, a factor on the focal length per frame (a dolly
                zoom, for instance); default 1.
            size, aspect: the output's (width, height) or aspect ratio ("9:16" or a number),
                cropped and scaled from the render, never squashed; default the config's.
            stereo: side-by-side stereo frames; default the config's (``video.stereo``).
            loops, motion: repeats and range scale of a named path; default the config's.
        Other settings (codec, crf, preset, eye separation) come from ``config.video``.
        Returns the :class:`photo3d.video.VideoResult`.
        """
        from .camera import CameraFrame
        from .checks import check_aspect
        from .video import write_path_video

        video = self.config.video
        if num_frames is not None:
            num_frames = check_int_range(num_frames, "num_frames", "write_video", low=1, high=MAX_FRAMES)
        if isinstance(path_name, str):
            if focal_scales is not None:
                raise Photo3DError("write_video: focal_scales go with a list of poses, not a named path")
            changes = {k: v for k, v in (("video.motion", motion), ("video.loops", loops)) if v is not None}
            named = self.config.with_changes(changes, "write_video").video if changes else video
            frames = path_frames(path_name, named, self.scene.prepared.center_depth,
                                 self.scene.prepared.depth_scale, num_frames, intrinsics=self.intrinsics)
        else:
            poses = list(path_name)
            scales = [1.0] * len(poses) if focal_scales is None else list(focal_scales)
            if len(scales) != len(poses):
                raise Photo3DError(f"write_video: {len(scales)} focal_scales for {len(poses)} poses")
            for i, f in enumerate(scales):
                check_float_range(f, f"focal_scales[{i}]", "write_video", low=0, low_open=True)
            frames = [CameraFrame(pose=check_pose(p, f"poses[{i}]"), focal_scale=float(f))
                      for i, (p, f) in enumerate(zip(poses, scales))]
        options = video_options(video, self.scene.prepared.depth_scale)
        if crop is not None:
            options["crop"] = crop_fractions(list(crop))
        if size is not None or aspect is not None:
            options["size"] = check_size_pair(size, "write_video: size") if size is not None else None
            options["aspect"] = check_aspect(aspect, "write_video: aspect") if aspect is not None else None
        if format is not None or Path(path).suffix:
            options["format"] = format
        if stereo is not None:
            options["eye_separation"] = (float(video.eye_separation) * self.scene.prepared.depth_scale
                                         if stereo else None)
        fps = video.fps if fps is None else check_float_range(fps, "fps", "write_video", low=MIN_FPS, high=MAX_FPS)
        return write_path_video(self._get_renderer(), frames, self.intrinsics, path,
                                float(fps), progress=progress, **options)

    def write_outputs(self, out_dir, name: str, progress: bool = False) -> dict:
        """The CLI's outputs: PLY and the configured videos under ``out_dir``, all or none
        (built in a private folder inside ``out_dir``, moved into place together)."""
        from .checks import check_output_name
        from .io import OutputTransaction

        check_output_name(name, "write_outputs: name")
        transaction = OutputTransaction(out_dir, name)
        with transaction as staging:
            result = write_outputs(self.scene, staging, name, self.config, progress=progress,
                                   renderer=self._get_renderer())
        for key in ("ply", "glb"):
            if result.get(key):
                result[key] = transaction.final_path(result[key])
        result["videos"] = {k: dataclasses.replace(v, path=transaction.final_path(v.path))
                            for k, v in result["videos"].items()}
        return result

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> "Photo3D":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
