"""Strokes and inks are values: copied in, read-only, equal by content."""

from __future__ import annotations

import numpy as np
import pytest

from mathpad.ink.strokes import Ink, Stroke


def test_stroke_takes_xy_points_and_gives_them_zero_time() -> None:
    stroke = Stroke(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert stroke.points.shape == (2, 3)
    assert stroke.points[:, 2].tolist() == [0.0, 0.0]


def test_stroke_copies_its_input_and_cannot_be_changed() -> None:
    source = np.array([[1.0, 2.0, 0.0]])
    stroke = Stroke(source)
    source[0, 0] = 99.0
    assert stroke.points[0, 0] == 1.0
    with pytest.raises(ValueError):
        stroke.points[0, 0] = 5.0


@pytest.mark.parametrize(
    ("points", "pressure"),
    [
        (np.zeros((0, 3)), None),
        (np.zeros((3, 4)), None),
        (np.zeros(3), None),
        (np.zeros((3, 3)), np.zeros(2)),
    ],
)
def test_stroke_rejects_arrays_of_the_wrong_shape(points: np.ndarray, pressure) -> None:
    with pytest.raises(ValueError):
        Stroke(points, pressure)


def test_strokes_are_equal_by_content_including_pressure() -> None:
    points = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert Stroke(points) == Stroke(points.copy())
    assert Stroke(points, np.array([0.1, 0.2])) == Stroke(points, np.array([0.1, 0.2]))
    assert Stroke(points) != Stroke(points, np.array([0.1, 0.2]))
    assert Stroke(points) != Stroke(points + 1)


def test_ink_bounds_cover_every_stroke() -> None:
    ink = Ink((Stroke(np.array([[0.0, 5.0], [2.0, 1.0]])), Stroke(np.array([[-3.0, 4.0]]))))
    assert ink.bounds() == (-3.0, 1.0, 2.0, 5.0)
    assert ink.point_count == 3
    with pytest.raises(ValueError):
        Ink(()).bounds()


def test_a_subset_keeps_writing_order_and_drops_the_label() -> None:
    strokes = tuple(Stroke(np.array([[float(i), 0.0]])) for i in range(4))
    ink = Ink(strokes, {"label": "x"})
    part = ink.subset([3, 1])
    assert part.strokes == (strokes[1], strokes[3])
    assert dict(part.annotations) == {}


def test_annotations_are_read_only() -> None:
    labels = {"label": "x"}
    ink = Ink((), labels)
    labels["label"] = "y"
    assert ink.annotations["label"] == "x"
    with pytest.raises(TypeError):
        ink.annotations["label"] = "z"  # type: ignore[index]
