"""Strokes and inks: immutable values, so undo history and worker threads can share them.

Coordinates are in the writer's own units (device units in MathWriting, canvas units in the
pad); y grows downward. Nothing here knows about pixels: rendering scales the ink itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

Bounds = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64)  # a private copy the caller cannot change
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Stroke:
    """One pen-down to pen-up trace.

    `points` is (N, 3): x, y and t in milliseconds (all zeros when the source has no clock);
    an (N, 2) array gets t = 0. `pressure` is (N,) when the device reports it. Both are
    copied and made read-only, so a stroke never changes under a reader.
    """

    points: np.ndarray
    pressure: np.ndarray | None = None

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] not in (2, 3) or len(points) == 0:
            raise ValueError(f"a stroke needs an (N, 3) or (N, 2) array, got {points.shape}")
        if points.shape[1] == 2:
            points = np.column_stack([points, np.zeros(len(points))])
        object.__setattr__(self, "points", _frozen(points))
        if self.pressure is not None:
            pressure = _frozen(self.pressure)
            if pressure.shape != (len(points),):
                raise ValueError(f"pressure {pressure.shape} does not match {len(points)} points")
            object.__setattr__(self, "pressure", pressure)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stroke):
            return NotImplemented
        if (self.pressure is None) != (other.pressure is None):
            return False
        same_pressure = self.pressure is None or np.array_equal(self.pressure, other.pressure)
        return same_pressure and np.array_equal(self.points, other.points)

    __hash__ = None  # type: ignore[assignment]  # equal by value, but arrays are unhashable

    @property
    def xy(self) -> np.ndarray:
        """The (N, 2) positions, without time."""
        return self.points[:, :2]

    def bounds(self) -> Bounds:
        (xmin, ymin), (xmax, ymax) = self.xy.min(axis=0), self.xy.max(axis=0)
        return float(xmin), float(ymin), float(xmax), float(ymax)


@dataclass(frozen=True)
class Ink:
    """A drawing: strokes in the order they were written, and the file's annotations.

    Annotations are MathWriting's `label`, `normalizedLabel`, `sampleId` and the like; they
    are kept read-only and written back unchanged.
    """

    strokes: tuple[Stroke, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strokes", tuple(self.strokes))
        object.__setattr__(self, "annotations", MappingProxyType(dict(self.annotations)))

    @property
    def is_empty(self) -> bool:
        return not self.strokes

    @property
    def point_count(self) -> int:
        return sum(len(stroke.points) for stroke in self.strokes)

    def bounds(self) -> Bounds:
        """The box around every point; an empty ink has none (ValueError)."""
        if not self.strokes:
            raise ValueError("an empty ink has no bounds")
        boxes = self.stroke_bounds()
        return (
            float(boxes[:, 0].min()),
            float(boxes[:, 1].min()),
            float(boxes[:, 2].max()),
            float(boxes[:, 3].max()),
        )

    def stroke_bounds(self) -> np.ndarray:
        """(S, 4) array of each stroke's xmin, ymin, xmax, ymax."""
        return np.array([stroke.bounds() for stroke in self.strokes], dtype=np.float64).reshape(
            -1, 4
        )

    def subset(self, indices: Iterable[int]) -> Ink:
        """The strokes at `indices` in writing order, without the annotations (a part of a
        drawing does not carry the whole drawing's label)."""
        return Ink(tuple(self.strokes[i] for i in sorted(set(indices))))
