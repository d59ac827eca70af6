"""Scratch-out and the lasso, read from the ink alone."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from mathpad.ink.gestures import MIN_SWEEPS, inside_lasso, scratched, sweeps
from mathpad.ink.inkml import read_inkml
from mathpad.ink.strokes import Ink, Stroke

REAL_INK = Path(__file__).resolve().parents[1] / ".." / "shared" / "real-ink" / "inks"


def polyline(*corners: tuple[float, float], steps: int = 6) -> Stroke:
    """A stroke through `corners`, sampled between them as a pen would be."""
    points = [corners[0]]
    for (x0, y0), (x1, y1) in pairwise(corners):
        points += [
            (x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for i in range(1, steps + 1)
        ]
    return Stroke(np.array(points, dtype=float))


def zigzag(x0: float, x1: float, y0: float, y1: float, passes: int) -> Stroke:
    """A scribble across [x0, x1], drifting from y0 to y1, `passes` sweeps long."""
    ys = np.linspace(y0, y1, passes + 1)
    return polyline(*((x0 if i % 2 == 0 else x1, y) for i, y in enumerate(ys)))


HANDWRITING = {
    "w": polyline((0, 0), (10, 30), (20, 5), (30, 30), (40, 0)),
    "m": polyline((0, 30), (0, 0), (2, 0), (10, 5), (10, 30), (10, 5), (18, 0), (20, 5), (20, 30)),
    "z": polyline((0, 0), (30, 0), (0, 30), (30, 30)),
    "sum": polyline((30, 0), (0, 0), (15, 20), (0, 40), (30, 40)),
    "s": polyline((30, 5), (15, 0), (0, 8), (30, 22), (15, 30), (0, 25)),
    "line": polyline((0, 0), (100, 0)),
}


@pytest.mark.parametrize("name", HANDWRITING)
def test_handwriting_is_not_a_scratch_out(name: str) -> None:
    stroke = HANDWRITING[name]
    assert sweeps(stroke) < MIN_SWEEPS
    under = Ink((polyline((0, 0), (40, 40)), polyline((0, 40), (40, 0))))
    assert scratched(under, stroke) == []


def test_a_zigzag_over_two_strokes_scratches_exactly_those() -> None:
    x = polyline((10, 10), (40, 40))
    two = polyline((60, 10), (80, 10), (60, 40), (90, 40))
    far = polyline((200, 10), (240, 40))
    ink = Ink((x, two, far))
    scribble = zigzag(0, 100, 8, 42, passes=7)
    assert sweeps(scribble) == 7
    assert scratched(ink, scribble) == [0, 1]


def test_a_vertical_zigzag_counts_too() -> None:
    bar = polyline((20, 0), (20, 60))
    scribble = Stroke(zigzag(0, 60, 10, 30, passes=6).xy[:, ::-1])  # x and y swapped
    assert scratched(Ink((bar,)), scribble) == [0]


def test_a_zigzag_over_nothing_is_ink() -> None:
    assert scratched(Ink((polyline((500, 500), (600, 600)),)), zigzag(0, 100, 0, 20, 7)) == []
    assert scratched(Ink(()), zigzag(0, 100, 0, 20, 7)) == []


def test_short_wiggles_inside_a_long_stroke_are_not_sweeps() -> None:
    wavy = Stroke(np.array([(x, 3 * np.sin(x)) for x in np.linspace(0, 100, 200)]))
    assert sweeps(wavy) == 1


@pytest.mark.skipif(not REAL_INK.is_dir(), reason="../shared/real-ink is not here")
def test_no_stroke_of_real_handwriting_is_a_scratch_out() -> None:
    strokes = [s for path in sorted(REAL_INK.glob("*.inkml")) for s in read_inkml(path).strokes]
    assert len(strokes) > 1000
    assert max(sweeps(s) for s in strokes) < MIN_SWEEPS


def test_the_lasso_takes_strokes_mostly_inside_it() -> None:
    inside = polyline((10, 10), (30, 30))
    half = polyline((40, 20), (80, 20))  # a third inside, two thirds out
    outside = polyline((200, 200), (220, 220))
    ink = Ink((inside, half, outside))
    loop = np.array([(0, 0), (50, 0), (50, 50), (0, 50)], dtype=float)
    assert inside_lasso(ink, loop) == [0]
    assert inside_lasso(ink, loop[:2]) == []  # two points enclose nothing
