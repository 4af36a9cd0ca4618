"""Novel-view accuracy on real multi-view photographs (Middlebury 2005/2006): the evaluation
behind ``benchmarks/nvs_eval.py``. Modules: :mod:`.scenes` (loading), :mod:`.geometry` (which
target pixels are seen, revealed, outside), :mod:`.metrics`, :mod:`.baselines` (plain mesh,
warp + inpaint), :mod:`.methods` (renders of each method, reveal breakdown).

A Middlebury 2005/2006 scene has seven rectified views equally spaced along x and the
ground-truth disparity of view1 (``disp1``) and view5 (``disp5``), both measured between
view1 and view5. With ``d1`` that disparity in pixels, the camera of view k sits at
``t = (k - 1) / 4`` view1-view5 baselines along +x, and a point at column x of view1 is at
column ``x - t * d1`` of view k. So a 3D photo built from view1 + d1 (depth ``Z = f / d1``
in baselines, any focal f, principal point at the image centre) rendered at pose
``[I | (t, 0, 0)]`` can be compared with the photograph of view k pixel by pixel.

Which target pixels are scored (:func:`reference_geometry`). View1's ground-truth surface is
rasterised, row by row, into the target: every view1 pixel covers its own unit footprint
and two horizontal neighbours whose disparities differ by at most ``link_threshold`` px are
joined by a linear segment; the nearest surface (largest disparity) wins at each target
pixel. Then a target pixel is

* *seen*: covered, and the winning surface comes from view1 pixels with known disparity;
* *gap*: not covered, with view1 pixels landing both left and right of it in its row: it
  looks behind a depth edge (revealed background);
* *outside*: not covered and beyond the row's warped extent: outside view1's field of view;
* neither: covered only by surface of unknown (filled) disparity: excluded.

*Disoccluded* = gap pixels that the other ground truth confirms as real surface: for
targets right of view1 (t > 0) they must be covered by view5's known-disparity surface,
rasterised the same way (view5 pixel x5 lands at ``x5 + (1 - t) d5``). Left of view1
(t < 0) no ground truth sees the revealed regions (they are left of foreground objects,
which view5 sees even less of), so all gap pixels count. *Valid* (the "all" score) =
seen | disoccluded. The photograph is the colour ground truth everywhere.

Scores: PSNR over the masked pixels' RGB values (MSE pooled over the mask), and SSIM
(``skimage.metrics.structural_similarity``, 7x7 window, ``channel_axis``) computed on the
whole image and averaged over the mask. Empty fraction: target pixels the render leaves
uncovered (mask False), over the whole frame.

Baselines: :func:`plain_mesh` (view1's pixel grid, every neighbour linked, triangles
stretched across depth edges) and :func:`warp_inpaint` (z-buffered nearest-pixel splat of
view1 into the target, holes filled by ``cv2.inpaint``).

Units: disparities are pixels of the working (resized) image; shifts ``t`` are in
view1-view5 baselines; images are (H, W, 3) uint8 RGB.
"""
from __future__ import annotations

from .baselines import *  # noqa: F401,F403
from .geometry import *  # noqa: F401,F403
from .methods import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .scenes import *  # noqa: F401,F403
