"""Every reading goes into the history; the panel searches, copies, reopens, recognizes
again and deletes, with real clicks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from mathpad.history import History

from .conftest import line

LEFT = Qt.MouseButton.LeftButton


def _read_once(window, draw, qtbot) -> str:
    panel = window.history
    with (
        qtbot.waitSignal(panel.listed, timeout=10_000),
        qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got,
    ):
        draw(window.canvas, line((60, 60), (260, 160)))
    qtbot.waitUntil(lambda: len(panel.readings()) == 1, timeout=5000)
    return got.args[0].text()


def test_every_reading_is_kept_with_its_ink(window, draw, qtbot, _history_in_tmp) -> None:
    text = _read_once(window, draw, qtbot)
    (reading,) = window.history.readings()
    assert reading.latex_shown == text
    assert reading.ink_inkml and "<trace" in reading.ink_inkml
    assert reading.image_png.startswith(b"\x89PNG")
    assert (reading.model, reading.variant) == (window.recognition.info.name, "int8")


def test_copy_search_reopen_and_delete_by_clicks(window, draw, qtbot, _history_in_tmp) -> None:
    text = _read_once(window, draw, qtbot)
    panel = window.history
    window.side_panel.setCurrentWidget(panel)
    panel.list.setCurrentRow(0)
    QTest.mouseClick(panel.copy_button, LEFT)
    assert QGuiApplication.clipboard().text() == text
    window.canvas.clear()
    assert window.document.ink.is_empty
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.mouseClick(panel.again_button, LEFT)  # the ink comes back and is read at once
    assert len(window.document.ink.strokes) == 1
    with qtbot.waitSignal(panel.listed, timeout=5000):
        QTest.keyClicks(panel.search, "no such latex at all")
    assert panel.readings() == []
    with qtbot.waitSignal(panel.listed, timeout=5000):
        panel.search.clear()
    assert len(panel.readings()) == 2  # the second reading, recognized again
    panel.list.setCurrentRow(0)
    with qtbot.waitSignal(panel.listed, timeout=5000):
        QTest.mouseClick(panel.delete_button, LEFT)
    assert len(panel.readings()) == 1
    assert len(History(_history_in_tmp).search()) == 1
