"""A picture's cleanup, done once before any split: paper white, ink dark, specks gone.

Every later step (lines, chunks, the model's images) works on the one `CleanPicture`, so a
chunk never gets levels of its own and a crop holds exactly the ink of its own pieces.

1. Polarity: a border darker than mid-grey is a dark-mode screenshot; it is inverted.
2. Light: the paper's brightness is estimated at every pixel (a high rank filter over a
   coarse copy, so strokes drop out) and divided out, flattening a phone photo's shadow
   or vignetting. The estimate never falls below SHADOW of the border's level, so bold
   dark ink filling a region is not taken for a shadow; a block of pale ink wider than
   the window is (it cannot be told from a shadow), strokes never are.
3. Threshold: darkness is measured against the paper's own noise (its median absolute
   deviation) and the picture's contrast. Pixels darker than STRONG of the contrast seed
   the ink; every pixel above WEAK of it that is connected to a seed belongs to it
   (hysteresis), so a grey pencil stroke stays whole to its faint edges while paper
   texture, which never reaches STRONG, is dropped.
4. Levels: ink is stretched so its dark core is black, and anti-aliased edges keep their
   grey; everything that is not ink is pure white.
5. Specks: a component smaller than SPECK symbol sizes that is faint (never darker than
   FAINT of black: pen strokes reach black after the stretch) or further than DOT_REACH
   symbol sizes from any larger one is dirt; the others are dots and decimal points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from mathpad.imaging.components import boxes_of, component_runs

MIN_CONTRAST = 40  # grey levels between paper and the darkest ink; less is a blank picture
SHADOW = 0.5  # the darkest a shadow may make the paper, as a share of the border's level
STRONG = 0.45  # of the contrast: surely ink
WEAK = 0.12  # of the contrast: ink when it touches surely-ink pixels
NOISE = 5.0  # paper noise deviations below which nothing is ink
SPECK = 0.25  # of the symbol size: dirt when faint or far from other ink
FAINT = 0.75  # of full black: a component never darker than this was not written
DOT_REACH = 0.5  # symbol sizes: the furthest a dot or decimal point is from other ink
COARSE = 160  # px: the longer side of the copy the paper's light is estimated on
WINDOW = 7  # px of the coarse copy: wider than any stroke at that scale
MARGIN_FRACTION = 0.05  # of a crop's ink height: the rendered ink's 10 px around 200 px
MIN_MARGIN = 2


@dataclass(frozen=True, eq=False)
class CleanPicture:
    """Dark ink on white (`gray`, uint8) and its components: runs of ink pixels (row,
    start, end exclusive) with their component, and each component's box."""

    gray: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray


def clean_picture(image: Image.Image) -> CleanPicture:
    """The one cleanup of a loaded or pasted picture (see the module doc)."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    level = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    if level < 128:  # light ink on a dark background
        gray, level = 255 - gray, 255 - level
    paper = _paper(gray, level)
    darkness = np.clip(1 - gray / paper, 0, 1)
    deviation = 1.4826 * float(np.median(np.abs(darkness - np.median(darkness))))
    contrast = float(darkness.max())
    if contrast * 255 < MIN_CONTRAST:
        return _blank(gray.shape)
    strong = darkness >= max(STRONG * contrast, NOISE * deviation)
    weak = darkness >= max(WEAK * contrast, 0.6 * NOISE * deviation)
    rows, starts, ends, labels = component_runs(weak)
    seeded = _seeded(strong, rows, starts, ends, labels)
    keep = seeded[labels]
    rows, starts, ends, labels = rows[keep], starts[keep], ends[keep], labels[keep]
    if len(rows) == 0:
        return _blank(gray.shape)
    _, labels = np.unique(labels, return_inverse=True)
    level = float(np.percentile(darkness[weak], 90))
    levels = 255 * (1 - np.clip(darkness / max(level, 1e-6), 0, 1))
    pixel_rows, pixel_columns = _pixels(rows, starts, ends)
    pixel_labels = np.repeat(labels, ends - starts)
    peak = np.zeros(labels.max() + 1)
    np.maximum.at(peak, pixel_labels, 255 - levels[pixel_rows, pixel_columns])
    boxes = boxes_of(rows, starts, ends, labels)
    keep = _not_specks(boxes, np.bincount(pixel_labels), peak < FAINT * 255)
    runs_kept = keep[labels]
    rows, starts, ends = rows[runs_kept], starts[runs_kept], ends[runs_kept]
    _, labels = np.unique(labels[runs_kept], return_inverse=True)
    return CleanPicture(
        np.rint(levels).astype(np.uint8),
        rows,
        starts,
        ends,
        labels,
        boxes_of(rows, starts, ends, labels),
    )


def crop(clean: CleanPicture, components: np.ndarray) -> Image.Image:
    """Those components alone on white ("L"), trimmed to them with a white margin.

    Only their own pixels are copied: ink of other lines or chunks that reaches into the
    box is left out, and nothing of theirs is cut off.
    """
    if len(components) == 0:
        return Image.new("L", (2 * MIN_MARGIN, 2 * MIN_MARGIN), 255)
    x0, y0 = clean.boxes[components, :2].min(axis=0)
    x1, y1 = clean.boxes[components, 2:].max(axis=0)
    chosen = np.isin(clean.labels, components)
    pixel_rows, pixel_columns = _pixels(
        clean.rows[chosen], clean.starts[chosen], clean.ends[chosen]
    )
    canvas = np.full((int(y1 - y0), int(x1 - x0)), 255, dtype=np.uint8)
    canvas[pixel_rows - y0, pixel_columns - x0] = clean.gray[pixel_rows, pixel_columns]
    margin = max(MIN_MARGIN, round(MARGIN_FRACTION * (y1 - y0)))
    return ImageOps.expand(Image.fromarray(canvas), border=margin, fill=255)


def _paper(gray: np.ndarray, level: float) -> np.ndarray:
    """The paper's brightness at every pixel, at least SHADOW of `level` and never 0."""
    height, width = gray.shape
    step = max(1, round(max(height, width) / COARSE))
    small_size = (max(1, width // step), max(1, height // step))
    floor = max(SHADOW * level, 1.0)
    if min(small_size) < WINDOW:  # a strip: no room to see a shadow; the border's level
        return np.full(gray.shape, max(level, floor), dtype=np.float32)
    small = Image.fromarray(gray.astype(np.uint8)).resize(small_size, Image.Resampling.BOX)
    bright = ImageFilter.RankFilter(WINDOW, WINDOW * WINDOW * 9 // 10)  # ink drops out
    light = small.filter(bright).filter(ImageFilter.BoxBlur(2))
    paper = np.asarray(light.resize((width, height), Image.Resampling.BILINEAR), np.float32)
    return np.maximum(np.maximum(paper, floor), gray)  # paper is never darker than a pixel on it


def _seeded(
    strong: np.ndarray, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """For each component, whether any of its pixels is surely ink."""
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    counts = np.zeros((strong.shape[0], strong.shape[1] + 1), dtype=np.int32)
    np.cumsum(strong, axis=1, out=counts[:, 1:])
    hits = counts[rows, ends] - counts[rows, starts]
    return np.bincount(labels, weights=hits) > 0


def _not_specks(boxes: np.ndarray, pixels: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """Which components to keep: all but small ones that are faint or far from other ink
    (see the module doc)."""
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).astype(np.float64)
    order = np.argsort(sides)
    weight = np.cumsum(pixels[order])
    unit = float(sides[order][np.searchsorted(weight, weight[-1] / 2)])  # by ink, not count
    small = sides < SPECK * unit
    keep = ~(small & faint)
    if small.all() or not small.any():
        return keep
    big = boxes[~small].astype(np.float64)
    spots = boxes[small].astype(np.float64)
    dx = np.maximum(big[:, 0] - spots[:, 2, None], 0) + np.maximum(spots[:, 0, None] - big[:, 2], 0)
    dy = np.maximum(big[:, 1] - spots[:, 3, None], 0) + np.maximum(spots[:, 1, None] - big[:, 3], 0)
    keep[np.flatnonzero(small)] &= np.hypot(dx, dy).min(axis=1) <= DOT_REACH * unit
    return keep


def _pixels(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """Row and column of every pixel of the runs, run after run."""
    lengths = ends - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(rows, lengths), np.repeat(starts, lengths) + offsets


def _blank(shape: tuple[int, ...]) -> CleanPicture:
    empty = np.empty(0, dtype=np.int64)
    return CleanPicture(
        np.full(shape, 255, dtype=np.uint8), empty, empty, empty, empty, np.empty((0, 4), np.int64)
    )
