"""Ink to image, drawn the way the fine-tune's training images were drawn.

tjoab/latexify rendered MathWriting inks with Cairo at 1 px per ink unit: a tight crop with
a 10 px margin, 1.5 px black strokes with round caps and joins on white, anti-aliased, and a
single-point stroke as a filled disc of the same width; the processor then squashed that
crop to 384 x 384. We do the same after scaling the ink, because our canvas units are not
MathWriting's device units.

The scale is set by the symbol size, not the drawing's height. Ten human-written
MathWriting inks measured: the whole expression is 116-658 units tall (median 362), but
the median stroke's box side (about one symbol) is 58-242 units (median 141). So training
drew a symbol about 140 px tall with a 1.5 px pen, whatever the layout: a tall fraction
and a flat line alike. Scaling a whole drawing to a fixed height (200 units, the first
version's estimate) shrinks a tall fraction's symbols to a third of that and blows a flat
line's up, so the pen is three times too thick or too thin against its symbols. We scale
the median stroke box side to TARGET_SYMBOL_SIZE = 140 units instead; only a drawing that
would pass MAX_RENDER_SIDE pixels is drawn smaller (the squash to 384 px would lose the
difference anyway). `target_height` keeps the old whole-height scale selectable.

Cairo is not a dependency, so the strokes go through matplotlib's Agg rasterizer (used
directly, without pyplot or a figure): it computes exact area coverage like Cairo, and on
handwriting-like test inks it differed from Cairo by 0.1 grey levels on average (mostly
where strokes cross), against 1.1 for Pillow lines drawn at 4x and box-filtered down
(0.5 at 8x), while being 4-10 times faster than either. Pillow cannot draw anti-aliased
wide lines at all.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from matplotlib.backend_bases import GraphicsContextBase
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.path import Path
from matplotlib.transforms import IdentityTransform
from PIL import Image

from mathpad.imaging.normalize import TARGET_ASPECT, pad_to_aspect
from mathpad.ink.strokes import Ink, Stroke

TARGET_SYMBOL_SIZE: float = 140.0  # units: the median stroke box side (see the module doc)
MAX_RENDER_SIDE = 4096  # px: a drawing larger than this at the symbol scale is drawn smaller
MARGIN = 10.0  # px, as in training
LINE_WIDTH = 1.5  # px, as in training

Layout = Literal["3:2", "tight"]

_IDENTITY = IdentityTransform()
_BLACK = (0.0, 0.0, 0.0)


def symbol_size(ink: Ink) -> float:
    """The median of the strokes' larger box sides: about one symbol (0 for a lone dot)."""
    boxes = ink.stroke_bounds()
    return float(np.median(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))


def ink_scale(ink: Ink, target_height: float | None = None) -> float:
    """Pixels per ink unit: the median symbol becomes TARGET_SYMBOL_SIZE units, or, given
    `target_height`, the whole ink becomes that tall.

    With `target_height`, an ink wider than 3:2 is fitted by its width into a 3:2 box of
    that height instead. Either way the drawing's larger side stays within MAX_RENDER_SIDE
    pixels, and a single point, which has no size, is drawn at 1 px per unit.
    """
    xmin, ymin, xmax, ymax = ink.bounds()
    largest = max(xmax - xmin, ymax - ymin)
    if largest <= 0:
        return 1.0
    if target_height is not None:
        return target_height / max(ymax - ymin, (xmax - xmin) / TARGET_ASPECT)
    symbol = symbol_size(ink) or largest  # all dots: the whole drawing is the symbol
    return min(TARGET_SYMBOL_SIZE / symbol, MAX_RENDER_SIDE / largest)


def render_ink(
    ink: Ink, *, target_height: float | None = None, layout: Layout = "3:2"
) -> Image.Image:
    """The ink as an RGB image: "tight" is the training crop, "3:2" pads it centred.

    Scaled by its symbol size, or to `target_height` when given (see `ink_scale`).
    Deterministic, and the same for the ink moved or uniformly scaled. An empty ink gives
    a blank image of the margins alone.
    """
    if target_height is not None and not (math.isfinite(target_height) and target_height > 0):
        raise ValueError(f"target_height must be a positive number, got {target_height}")
    if layout not in ("3:2", "tight"):
        raise ValueError(f"layout must be '3:2' or 'tight', got {layout!r}")
    if ink.is_empty:
        gray = Image.new("L", (int(2 * MARGIN), int(2 * MARGIN)), 255)
    else:
        gray = _draw(ink, ink_scale(ink, target_height))
    return (pad_to_aspect(gray) if layout == "3:2" else gray).convert("RGB")


def _draw(ink: Ink, scale: float) -> Image.Image:
    xmin, ymin, xmax, ymax = ink.bounds()
    # Truncated as Cairo's canvas size was; the epsilon keeps an extent scaled to exactly
    # 200 from losing a pixel to a rounding error of 1e-13.
    width = int((xmax - xmin) * scale + 2 * MARGIN + 1e-6)
    height = int((ymax - ymin) * scale + 2 * MARGIN + 1e-6)
    origin = np.array([xmin, ymin])
    renderer = RendererAgg(width, height, 72)  # 72 dpi: line widths in points are pixels
    line = _context(renderer, LINE_WIDTH)
    disc = _context(renderer, 0.0)
    for stroke in ink.strokes:
        xy = (stroke.xy - origin) * scale + MARGIN
        xy[:, 1] = height - xy[:, 1]  # Agg's y grows upward, ink's downward
        if _is_dot(stroke):
            renderer.draw_path(disc, Path.circle(xy[0], LINE_WIDTH / 2), _IDENTITY, _BLACK)
        else:
            path = Path(xy)
            path.should_simplify = False  # keep every sample, as Cairo does
            renderer.draw_path(line, path, _IDENTITY)
    coverage = np.asarray(renderer.buffer_rgba())[:, :, 3]
    return Image.fromarray(255 - coverage)  # black over white, as the coverage says


def _context(renderer: RendererAgg, line_width: float) -> GraphicsContextBase:
    gc = renderer.new_gc()
    gc.set_linewidth(line_width)
    gc.set_capstyle("round")
    gc.set_joinstyle("round")
    gc.set_foreground(_BLACK)
    gc.set_antialiased(True)
    gc.set_snap(False)  # no nudging of straight segments to pixel centres
    return gc


def _is_dot(stroke: Stroke) -> bool:
    """A stroke that never moves: Cairo's round caps make it a disc, Agg would drop it."""
    return bool(np.all(stroke.xy == stroke.xy[0]))
