"""The editable page: a picture (optional) and the ink over it, every edit one undo step.

A page is an immutable value (`Page`: an `Ink` and maybe a `Picture`), so an undo step is
just the previous page: references, not copies of points or pixels. Opening or pasting a
picture, clearing, removing the picture, a stroke, an erase or a move of selected strokes
are each one step, and undo brings back exactly the page before it.

With a picture, the ink's coordinates are the picture's pixels (x right, y down from its
top-left corner), so the ink annotates the picture and the two can be recognized as one
image (`mathpad.imaging.annotate`). Without one, they are the writer's own canvas units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image

from mathpad.ink.strokes import Bounds, Ink, Stroke

HISTORY_LIMIT = 1000  # undo steps kept; older ones are dropped first


@dataclass(frozen=True, eq=False)
class Picture:
    """A loaded picture (already validated by `mathpad.imaging.loading`) and its name."""

    image: Image.Image
    name: str = "picture"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


@dataclass(frozen=True)
class Page:
    """What the canvas shows: the ink and, under it, maybe a picture."""

    ink: Ink = field(default_factory=lambda: Ink(()))
    picture: Picture | None = None

    @property
    def is_empty(self) -> bool:
        return self.ink.is_empty and self.picture is None

    def bounds(self) -> Bounds | None:
        """The box around the picture and every stroke; None for an empty page."""
        return self._bounds

    @cached_property  # a page never changes; a 200,000-point ink takes a while to measure
    def _bounds(self) -> Bounds | None:
        boxes = [self.ink.bounds()] if not self.ink.is_empty else []
        if self.picture is not None:
            width, height = self.picture.size
            boxes.append((0.0, 0.0, float(width), float(height)))
        if not boxes:
            return None
        x0, y0, x1, y1 = zip(*boxes, strict=True)
        return min(x0), min(y0), max(x1), max(y1)


class InkDocument:
    """The current page, with undo/redo and a revision number that changes on every change.

    The GUI tags each recognition request with `revision` and drops results whose tag is no
    longer current. Revisions only grow, also on undo and redo, so a tag is never reused.
    """

    def __init__(self, ink: Ink | None = None, *, history_limit: int = HISTORY_LIMIT) -> None:
        self._page = Page(ink if ink is not None else Ink(()))
        self._undo: list[Page] = []
        self._redo: list[Page] = []
        self._revision = 0
        self._history_limit = history_limit

    @property
    def page(self) -> Page:
        return self._page

    @property
    def ink(self) -> Ink:
        return self._page.ink

    @property
    def picture(self) -> Picture | None:
        return self._page.picture

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
        ink = self.ink
        self._apply(Page(Ink((*ink.strokes, stroke), ink.annotations), self.picture))

    def erase(self, indices: Iterable[int]) -> None:
        """Remove the strokes at `indices` in one step; nothing to erase is not a step."""
        doomed = self._checked(indices)
        if not doomed:
            return
        ink = self.ink
        kept = (s for i, s in enumerate(ink.strokes) if i not in doomed)
        self._apply(Page(Ink(tuple(kept), ink.annotations), self.picture))

    def move(self, indices: Iterable[int], dx: float, dy: float) -> None:
        """Shift the strokes at `indices` by (dx, dy) in one step (a lasso drag)."""
        moving = self._checked(indices)
        if not moving or (dx == 0 and dy == 0):
            return
        shift = np.array([dx, dy, 0.0])
        strokes = tuple(
            Stroke(s.points + shift, s.pressure) if i in moving else s
            for i, s in enumerate(self.ink.strokes)
        )
        self._apply(Page(Ink(strokes, self.ink.annotations), self.picture))

    def clear(self) -> None:
        """Start a new, empty page (undoable): ink, picture and the old file's annotations."""
        if not self._page.is_empty or self.ink.annotations:
            self._apply(Page())

    def replace(self, loaded: Ink | Page) -> None:
        """Put a loaded ink in place of the whole page, undoably (a `Page` made off the GUI
        thread brings its bounds already measured)."""
        self._apply(loaded if isinstance(loaded, Page) else Page(loaded))

    def set_picture(self, picture: Picture, ink: Ink | None = None) -> None:
        """Start a page holding `picture` and no ink (opening, pasting, a snip) or the ink
        that was on it (a restored page), undoably."""
        self._apply(Page(ink if ink is not None else Ink(()), picture))

    def remove_picture(self) -> None:
        """Take the picture away and keep the ink, undoably."""
        if self.picture is not None:
            self._apply(Page(self.ink))

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self._page)
        self._set(self._undo.pop())
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self._page)
        self._set(self._redo.pop())
        return True

    def strokes_near(self, x: float, y: float, radius: float) -> list[int]:
        """Indices of the strokes passing within `radius` of (x, y), for the stroke eraser.

        Distances are to the segments, not only the sampled points, so a fast straight
        stroke is hit anywhere along its length.
        """
        hits = []
        for index, stroke in enumerate(self.ink.strokes):
            xmin, ymin, xmax, ymax = stroke.bounds()
            if x < xmin - radius or x > xmax + radius or y < ymin - radius or y > ymax + radius:
                continue
            if _distance_to_polyline(stroke.xy, np.array([x, y])) <= radius:
                hits.append(index)
        return hits

    def _checked(self, indices: Iterable[int]) -> set[int]:
        chosen = set(indices)
        count = len(self.ink.strokes)
        if not all(0 <= i < count for i in chosen):
            raise IndexError(f"stroke indices {sorted(chosen)} out of range for {count} strokes")
        return chosen

    def _apply(self, page: Page) -> None:
        self._undo.append(self._page)
        del self._undo[: -self._history_limit]
        self._redo.clear()
        self._set(page)

    def _set(self, page: Page) -> None:
        self._page = page
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
