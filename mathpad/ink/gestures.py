"""Editing gestures read from the ink itself: scratch-out and the lasso.

Scratch-out is how MyScript, Windows' Math Input Panel and Apple's Math Notes erase: a
quick zigzag drawn over strokes removes them. A zigzag is told from handwriting by its
sweeps: along its main direction the pen turns back at least `MIN_SWEEPS - 1` times, each
sweep covering most of the zigzag's length. Handwriting turns back too ('w', 'm', 'z',
'\\sum' have two or three full turns at most), but not five times along one line.
"""

from __future__ import annotations

import numpy as np

from mathpad.ink.strokes import Ink, Stroke

MIN_SWEEPS = 5  # back-and-forth passes; 'z' and '\sum' have 3-4 at most
SWEEP_SHARE = 0.6  # each pass covers this share of the zigzag's length along its axis
COVERED_SHARE = 0.6  # a stroke is scratched out when this share of its points is covered
MARGIN_SHARE = 0.1  # the covered box reaches this far beyond the zigzag, per side


def sweeps(stroke: Stroke) -> int:
    """How many long passes `stroke` makes back and forth along its main direction."""
    xy = stroke.xy
    if len(xy) < 3:
        return 1 if len(xy) == 2 else 0
    centered = xy - xy.mean(axis=0)
    # the main direction: the largest principal axis of the points
    _, _, axes = np.linalg.svd(centered, full_matrices=False)
    along = centered @ axes[0]
    extent = float(along.max() - along.min())
    if extent <= 0:
        return 0
    least = SWEEP_SHARE * extent
    count, direction = 0, 0.0
    low = high = peak = float(along[0])
    for value in map(float, along[1:]):
        if direction == 0.0:  # the first pass starts once the pen has gone far enough
            low, high = min(low, value), max(high, value)
            if value - low >= least or high - value >= least:
                direction, count, peak = (1.0 if value - low >= least else -1.0), 1, value
        elif (value - peak) * direction > 0:
            peak = value  # still going the same way
        elif (peak - value) * direction >= least:
            direction, count, peak = -direction, count + 1, value  # turned back far enough
    return count


def scratched(ink: Ink, stroke: Stroke) -> list[int]:
    """The strokes of `ink` that `stroke` scratches out; [] when it is not a scratch-out.

    A zigzag over nothing is kept as ink: whatever a writer draws where nothing is written
    is writing.
    """
    if sweeps(stroke) < MIN_SWEEPS or ink.is_empty:
        return []
    x0, y0, x1, y1 = stroke.bounds()
    mx, my = MARGIN_SHARE * (x1 - x0), MARGIN_SHARE * (y1 - y0)
    x0, y0, x1, y1 = x0 - mx, y0 - my, x1 + mx, y1 + my
    hit = []
    for index, other in enumerate(ink.strokes):
        xy = other.xy
        inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        if inside.mean() >= COVERED_SHARE:
            hit.append(index)
    return hit


def inside_lasso(ink: Ink, lasso: np.ndarray) -> list[int]:
    """The strokes of `ink` with most of their points inside the closed polygon `lasso`.

    `lasso` is (N, 2) in the ink's coordinates; it is closed from its last point back to
    its first, as a lasso drawn by hand ends near where it began.
    """
    if len(lasso) < 3:
        return []
    return [
        index
        for index, stroke in enumerate(ink.strokes)
        if _contains(lasso, stroke.xy).mean() >= COVERED_SHARE
    ]


def _contains(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd rule: for each point, whether a ray to the right crosses an odd number of
    the polygon's edges."""
    x, y = points[:, 0:1], points[:, 1:2]
    ax, ay = polygon[:, 0], polygon[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    spans = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing_x = ax + (y - ay) * (bx - ax) / (by - ay)
    crosses = spans & (x < crossing_x)
    return np.count_nonzero(crosses, axis=1) % 2 == 1
