"""Renders of each method at the target views, and where photo3d's revealed pixels come from."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from photo3d.core.data import Intrinsics, Mesh

from .baselines import plain_mesh, warp_inpaint
from .geometry import ViewGeometry, reference_geometry, warp_surface
from .scenes import TARGET_VIEWS, StereoScene, fill_unknown_disparity, view_shift

__all__ = ['MethodRenders', 'REVEAL_CAUSES', 'camera_pose', 'depth_from_disparity', 'photo3d_renders', 'plain_mesh_renders', 'render_mesh_views', 'reveal_breakdown', 'scene_camera', 'view1_input', 'warp_inpaint_renders']


def scene_camera(width: int, height: int) -> Intrinsics:
    """The benchmark camera: focal max(W, H) px (any focal works), principal point at the
    image centre ((W - 1) / 2, (H - 1) / 2 with pixel centres at integers)."""
    f = float(max(width, height))
    return Intrinsics(f, f, (width - 1) / 2.0, (height - 1) / 2.0, int(width), int(height))


def depth_from_disparity(disparity: np.ndarray, focal: float, min_disparity: float = 0.1) -> np.ndarray:
    """Depth z = f / d in view1-view5 baselines. (H, W) px -> (H, W) float32."""
    return (focal / np.maximum(disparity.astype(np.float64), min_disparity)).astype(np.float32)


def camera_pose(t: float) -> np.ndarray:
    """4x4 camera-to-world pose of the camera moved by ``t`` baselines along +x."""
    pose = np.eye(4)
    pose[0, 3] = t
    return pose


@dataclass
class MethodRenders:
    """What one method produced for one scene.

    renders: {view: ((H, W, 3) uint8 RGB, (H, W) bool covered)}. seconds: build and render time.
    info: method details (e.g. photo3d stage timings, the inpainter used).
    """

    renders: dict[int, tuple[np.ndarray, np.ndarray]]
    build_seconds: float
    render_seconds: float
    info: dict = field(default_factory=dict)
    scene: object | None = None  # photo3d's pipeline Scene, for diagnostics


def render_mesh_views(renderer, mesh: Mesh, views: tuple[int, ...]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Render ``mesh`` (input-camera frame, depth in baselines) at every view's shift with a
    :class:`photo3d.render.Renderer`, at the mesh's image size."""
    renderer.set_mesh(mesh)
    out = {}
    for k in views:
        rgb, mask = renderer.render(camera_pose(view_shift(k)), mesh.intrinsics)
        # "covered" = painted: the mask leaves out photo3d's hole guard, which does paint
        # the pixels it fills (the renderer's background is black)
        out[k] = (rgb, mask | (rgb.max(axis=-1) > 0))
    return out


def view1_input(scene: StereoScene) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    """What every method gets: view1, its disparity with unknowns filled, and the camera.
    Returns (H, W, 3) uint8, (H, W) float32 disparity px, Intrinsics."""
    w, h = scene.size
    return scene.views[1], fill_unknown_disparity(scene.disp1), scene_camera(w, h)


def photo3d_renders(scene: StereoScene, config, renderer, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """Build photo3d's 3D photo from view1 + filled disp1 (``normalize=False``: depth in
    baselines, so poses are real camera moves) and render it at each view's shift."""
    import time

    from photo3d.api import Photo3D

    image, disparity, k = view1_input(scene)
    # the renders must stay pixel-aligned with the other views: no scan-border crop
    config = config.with_changes({"prepare.crop_scan_border": False})
    start = time.perf_counter()
    p3d = Photo3D.from_rgbd(image, depth_from_disparity(disparity, k.fx), intrinsics=(k.fx, k.fy, k.cx, k.cy),
                            config=config, normalize=False)
    built = time.perf_counter()
    renders = render_mesh_views(renderer, p3d.mesh, views)
    done = time.perf_counter()
    info = {"inpaint": p3d.scene.inpaint_method, "layers": int(p3d.mesh.info.layers),
            "stages": {n: round(s, 3) for n, s in p3d.scene.timings.stages}}
    return MethodRenders(renders, built - start, done - built, info, p3d.scene)


def plain_mesh_renders(scene: StereoScene, renderer, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """The plain-mesh baseline (:func:`plain_mesh` of view1 + filled disp1) at each view's shift."""
    import time

    image, disparity, k = view1_input(scene)
    start = time.perf_counter()
    mesh = plain_mesh(image, depth_from_disparity(disparity, k.fx), k)
    built = time.perf_counter()
    renders = render_mesh_views(renderer, mesh, views)
    return MethodRenders(renders, built - start, time.perf_counter() - built, {"faces": mesh.num_faces})


def warp_inpaint_renders(scene: StereoScene, views: tuple[int, ...] = TARGET_VIEWS) -> MethodRenders:
    """The forward-warping + OpenCV inpainting baseline at each view's shift (no mesh: the
    render is complete, its mask all True)."""
    import time

    image, disparity, _ = view1_input(scene)
    start = time.perf_counter()
    renders = {}
    for k in views:
        rgb = warp_inpaint(image, disparity, view_shift(k))
        renders[k] = (rgb, np.ones(rgb.shape[:2], bool))
    return MethodRenders(renders, 0.0, time.perf_counter() - start, {})


# ---------------------------------------------------------------------------------------
# Diagnostics: why a 3D photo misses revealed pixels
# ---------------------------------------------------------------------------------------

REVEAL_CAUSES = (
    "back layer, right depth",
    "back layer, wrong depth",
    "front layer is that surface",
    "synthesis region, no layer kept",
    "no synthesis region",
)


def reveal_breakdown(scene: StereoScene, p3d_scene, renders: dict[int, tuple[np.ndarray, np.ndarray]],
                     link_threshold: float = 1.0,
                     geometry: dict[int, ViewGeometry] | None = None) -> dict[str, dict[str, int]]:
    """Trace each disoccluded target pixel of the views right of view1 (t > 0, where view5
    gives the revealed surface's disparity d) back to the view1 position it needs,
    x = c + t d, and say what photo3d's layered depth image holds there:

    * "back layer, right depth": an inpainted pixel within max(1, 0.05 d) px of d;
    * "back layer, wrong depth": an inpainted pixel at another disparity;
    * "front layer is that surface": no inpainted pixel, but the (filtered) front layer
      there is at d (photo3d's depth edge lies elsewhere than the ground truth's);
    * "synthesis region, no layer kept": the position was to be filled but no pixel was kept
      (e.g. the fill came out not behind the front surface and was dropped);
    * "no synthesis region": nothing was to be filled there.

    Args:
        p3d_scene: :class:`photo3d.pipeline.Scene` built from this scene's view1 (one
            inpainted layer, canvas padded by ``canvas.pad``).
        renders: {view: (rgb, covered)} of that 3D photo.
        geometry: {view: :func:`reference_geometry` of that view with ``link_threshold``},
            when the caller has it already; computed here otherwise.
    Returns:
        {"all": {cause: pixels}, "empty": {cause: pixels left empty in the render}}.
    """
    canvas = p3d_scene.canvas
    pad = canvas.pad
    h, w = scene.disp1.shape
    crop = (slice(pad, pad + h), slice(pad, pad + w))
    to_px = p3d_scene.mesh.intrinsics.fx / canvas.depth_scale  # detection disparity -> px
    back = p3d_scene.fill.mask[crop]
    back_d = p3d_scene.fill.disparity[crop] * to_px
    front_d = canvas.detect_disparity[crop] * to_px
    synthesis = p3d_scene.regions.synthesis_label[crop] > 0
    known5 = scene.disp5 > 0
    filled5 = fill_unknown_disparity(scene.disp5)
    out = {"all": dict.fromkeys(REVEAL_CAUSES, 0), "empty": dict.fromkeys(REVEAL_CAUSES, 0)}
    for view, (_, covered) in renders.items():
        t = view_shift(view)
        if t <= 0:
            continue
        g = geometry[view] if geometry is not None else reference_geometry(scene.disp1, scene.disp5, t, link_threshold)
        revealed = warp_surface(filled5, known5, t - 1.0, link_threshold).disparity
        ys, cs = np.nonzero(g.disoccluded)
        d = revealed[ys, cs]
        xs = np.rint(cs + t * d).astype(np.int64)
        ok = (xs >= 0) & (xs < w)
        ys, cs, xs, d = ys[ok], cs[ok], xs[ok], d[ok]
        tol = np.maximum(1.0, 0.05 * d)
        has_back = back[ys, xs]
        right = has_back & (np.abs(back_d[ys, xs] - d) <= tol)
        front = ~has_back & (np.abs(front_d[ys, xs] - d) <= tol)
        rest = ~has_back & ~front
        causes = {
            REVEAL_CAUSES[0]: right,
            REVEAL_CAUSES[1]: has_back & ~right,
            REVEAL_CAUSES[2]: front,
            REVEAL_CAUSES[3]: rest & synthesis[ys, xs],
            REVEAL_CAUSES[4]: rest & ~synthesis[ys, xs],
        }
        empty = ~covered[ys, cs]
        for name, sel in causes.items():
            out["all"][name] += int(sel.sum())
            out["empty"][name] += int((sel & empty).sum())
    return out
