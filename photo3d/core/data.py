"""The data passed between photo3d's stages: one dataclass per stage product (numpy arrays
inside, no behaviour beyond small views and checks).

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

# LDI link slots and their steps (x right, y down).
LEFT, RIGHT, UP, DOWN = 0, 1, 2, 3
OPPOSITE = np.array([RIGHT, LEFT, DOWN, UP])
STEP_X = np.array([-1, 1, 0, 0])
STEP_Y = np.array([0, 0, -1, 1])


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

    def pixel_squares(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(4M, 3) float32 camera-frame corners (top-left, top-right, bottom-right, bottom-left)
        of the M pixel squares centred at pixels (x, y) (M,), each flat at its depth z (M,)."""
        corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]], dtype=np.float32)
        cx = np.asarray(x)[:, None] + corners[None, :, 0]
        cy = np.asarray(y)[:, None] + corners[None, :, 1]
        cz = np.repeat(np.asarray(z, np.float32)[:, None], 4, 1)
        return self.unproject(cx, cy, cz).reshape(-1, 3).astype(np.float32)


@dataclass
class MeshTexture:
    """Colour from a texture instead of vertex colours.

    uv: (V, 2) float32 per vertex; (0, 0) is the texture's top-left corner, (1, 1) its
        bottom-right corner.
    image: (H, W, 3) uint8 RGB texture.
    projective: the uv are affine in the input image (the renderer's simplified patches): photo3d's
        renderer interpolates them in the input camera's image, not along the 3D triangles (as
        other viewers do, which shifts texels inside large slanted triangles).
    """

    uv: np.ndarray
    image: np.ndarray
    projective: bool = False


@dataclass
class GuardGeometry:
    """The hole guard (:mod:`photo3d.core.guard`): background-coloured triangles that the
    renderer draws behind everything, so that disocclusions wider than the inpainted layer
    and the area beyond the extrapolated border never show the clear colour.

    vertices: (G, 3) float32 camera-space points; colors: (G, 3) uint8; faces: (K, 3) int32.
    exportable: (K,) bool, the faces that may go into an exported mesh (``--export-guard``):
        the border skirt, the walls past the inpainted layer's edges and the stretched quads
        of cuts with no inpainted pixel behind them; the others would hide the inpainted
        layer in a viewer that draws them where they are. None = none.
    """

    vertices: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    exportable: np.ndarray | None = None

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])


@dataclass
class SoftEdge:
    """The foreground's soft rim (:mod:`photo3d.core.soft_edge`), for a renderer that blends.

    alpha: (V,) uint8 opacity per vertex (255 = opaque); below 255 only on the edge facets of
        foreground pixels beside a cut whose colour mixes foreground and background.
    colors: (V, 3) uint8 straight (not premultiplied) colours to draw with ``alpha``: the rim's
        colour freed of the background's share. ``Mesh.colors`` keeps the photo's colours,
        for viewers that draw no alpha (the opaque mesh looks as it did without a soft edge).
    opaque: (V, 3) uint8 colours for a viewer that draws no alpha (the PLY): ``colors``, but the
        rim's facets opaque in the colour freed of the background's share (kept within the
        colours of the foreground and the pixel: no outline), so that no background colour rims
        the foreground in other viewers either (None: ``Mesh.colors``). (Giving the rim pixel's
        vertex that colour too cost 0.1-0.2 dB more against the true views.)
    Replace all three with ``Mesh.colors`` when changing a mesh's colours (or set ``soft=None``).
    fringe_vertices (M, 3) float32, fringe_colors (M, 4) uint8 RGBA (straight alpha) and
    fringe_faces (K, 3) int32 (indices into the fringe's own vertices): the foreground's outer
    fringe, blended squares at the far-side pixels of cuts whose photo colour carried a share of
    the foreground (:func:`photo3d.core.soft_edge.outer_fringe`), at the foreground's depth so
    they move with it. Not part of ``Mesh.faces``: only a renderer that blends draws them
    (exports and opaque viewers leave them out). None = no fringe.
    """

    alpha: np.ndarray
    colors: np.ndarray
    opaque: np.ndarray | None = None
    fringe_vertices: np.ndarray | None = None
    fringe_colors: np.ndarray | None = None
    fringe_faces: np.ndarray | None = None

    @property
    def num_soft(self) -> int:
        """Vertices drawn with an alpha below 255."""
        return int((self.alpha < 255).sum())

    def blended(self, faces: np.ndarray) -> np.ndarray:
        """(F,) bool: the faces whose three vertices have an alpha below 255 (the rim's facets,
        drawn blended; the rest is opaque)."""
        return (self.alpha[faces] < 255).all(axis=1)


def file_colors(mesh: "Mesh") -> np.ndarray:
    """(V, 3) uint8 the colours an opaque mesh file (PLY) holds: ``SoftEdge.opaque`` where the
    mesh has a soft rim (a file's viewer draws it opaque), else ``Mesh.colors``."""
    soft = mesh.soft
    if soft is not None and soft.opaque is not None and soft.opaque.shape == mesh.colors.shape:
        return soft.opaque
    return mesh.colors


@dataclass
class MeshInfo:
    """How a mesh was made; written into the PLY header as comments (in this order)."""

    layers: int = 1
    inpaint: str | None = None
    center_depth: float | None = None
    depth_scale: float | None = None

    def items(self) -> list[tuple[str, int | float | str]]:
        return [(k, v) for k, v in (("layers", self.layers), ("inpaint", self.inpaint),
                                    ("center_depth", self.center_depth), ("depth_scale", self.depth_scale))
                if v is not None]


@dataclass
class Mesh:
    """A triangle mesh in the input camera's frame (see module conventions).

    vertices: (V, 3) float32 camera-space points.
    colors:   (V, 3) uint8 RGB per vertex.
    faces:    (F, 3) int32 vertex indices.
    intrinsics: camera of the input image (image-sized, not the padded canvas).
    texture: colour from a texture instead of ``colors`` (optional).
    guard: the render-only hole guard (optional; not part of ``faces``).
    info: how the mesh was made.
    soft: the soft foreground rim, alpha and colours per vertex (optional; None = opaque).
    """

    vertices: np.ndarray
    colors: np.ndarray
    faces: np.ndarray
    intrinsics: Intrinsics
    texture: MeshTexture | None = None
    guard: GuardGeometry | None = None
    info: MeshInfo = field(default_factory=MeshInfo)
    soft: SoftEdge | None = None

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])


@dataclass
class PreparedRGBD:
    """The photo at working resolution with cleaned depth.

    image: (H, W, 3) uint8 RGB.
    depth: (H, W) float32 camera z (normalised units, or the caller's when not normalised).
    detect_disparity: (H, W) float32 disparity in normalised units (max ~ disp_rescale),
        used for every threshold.
    intrinsics: camera of the working image.
    center_depth: depth at the image centre (the reference's mean_loc_depth).
    depth_scale: caller depth units per normalised unit (1.0 when normalised); camera
        path shifts are multiplied by it.
    """

    image: np.ndarray
    depth: np.ndarray
    detect_disparity: np.ndarray
    intrinsics: Intrinsics
    center_depth: float
    depth_scale: float = 1.0


@dataclass
class Canvas:
    """The working image on a canvas padded by ``pad`` pixels on every side.

    color: (Hc, Wc, 3) uint8; depth, detect_disparity: (Hc, Wc) float32;
    image_mask: (Hc, Wc) bool, True on the original image's pixels (False in the band,
    which the border fill extends); intrinsics: of the canvas (principal point + pad).
    """

    color: np.ndarray
    depth: np.ndarray
    detect_disparity: np.ndarray
    image_mask: np.ndarray
    pad: int
    intrinsics: Intrinsics
    depth_scale: float = 1.0  # depth * detect_disparity everywhere

    @property
    def shape(self) -> tuple[int, int]:
        return self.depth.shape



@dataclass
class Discontinuities:
    """Links of the front layer and the depth edges that cut them.

    link_right: (Hc, Wc-1) bool, True where pixel (x, y) and (x+1, y) stay connected.
    link_down:  (Hc-1, Wc) bool, True where (x, y) and (x, y+1) stay connected.
    near_edge / far_edge: (Hc, Wc) bool, pixels on the near (foreground) / far (background)
        side of at least one cut link.
    segment: (Hc, Wc) int32, the discontinuity segment (1..S) of each far-edge pixel, 0 elsewhere.
    num_segments: S.
    """

    link_right: np.ndarray
    link_down: np.ndarray
    near_edge: np.ndarray
    far_edge: np.ndarray
    segment: np.ndarray
    num_segments: int



@dataclass
class LDI:
    """x, y: (N,) int32 canvas positions; depth: (N,) float32 camera z; disparity: (N,)
    float32 detection disparity (normalised units); color: (N, 3) uint8; links: (N, 4) int32;
    layer: (N,) int16 (0 = the photo's front layer, 1 = inpainted); shape: canvas (H, W);
    intrinsics: of the canvas; pad: canvas border width (canvas x = image x + pad).
    """

    x: np.ndarray
    y: np.ndarray
    depth: np.ndarray
    disparity: np.ndarray
    color: np.ndarray
    links: np.ndarray
    layer: np.ndarray
    shape: tuple[int, int]
    intrinsics: Intrinsics
    pad: int

    @property
    def num_pixels(self) -> int:
        return int(self.x.shape[0])

    def position_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixels stacked at each canvas position, front to back.

        Returns (order, offsets): pixels at position ``i = y * W + x`` are
        ``order[offsets[i]:offsets[i + 1]]`` sorted by increasing depth.
        """
        pos = self.y.astype(np.int64) * self.shape[1] + self.x
        order = np.lexsort((self.depth, pos))
        counts = np.bincount(pos, minlength=self.shape[0] * self.shape[1])
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return order, offsets

    def check_links(self) -> None:
        """Raise AssertionError unless links are symmetric and join 4-neighbours."""
        for d in range(4):
            src = np.nonzero(self.links[:, d] >= 0)[0]
            dst = self.links[src, d]
            assert np.array_equal(self.links[dst, OPPOSITE[d]], src), "asymmetric link"
            assert np.array_equal(self.x[dst] - self.x[src], np.full(src.size, STEP_X[d])), "link not a neighbour"
            assert np.array_equal(self.y[dst] - self.y[src], np.full(src.size, STEP_Y[d])), "link not a neighbour"

    def to_networkx(self, x0: int = 0, y0: int = 0, x1: int | None = None, y1: int | None = None):
        """The pixel graph inside a canvas window as a networkx Graph (a debugging aid and
        test oracle; use small windows). Nodes are pixel indices with x, y, depth, layer."""
        import networkx as nx

        x1 = self.shape[1] if x1 is None else x1
        y1 = self.shape[0] if y1 is None else y1
        inside = (self.x >= x0) & (self.x < x1) & (self.y >= y0) & (self.y < y1)
        idx = np.nonzero(inside)[0]
        g = nx.Graph()
        for p in idx.tolist():
            g.add_node(p, x=int(self.x[p]), y=int(self.y[p]), depth=float(self.depth[p]), layer=int(self.layer[p]))
        for d in (RIGHT, DOWN):
            q = self.links[idx, d]
            ok = (q >= 0) & inside[np.maximum(q, 0)]
            g.add_edges_from(zip(idx[ok].tolist(), q[ok].tolist()))
        return g




@dataclass
class LayerFill:
    """A filled layer on the canvas, produced by an inpainting method.

    mask: (H, W) bool positions that receive a new pixel; depth, disparity: (H, W) float32
    (read where ``mask``); color: (H, W, 3) uint8.
    """

    mask: np.ndarray
    depth: np.ndarray
    disparity: np.ndarray
    color: np.ndarray
    repaint: np.ndarray | None = None
    """(H, W) bool front-layer positions whose colour becomes ``color`` there: the context
    margin next to a cut, re-painted from the background (mixed pixels left on the
    background would draw a ghost outline of the foreground); None = none."""



@dataclass
class Regions:
    """The paper's regions, per discontinuity segment.

    context_label: (H, W) int32, segment id of front-layer context pixels (0 = none).
    synthesis_label: (H, W) int32, segment id of positions to fill behind the front (0 = none).
    num_segments: S (ids run 1..S; a segment may have empty regions).
    margin_label: (H, W) int32, segment id of the far-side front pixels next to the cut
        (``regions.context_margin`` steps; the reference's ``erode_context``): they mix
        foreground and background colour, so they are no context (no colour source); an
        inpainter re-paints them from the context on its way into the synthesis region.
        None = no margin.
    """

    context_label: np.ndarray
    synthesis_label: np.ndarray
    num_segments: int
    margin_label: np.ndarray | None = None

    def margin(self) -> np.ndarray:
        """(H, W) int32 margin labels (zeros when there is no margin)."""
        return np.zeros_like(self.context_label) if self.margin_label is None else self.margin_label
