"""Inpainting: an :class:`Inpainter` fills the synthesis regions of a canvas with a new layer.

Two are registered: ``fill`` (:mod:`.fill`, non-learned, context-aware) and ``learned``
(:mod:`.learned`, the edge, depth and colour networks of :mod:`.networks`, batched over
crops by :mod:`.batching`). :func:`make_inpainter` picks one from the inpaint section of
the config. torch is imported only when the learned inpainter is built.
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from ..config import InpaintConfig
from ..core.data import Canvas, Discontinuities, LayerFill, Regions
from ..errors import Photo3DError

log = logging.getLogger("photo3d")

MISSING_WEIGHTS_WARNING = ("inpainting networks not found: using the non-learned fill "
                           "(get the weights with `photo3d weights download edge depth color`)")


class Inpainter(Protocol):
    """Fills synthesis regions: ``inpainter(canvas, discontinuities, regions) -> LayerFill``.

    ``name`` says which method it is ("fill", "learned"); it is recorded with the outputs.
    """

    name: str

    def __call__(self, canvas: Canvas, disc: Discontinuities, regions: Regions) -> LayerFill: ...


class FillInpainter:
    """The non-learned fill (:func:`photo3d.inpaint.fill.fill_regions`) as an :class:`Inpainter`."""

    name = "fill"

    def __init__(self, depth_threshold: float, repaint_margin: bool = True, min_piece: int = 10):
        self.depth_threshold = float(depth_threshold)
        self.repaint_margin = bool(repaint_margin)
        self.min_piece = int(min_piece)

    def __call__(self, canvas: Canvas, disc: Discontinuities, regions: Regions) -> LayerFill:
        from .fill import fill_regions

        return fill_regions(canvas, regions, self.depth_threshold, repaint_margin=self.repaint_margin,
                            min_piece=self.min_piece)


def _make_fill(config: InpaintConfig, depth_threshold: float, required: bool) -> Inpainter:
    return FillInpainter(depth_threshold, bool(config.repaint_margin), int(config.min_piece))


def _make_learned(config: InpaintConfig, depth_threshold: float, required: bool) -> Inpainter | None:
    from .learned import make_learned_inpainter

    return make_learned_inpainter(config, depth_threshold, required=required)


# name -> factory(config, depth_threshold, required) -> Inpainter, or None when not available
INPAINTERS: dict[str, Callable[[InpaintConfig, float, bool], Inpainter | None]] = {
    "fill": _make_fill,
    "learned": _make_learned,
}


def make_inpainter(config: InpaintConfig, depth_threshold: float) -> Inpainter:
    """The inpainter that ``config.method`` asks for: ``fill``; ``learned`` (an error when its
    weights are missing); ``auto``: the networks when their weights are found (or downloaded
    on first use, ``config.download``), else the fill with one warning on the ``photo3d`` logger."""
    if config.method == "auto":
        inpainter = INPAINTERS["learned"](config, depth_threshold, False)
        if inpainter is not None:
            return inpainter
        from ..weights import will_download

        if not will_download(config.download):  # (a failed first-use download has said why)
            log.warning(MISSING_WEIGHTS_WARNING)
        return INPAINTERS["fill"](config, depth_threshold, True)
    if config.method not in INPAINTERS:
        raise Photo3DError(f"inpaint.method: unknown inpainter {config.method!r}; valid: auto, {', '.join(INPAINTERS)}")
    return INPAINTERS[config.method](config, depth_threshold, True)


def __getattr__(name: str):  # torch loads only when a network is used
    if name in ("build_network", "load_network"):
        from . import networks

        return getattr(networks, name)
    raise AttributeError(name)


__all__ = ["FillInpainter", "INPAINTERS", "Inpainter", "build_network", "load_network", "make_inpainter"]
