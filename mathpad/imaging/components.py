"""Connected pieces of ink in a picture, as boxes: the picture's counterpart of strokes.

The splitter treats a picture's 8-connected components the way it treats an ink's strokes,
so one algorithm serves both. Labelling works on horizontal runs of ink pixels, linked
between neighbouring rows and merged by vectorized label propagation: numpy only, and
memory in proportion to the runs, so a 50,000-pixel-wide strip is cheap.
"""

from __future__ import annotations

import numpy as np


def component_boxes(mask: np.ndarray) -> np.ndarray:
    """(n, 4) int array of x0, y0, x1, y1 (ends exclusive), one row per component."""
    return boxes_of(*component_runs(mask))


def component_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row, start, end (exclusive) and component (0 to n - 1, in order of first run) of
    every horizontal run of ink, sorted by row then start."""
    rows, starts, ends = runs(mask)
    if len(rows) == 0:
        return rows, starts, ends, np.empty(0, dtype=np.int64)
    labels = _labels(rows, starts, ends, mask.shape[1] + 2)
    _, compact = np.unique(labels, return_inverse=True)
    return rows, starts, ends, compact.reshape(-1)


def boxes_of(
    rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """(n, 4) boxes of the runs' components 0 to n - 1 (x0, y0, x1, y1, ends exclusive)."""
    if len(rows) == 0:
        return np.empty((0, 4), dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    first = np.flatnonzero(np.diff(labels[order], prepend=-1))
    return np.column_stack(
        [
            np.minimum.reduceat(starts[order], first),
            np.minimum.reduceat(rows[order], first),
            np.maximum.reduceat(ends[order], first),
            np.maximum.reduceat(rows[order], first) + 1,
        ]
    )


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, start and end (exclusive) of every horizontal run, sorted by row then start."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return rows, starts, ends


def _labels(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, stride: int) -> np.ndarray:
    """Component label (its lowest run index) of each run."""
    # Keys order runs by (row, column); a run in the row above touches run i (8-connected)
    # when it ends at or after i's start and starts at or before i's end.
    start_keys, end_keys = rows * stride + starts, rows * stride + ends
    above = (rows - 1) * stride
    low = np.searchsorted(end_keys, above + starts, side="left")
    high = np.searchsorted(start_keys, above + ends, side="right")
    counts = np.maximum(high - low, 0)
    source = np.repeat(np.arange(len(rows)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    target = np.repeat(low, counts) + offsets
    labels = np.arange(len(rows))
    while True:
        lowest = np.minimum(labels[source], labels[target])
        merged = labels.copy()
        np.minimum.at(merged, source, lowest)
        np.minimum.at(merged, target, lowest)
        merged = merged[merged]  # pointer jumping: a label's label is in the same component
        if np.array_equal(merged, labels):
            return labels
        labels = merged
