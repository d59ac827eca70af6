"""The editable drawing: each edit undoable, the revision moving on every change."""

from __future__ import annotations

import numpy as np
import pytest

from mathpad.ink.document import InkDocument
from mathpad.ink.strokes import Ink, Stroke


def line(x0: float, y0: float, x1: float, y1: float) -> Stroke:
    return Stroke(np.array([[x0, y0], [x1, y1]]))


def test_add_erase_clear_each_undo_and_redo_in_order() -> None:
    doc = InkDocument()
    a, b, c = line(0, 0, 10, 0), line(0, 20, 10, 20), line(0, 40, 10, 40)
    for stroke in (a, b, c):
        doc.add_stroke(stroke)
    doc.erase([1])
    assert doc.ink.strokes == (a, c)
    doc.clear()
    assert doc.ink.is_empty

    assert doc.undo() and doc.ink.strokes == (a, c)
    assert doc.undo() and doc.ink.strokes == (a, b, c)
    assert doc.undo() and doc.ink.strokes == (a, b)
    assert doc.redo() and doc.ink.strokes == (a, b, c)
    assert doc.redo() and doc.ink.strokes == (a, c)


def test_revision_changes_on_every_edit_undo_and_redo_and_never_repeats() -> None:
    doc = InkDocument()
    seen = [doc.revision]
    doc.add_stroke(line(0, 0, 1, 1))
    seen.append(doc.revision)
    doc.undo()
    seen.append(doc.revision)
    doc.redo()
    seen.append(doc.revision)
    doc.replace(Ink((line(5, 5, 6, 6),), {"label": "x"}))
    seen.append(doc.revision)
    assert len(set(seen)) == len(seen)


def test_nothing_to_undo_redo_or_erase_changes_nothing() -> None:
    doc = InkDocument()
    assert not doc.can_undo and not doc.can_redo
    assert doc.undo() is False and doc.redo() is False
    doc.erase([])
    doc.clear()
    assert doc.revision == 0 and not doc.can_undo


def test_a_new_edit_after_undo_drops_the_redo_branch() -> None:
    doc = InkDocument()
    doc.add_stroke(line(0, 0, 1, 1))
    doc.undo()
    assert doc.can_redo
    doc.add_stroke(line(2, 2, 3, 3))
    assert not doc.can_redo


def test_replace_loads_a_file_undoably_with_its_annotations() -> None:
    doc = InkDocument()
    doc.add_stroke(line(0, 0, 1, 1))
    loaded = Ink((line(5, 5, 6, 6),), {"label": "x^2"})
    doc.replace(loaded)
    assert doc.ink == loaded and doc.ink.annotations["label"] == "x^2"
    doc.undo()
    assert doc.ink.strokes == (line(0, 0, 1, 1),)


def test_erasing_an_index_that_does_not_exist_is_a_bug_not_a_silent_no_op() -> None:
    doc = InkDocument(Ink((line(0, 0, 1, 1),)))
    with pytest.raises(IndexError):
        doc.erase([3])
    assert len(doc.ink.strokes) == 1


def test_history_keeps_only_the_last_steps() -> None:
    doc = InkDocument(history_limit=3)
    for i in range(5):
        doc.add_stroke(line(i, 0, i, 1))
    undone = 0
    while doc.undo():
        undone += 1
    assert undone == 3 and len(doc.ink.strokes) == 2


def test_strokes_near_hits_segments_between_samples_and_dots() -> None:
    doc = InkDocument()
    doc.add_stroke(line(0, 0, 100, 0))  # sampled only at its ends
    doc.add_stroke(Stroke(np.array([[50.0, 30.0]])))  # a dot
    doc.add_stroke(line(0, 60, 100, 60))
    assert doc.strokes_near(50, 3, 5) == [0]
    assert doc.strokes_near(50, 15, 5) == []
    assert doc.strokes_near(50, 15, 15) == [0, 1]
    assert doc.strokes_near(52, 31, 3) == [1]
    assert doc.strokes_near(150, 0, 10) == []


def test_a_picture_and_the_ink_over_it_undo_as_steps() -> None:
    from PIL import Image

    from mathpad.ink.document import Picture

    doc = InkDocument()
    drawn = line(0, 0, 10, 10)
    doc.add_stroke(drawn)
    picture = Picture(Image.new("L", (300, 100), 255), "paste")
    doc.set_picture(picture)  # opening a picture starts a page without the old ink
    assert doc.picture is picture and doc.ink.is_empty
    note = line(20, 20, 80, 80)
    doc.add_stroke(note)  # ink on a picture annotates it
    assert doc.picture is picture and doc.ink.strokes == (note,)
    assert doc.page.bounds() == (0.0, 0.0, 300.0, 100.0)
    doc.remove_picture()
    assert doc.picture is None and doc.ink.strokes == (note,)
    doc.clear()
    assert doc.page.is_empty and doc.page.bounds() is None
    assert doc.undo() and doc.ink.strokes == (note,) and doc.picture is None
    assert doc.undo() and doc.picture is picture
    assert doc.undo() and doc.picture is picture and doc.ink.is_empty
    assert doc.undo() and doc.picture is None and doc.ink.strokes == (drawn,)


def test_moving_strokes_is_one_step_and_keeps_the_others() -> None:
    doc = InkDocument()
    a, b = line(0, 0, 10, 0), line(0, 20, 10, 20)
    doc.add_stroke(a)
    doc.add_stroke(b)
    doc.move([1], 5, -5)
    moved = doc.ink.strokes[1]
    assert doc.ink.strokes[0] is a
    assert moved.xy.tolist() == [[5, 15], [15, 15]]
    assert moved.points[:, 2].tolist() == b.points[:, 2].tolist()  # time untouched
    revision = doc.revision
    doc.move([1], 0, 0)
    doc.move([], 3, 3)
    assert doc.revision == revision  # no movement is no step
    assert doc.undo() and doc.ink.strokes == (a, b)
    with pytest.raises(IndexError):
        doc.move([7], 1, 1)
