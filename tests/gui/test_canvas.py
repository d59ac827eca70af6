"""The canvas turns real mouse, tablet and touch events into undoable strokes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QInputDevice, QPalette, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mathpad.ink.document import InkDocument
from mathpad.ink.strokes import Ink, Stroke
from mathpad.ui.canvas import InkCanvas

from .conftest import line

Draw = Callable[[InkCanvas, list[tuple[int, int]]], None]


@pytest.fixture
def canvas(qtbot) -> InkCanvas:
    made = InkCanvas(InkDocument(), pen_width=3.0)
    qtbot.addWidget(made)
    made.resize(400, 300)
    made.show()
    qtbot.waitExposed(made)
    return made


def test_a_drawn_stroke_lands_in_the_ink(canvas: InkCanvas, draw: Draw, qtbot) -> None:
    with qtbot.waitSignal(canvas.ink_changed, timeout=1000):
        draw(canvas, line((20, 30), (120, 80)))
    (stroke,) = canvas.document.ink.strokes
    assert stroke.points.shape == (9, 3)
    assert tuple(stroke.xy[0]) == (20, 30)
    assert tuple(stroke.xy[-1]) == (120, 80)
    times = stroke.points[:, 2]
    assert (times[1:] >= times[:-1]).all()  # a clock in milliseconds, never going back
    assert stroke.pressure is None  # a mouse has none


def test_moves_paint_only_the_new_segment(canvas: InkCanvas, draw: Draw, monkeypatch) -> None:
    draw(canvas, line((20, 200), (200, 200)))  # the first stroke also clears the hint
    redraws: list[int] = []
    monkeypatch.setattr(canvas, "_redraw", lambda: redraws.append(1))
    areas = []
    original_update = canvas.update
    monkeypatch.setattr(canvas, "update", lambda *a: (areas.append(a), original_update(*a)))
    QTest.mousePress(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(10, 10)
    )
    for x in range(20, 200, 10):
        QTest.mouseMove(canvas, QPoint(x, 10))
    QTest.mouseRelease(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 10)
    )
    assert not redraws
    layer = canvas._layer
    assert layer.pixelColor(10, 10).alpha() == 255  # the dot at press
    assert layer.pixelColor(105, 10).alpha() == 255  # the middle of a segment
    assert layer.pixelColor(105, 30).alpha() == 0
    assert len(areas) == 19  # the dot at press, then one per move
    assert all(len(a) == 1 and a[0].width() < 30 and a[0].height() < 15 for a in areas)


def test_undo_and_redo(canvas: InkCanvas, draw: Draw) -> None:
    draw(canvas, line((20, 30), (120, 30)))
    draw(canvas, line((20, 60), (120, 60)))
    assert len(canvas.document.ink.strokes) == 2
    canvas.undo()
    assert len(canvas.document.ink.strokes) == 1
    canvas.redo()
    assert len(canvas.document.ink.strokes) == 2


def test_the_eraser_removes_touched_strokes_in_one_step(
    canvas: InkCanvas, draw: Draw, qtbot
) -> None:
    draw(canvas, line((20, 40), (200, 40)))
    draw(canvas, line((20, 120), (200, 120)))
    draw(canvas, line((20, 200), (200, 200)))
    canvas.set_tool("eraser")
    with qtbot.waitSignal(canvas.ink_changed, timeout=1000):
        draw(canvas, line((100, 20), (100, 130)))  # crosses the first two strokes
    (kept,) = canvas.document.ink.strokes
    assert kept.xy[0, 1] == 200
    canvas.undo()
    assert len(canvas.document.ink.strokes) == 3


def test_an_eraser_drag_over_nothing_is_not_an_edit(canvas: InkCanvas, draw: Draw) -> None:
    draw(canvas, line((20, 40), (200, 40)))
    revision = canvas.document.revision
    canvas.set_tool("eraser")
    draw(canvas, line((20, 250), (200, 250)))
    assert canvas.document.revision == revision


def test_tablet_pressure_is_recorded(canvas: InkCanvas, qtbot) -> None:
    pen = QPointingDevice(
        "test pen", 7, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3,
    )  # fmt: skip

    def send(kind: QTabletEvent.Type, x: float, pressure: float) -> None:
        where = QPointF(x, 50)
        buttons = (
            Qt.MouseButton.NoButton
            if kind == QTabletEvent.Type.TabletRelease
            else Qt.MouseButton.LeftButton
        )
        event = QTabletEvent(
            kind, pen, where, canvas.mapToGlobal(where), pressure, 0, 0, 0, 0, 0,
            Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons,
        )  # fmt: skip
        QApplication.sendEvent(canvas, event)

    send(QTabletEvent.Type.TabletPress, 10, 0.2)
    send(QTabletEvent.Type.TabletMove, 30, 0.6)
    send(QTabletEvent.Type.TabletMove, 50, 0.9)
    send(QTabletEvent.Type.TabletRelease, 50, 0.0)
    (stroke,) = canvas.document.ink.strokes
    assert stroke.pressure is not None
    assert stroke.pressure.tolist() == pytest.approx([0.2, 0.6, 0.9])


def test_touch_draws_a_stroke(canvas: InkCanvas, qtbot) -> None:
    screen = QTest.createTouchDevice()
    QTest.touchEvent(canvas, screen).press(0, QPoint(30, 30)).commit()
    QTest.touchEvent(canvas, screen).move(0, QPoint(60, 40)).commit()
    QTest.touchEvent(canvas, screen).move(0, QPoint(90, 50)).commit()
    QTest.touchEvent(canvas, screen).release(0, QPoint(90, 50)).commit()
    (stroke,) = canvas.document.ink.strokes
    assert len(stroke.points) == 3
    # a touch point is an area: Qt reports its center, a pixel or two off the test's point
    assert stroke.xy[0].tolist() == pytest.approx([30, 30], abs=3)
    assert stroke.xy[-1].tolist() == pytest.approx([90, 50], abs=3)


def test_loaded_ink_is_scaled_into_view_and_undoable(canvas: InkCanvas, qtbot) -> None:
    far = Ink((Stroke([[5000, 5000], [9000, 7000]]),))
    canvas.load_ink(far)
    assert canvas.document.ink == far  # the document keeps the file's coordinates
    view = canvas.view().map(QPointF(9000, 7000))
    assert 0 <= view.x() <= canvas.width() and 0 <= view.y() <= canvas.height()
    canvas.undo()
    assert canvas.document.ink.is_empty


def test_clear_is_undoable(canvas: InkCanvas, draw: Draw) -> None:
    draw(canvas, line((20, 40), (200, 40)))
    canvas.clear()
    assert canvas.document.ink.is_empty
    canvas.undo()
    assert len(canvas.document.ink.strokes) == 1


def test_ink_follows_the_theme(canvas: InkCanvas, draw: Draw) -> None:
    draw(canvas, line((20, 40), (200, 40)))
    dark = QPalette(canvas.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1f22"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
    canvas.setPalette(dark)  # a dark desktop theme arriving
    assert canvas._layer.pixelColor(100, 40).name() == "#e6e6e6"
    shot = canvas.grab().toImage()
    assert shot.pixelColor(100, 150).name() == "#1e1f22"


def test_a_huge_ink_is_painted_in_slices_and_completely(canvas: InkCanvas, qtbot) -> None:
    import numpy as np

    strokes = tuple(
        Stroke(np.column_stack([np.linspace(10, 390, 400), np.full(400, 5.0 + i % 290)]))
        for i in range(1500)
    )  # 600,000 points
    canvas.load_ink(Ink(strokes))
    assert canvas.painting()  # the rest comes in later turns of the event loop
    qtbot.waitUntil(lambda: not canvas.painting(), timeout=20_000)
    last = canvas.view().map(QPointF(200, 5.0 + 1499 % 290))
    assert canvas._layer.pixelColor(last.toPoint()).alpha() > 0


def test_simplified_keeps_what_a_screen_can_show() -> None:
    import numpy as np

    from mathpad.ui.canvas import simplified

    xy = np.column_stack([np.linspace(0, 10, 101), np.zeros(101)])  # 0.1 apart
    keep = simplified(xy, 1.0)
    assert keep[0] and keep[-1] and 10 <= keep.sum() <= 12
    assert simplified(xy[:2], 1.0).all() and simplified(xy, 0.0).all()


def test_pressure_still_shapes_a_simplified_stroke(canvas: InkCanvas, qtbot) -> None:
    import numpy as np

    xy = np.column_stack([np.linspace(20, 380, 200), np.full(200, 150.0)])
    pressure = np.linspace(0.05, 1.0, 200)
    canvas.load_ink(Ink((Stroke(xy, pressure),)))
    qtbot.waitUntil(lambda: not canvas.painting(), timeout=5000)
    view = canvas.view()

    def thickness(x: float) -> int:
        p = view.map(QPointF(x, 150)).toPoint()
        return sum(canvas._layer.pixelColor(p.x(), p.y() + dy).alpha() > 128 for dy in range(-8, 9))

    assert thickness(40) < thickness(360)


def test_ink_on_a_picture_is_black_whatever_the_theme(canvas: InkCanvas, draw: Draw) -> None:
    from PIL import Image
    from PySide6.QtGui import QImage

    from mathpad.ink.document import Picture

    dark = QPalette(canvas.palette())
    dark.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
    canvas.setPalette(dark)
    white = QImage(300, 200, QImage.Format.Format_RGB32)
    white.fill(Qt.GlobalColor.white)
    canvas.load_picture(Picture(Image.new("RGB", (300, 200), "white")), white)
    draw(canvas, line((100, 150), (300, 150)))
    assert canvas.grab().toImage().pixelColor(200, 150).name() == "#000000"
