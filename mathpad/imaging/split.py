"""Pages to expressions, and expressions far wider than 3:2 to chunks.

Ink and pictures share both algorithms, which work on boxes: an ink's strokes, or a
picture's connected components (`components.py`). Positions only: stroke times are
unreliable (corrections, files without a clock), and strokes keep their writing order.

Lines. Boxes are grouped into bands whose vertical extents overlap (a tall operator or a
superscript overlaps its line); two bands, and every band between them, are one
expression when
- the blank gap between them is under TOUCH of the unit, the median larger side of the
  boxes (about a character's height): limits and scripts written close, a tight fraction;
- or the gap is under STACK units and one band has a single bar-like or big box spanning
  COVER of the other band's width: a fraction bar over its numerator or above its
  denominator, a sum sign over its limits, a hat over its letter. Two lines of equations
  have no such box, and neither do two ordinary symbols one above the other.
Boxes under TINY units (dots, decimal points, specks) neither form nor join bands; each
goes with the line nearest to it. A known weakness: a line that is a single narrow symbol
close above a bar-like stroke of the next line (a minus sign) is taken as stacked onto it.
Written limits far from their operator (lim over "x -> 0" more than TOUCH apart) split.

Chunks. An expression wider than `max_aspect` times its height is cut, left to right, into
chunks no wider than that: each cut goes in the widest blank gap between half and one and a
half times an even share of what is left. Preferring wide gaps over the fewest chunks keeps
a subscript with its letter (their gap is narrow) and cuts beside operators instead.
Boxes whose horizontal extents overlap are never parted, so a fraction bar keeps what it
spans, and so do a root's overline and a big operator's limits. The default is 6:1, not
3:2: the model was trained on whole lines squashed to a square, and a 3:2 slice of a
one-line expression holds two or three symbols. At 6:1 a padded chunk still gives its
symbols about 70 of the 384 pixels in height, and about ten symbols stay together.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from mathpad.imaging.components import component_boxes, runs
from mathpad.imaging.normalize import content_box, ink_mask, to_dark_on_light, trim
from mathpad.ink.strokes import Ink

# Distances and sizes in units (see the module doc), except FLAT and COVER (ratios).
TOUCH = 0.3  # handwritten lines sit further apart; scripts and limits closer
STACK = 1.0  # a bar or a sum sign holds parts at most a character's height away
COVER = 0.6  # of the covered band's width: sloppy bars fall short of their numerator
FLAT = 1.5  # width to height of a bar-like stroke: bars, overlines, hats, arrows
BIG = 1.5  # a sum or product sign is taller than the characters around it
TINY = 0.2  # dots and specks
MAX_CHUNK_ASPECT = 6.0  # width to height; see the module doc


def split_ink_lines(ink: Ink) -> list[Ink]:
    """One ink per expression, top to bottom; a single expression comes back as is."""
    if ink.is_empty:
        return []
    groups = line_groups(ink.stroke_bounds())
    return [ink] if len(groups) == 1 else [ink.subset(group) for group in groups]


def chunk_ink(ink: Ink, *, max_aspect: float = MAX_CHUNK_ASPECT) -> list[Ink]:
    """The expression cut left to right into chunks (see the module doc)."""
    if ink.is_empty:
        return []
    boxes = ink.stroke_bounds()
    spans, owner = _merge_intervals(boxes[:, 0], boxes[:, 2])
    height = boxes[:, 3].max() - boxes[:, 1].min()
    ranges = chunk_ranges(spans, height, max_aspect)
    if len(ranges) == 1:
        return [ink]
    return [ink.subset(np.flatnonzero((owner >= a) & (owner < b))) for a, b in ranges]


def split_image_lines(image: Image.Image) -> list[Image.Image]:
    """One trimmed, dark-on-light RGB crop per expression, top to bottom; none if blank."""
    gray = to_dark_on_light(image)
    boxes = component_boxes(ink_mask(gray))
    if len(boxes) == 0:
        return []
    crops = []
    for group in line_groups(boxes):
        x0, y0 = boxes[group, :2].min(axis=0)
        x1, y1 = boxes[group, 2:].max(axis=0)
        crops.append(trim(gray.crop((int(x0), int(y0), int(x1), int(y1)))).convert("RGB"))
    return crops


def chunk_image(image: Image.Image, *, max_aspect: float = MAX_CHUNK_ASPECT) -> list[Image.Image]:
    """The expression in `image` cut at blank columns into trimmed RGB chunks."""
    gray = to_dark_on_light(image)
    mask = ink_mask(gray)
    box = content_box(mask)
    if box is None:
        return []
    _, y0, _, y1 = box
    _, starts, ends = runs(mask[y0:y1].any(axis=0)[np.newaxis])
    spans = np.column_stack([starts, ends])
    return [
        trim(gray.crop((int(spans[a, 0]), y0, int(spans[b - 1, 1]), y1))).convert("RGB")
        for a, b in chunk_ranges(spans, y1 - y0, max_aspect)
    ]


def line_groups(boxes: np.ndarray) -> list[np.ndarray]:
    """Indices of the (x0, y0, x1, y1) boxes on each line, top to bottom, each sorted."""
    sizes = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    unit = float(np.median(sizes))
    tiny = sizes < TINY * unit
    large = np.flatnonzero(~tiny)
    _, band_of = _merge_intervals(boxes[large, 1], boxes[large, 3])
    bands = [large[band_of == k] for k in range(band_of.max() + 1)]
    lines = [bands[0]]
    for band, joined in zip(bands[1:], _joins(boxes, bands, unit), strict=True):
        if joined:
            lines[-1] = np.concatenate([lines[-1], band])
        else:
            lines.append(band)
    return _attach(boxes, lines, np.flatnonzero(tiny))


def _joins(boxes: np.ndarray, bands: list[np.ndarray], unit: float) -> np.ndarray:
    """Whether bands k and k + 1 belong to one expression, for each k.

    Any two bands within STACK of each other are compared, not only neighbours: a
    fraction's bar can sit in a band of its own between the numerator and an equals sign.
    Joining two bands joins every band between them.
    """
    joins = np.zeros(len(bands) - 1, dtype=bool)
    for i, upper in enumerate(bands):
        for j in range(i + 1, len(bands)):
            lower = bands[j]
            gap = boxes[lower, 1].min() - boxes[upper, 3].max()
            if gap > STACK * unit:
                break
            if (
                gap <= TOUCH * unit
                or _covers(boxes[upper], boxes[lower], unit)
                or _covers(boxes[lower], boxes[upper], unit)
            ):
                joins[i:j] = True
    return joins


def chunk_ranges(spans: np.ndarray, height: float, max_aspect: float) -> list[tuple[int, int]]:
    """[first, end) ranges of the sorted, disjoint (start, end) spans, one per chunk."""
    left, right = float(spans[0, 0]), float(spans[-1, 1])
    limit = max_aspect * height
    if height <= 0:
        return [(0, len(spans))]
    widths = spans[1:, 0] - spans[:-1, 1]  # gap j lies after span j
    ranges, first, start = [], 0, left
    while right - start > limit and first < len(spans) - 1:
        target = (right - start) / math.ceil((right - start) / limit)  # an even share
        candidates = np.arange(first, len(spans) - 1)
        reach = spans[candidates, 1] - start  # the chunk's width when cut after span j
        miss = np.abs(reach - target)
        fits = (reach >= 0.5 * target) & (reach <= min(1.5 * target, limit))
        if fits.any():  # the widest gap; of equal ones, the nearest to an even share
            cut = candidates[fits][np.lexsort((miss[fits], -widths[candidates[fits]]))[0]]
        else:  # no gap near the ideal place: the nearest one
            cut = candidates[np.argmin(miss)]
        ranges.append((first, int(cut) + 1))
        first, start = int(cut) + 1, float(spans[cut + 1, 0])
    ranges.append((first, len(spans)))
    return ranges


def _merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping or touching intervals merged: (m, 2) spans in order, and each
    interval's span index."""
    order = np.argsort(starts, kind="stable")
    reach = np.maximum.accumulate(ends[order])
    opens = np.concatenate([[True], starts[order][1:] > reach[:-1]])
    span_of = np.empty(len(starts), dtype=np.int64)
    span_of[order] = np.cumsum(opens) - 1
    firsts = np.flatnonzero(opens)
    lasts = np.concatenate([firsts[1:], [len(order)]]) - 1
    return np.column_stack([starts[order][firsts], reach[lasts]]), span_of


def _covers(wide: np.ndarray, narrow: np.ndarray, unit: float) -> bool:
    """Whether one bar-like or big box of `wide` spans COVER of `narrow`'s whole width.

    Bar-like (FLAT times wider than high: a fraction bar, an overline, a hat) or big (BIG
    units high: a sum or product sign), so that two ordinary symbols one above the other
    are not taken for a fraction.
    """
    width, height = wide[:, 2] - wide[:, 0], wide[:, 3] - wide[:, 1]
    spanning = (width >= FLAT * height) | (height >= BIG * unit)
    x0, x1 = narrow[:, 0].min(), narrow[:, 2].max()
    overlap = np.minimum(wide[:, 2], x1) - np.maximum(wide[:, 0], x0)
    return bool(np.any(spanning & (overlap >= 0) & (overlap >= COVER * (x1 - x0))))


def _attach(boxes: np.ndarray, lines: list[np.ndarray], tiny: np.ndarray) -> list[np.ndarray]:
    """Give each tiny box to the line whose vertical extent is nearest its centre."""
    tops = np.array([boxes[line, 1].min() for line in lines])
    bottoms = np.array([boxes[line, 3].max() for line in lines])
    centres = (boxes[tiny, 1] + boxes[tiny, 3])[:, np.newaxis] / 2
    distance = np.maximum(tops - centres, 0) + np.maximum(centres - bottoms, 0)
    nearest = distance.argmin(axis=1)
    return [np.sort(np.concatenate([line, tiny[nearest == k]])) for k, line in enumerate(lines)]
