"""The editable drawing: every edit is an undoable operation, so the GUI only forwards events.

Inks are immutable and share their strokes, so an undo step is just the previous `Ink`: a
tuple of references, not a copy of the points. That keeps undo exact and the code small.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mathpad.ink.strokes import Ink, Stroke

HISTORY_LIMIT = 1000  # undo steps kept; older ones are dropped first


class InkDocument:
    """The current ink, with undo/redo and a revision number that changes on every change.

    The GUI tags each recognition request with `revision` and drops results whose tag is no
    longer current. Revisions only grow, also on undo and redo, so a tag is never reused.
    """

    def __init__(self, ink: Ink | None = None, *, history_limit: int = HISTORY_LIMIT) -> None:
        self._ink = ink if ink is not None else Ink(())
        self._undo: list[Ink] = []
        self._redo: list[Ink] = []
        self._revision = 0
        self._history_limit = history_limit

    @property
    def ink(self) -> Ink:
        return self._ink

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def add_stroke(self, stroke: Stroke) -> None:
        self._apply(Ink((*self._ink.strokes, stroke), self._ink.annotations))

    def erase(self, indices: Iterable[int]) -> None:
        """Remove the strokes at `indices` in one step; nothing to erase is not a step."""
        doomed = set(indices)
        if not doomed:
            return
        count = len(self._ink.strokes)
        if not all(0 <= i < count for i in doomed):
            raise IndexError(f"stroke indices {sorted(doomed)} out of range for {count} strokes")
        kept = (s for i, s in enumerate(self._ink.strokes) if i not in doomed)
        self._apply(Ink(tuple(kept), self._ink.annotations))

    def clear(self) -> None:
        """Start a new, empty drawing (undoable); the old file's annotations go with it."""
        if not self._ink.is_empty or self._ink.annotations:
            self._apply(Ink(()))

    def replace(self, ink: Ink) -> None:
        """Put a loaded ink in place of the current one, undoably."""
        self._apply(ink)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._ink)
        self._set(self._undo.pop())
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._ink)
        self._set(self._redo.pop())
        return True

    def strokes_near(self, x: float, y: float, radius: float) -> list[int]:
        """Indices of the strokes passing within `radius` of (x, y), for the stroke eraser.

        Distances are to the segments, not only the sampled points, so a fast straight
        stroke is hit anywhere along its length.
        """
        hits = []
        for index, stroke in enumerate(self._ink.strokes):
            xmin, ymin, xmax, ymax = stroke.bounds()
            if x < xmin - radius or x > xmax + radius or y < ymin - radius or y > ymax + radius:
                continue
            if _distance_to_polyline(stroke.xy, np.array([x, y])) <= radius:
                hits.append(index)
        return hits

    def _apply(self, ink: Ink) -> None:
        self._undo.append(self._ink)
        del self._undo[: -self._history_limit]
        self._redo.clear()
        self._set(ink)

    def _set(self, ink: Ink) -> None:
        self._ink = ink
        self._revision += 1


def _distance_to_polyline(xy: np.ndarray, point: np.ndarray) -> float:
    """Shortest distance from `point` to the polyline through `xy` (a point if N = 1)."""
    if len(xy) == 1:
        return float(np.hypot(*(xy[0] - point)))
    start, direction = xy[:-1], np.diff(xy, axis=0)
    length2 = np.einsum("ij,ij->i", direction, direction)
    along = np.einsum("ij,ij->i", point - start, direction) / np.where(length2 > 0, length2, 1)
    nearest = start + np.clip(along, 0.0, 1.0)[:, None] * direction
    return float(np.hypot(*(nearest - point).T).min())
