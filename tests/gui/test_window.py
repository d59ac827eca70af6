"""The window end to end: real strokes, keys and clipboard, the fixture model recognizing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from mathpad.ink.inkml import read_inkml
from mathpad.recognizer import PageResult
from mathpad.settings import Settings, load_settings

from .conftest import FIXTURE_MODEL, line

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def test_layout_has_every_part(window) -> None:
    for name in ("pen", "eraser", "undo", "redo", "clear", "open", "copy", "recognize"):
        assert name in window.actions
    assert window.canvas.isVisible() and window.preview.isVisible() and window.source.isVisible()
    assert window.model_label.text().startswith("Model: ")
    assert "loaded in" in window.model_label.text()


def test_keyboard_undo_redo_and_clear(window, draw) -> None:
    canvas = window.canvas
    draw(canvas, line((40, 40), (200, 40)))
    draw(canvas, line((40, 90), (200, 90)))
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert len(window.document.ink.strokes) == 1
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL | SHIFT)
    assert len(window.document.ink.strokes) == 2
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    QTest.keyClick(canvas, Qt.Key.Key_Y, CTRL)
    assert len(window.document.ink.strokes) == 2
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert window.document.ink.is_empty
    assert window.actions["undo"].isEnabled() and not window.actions["redo"].isEnabled()


def test_resting_pen_recognizes_and_fills_source_and_preview(window, draw, qtbot) -> None:
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        draw(window.canvas, line((60, 60), (260, 160)))
    result: PageResult = got.args[0]
    assert result.tag == window.document.revision
    assert window.source.toPlainText() == result.text()
    qtbot.waitUntil(window.preview.idle, timeout=5000)
    shown = not window.preview.pixmap().isNull() or window.preview.notice is not None
    assert shown or not window.latex()  # a picture, a notice, or the placeholder for ""
    assert window.time_label.text().startswith("Recognized in ")


def test_ctrl_enter_recognizes_on_demand(make_window, draw, qtbot) -> None:
    window = make_window(settings=Settings(model=str(FIXTURE_MODEL), delay_ms=60_000))
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=10_000)
    draw(window.canvas, line((60, 60), (260, 160)))
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)


def test_a_result_for_changed_ink_is_dropped(make_window, draw, qtbot) -> None:
    window = make_window(settings=Settings(model=str(FIXTURE_MODEL), delay_ms=60_000))
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=10_000)
    draw(window.canvas, line((60, 60), (260, 60)))
    window.recognition.recognize_now()  # on the worker now; its result is queued for us
    draw(window.canvas, line((60, 120), (260, 120)))  # the ink changes before it arrives
    window.recognition.recognize_now()  # waits: one job at a time
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        pass
    assert window.recognition.dropped == 1
    assert got.args[0].tag == window.document.revision


def test_drawing_works_while_the_model_is_missing(make_window, draw, dialogs, qtbot) -> None:
    window = make_window(model="mathpad-tests/not-downloaded")
    qtbot.waitUntil(lambda: window.recognition.state == "missing", timeout=10_000)
    assert window.model_label.text() == "Model: not downloaded"
    dialog = window.model_dialog
    assert dialog is not None and dialog.isVisible()  # opened, not blocking
    draw(window.canvas, line((40, 40), (200, 40)))
    assert len(window.document.ink.strokes) == 1
    dialog.close_button.click()  # "Not now"; asking to recognize offers it again
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=1000)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    dialog = window.model_dialog
    assert dialog is not None and dialog.isVisible()
    # choosing the fixture folder loads it, recognizes the waiting ink and saves the choice
    dialogs.folder_answer = str(FIXTURE_MODEL)
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        dialog.folder_button.click()
    assert load_settings().model == str(FIXTURE_MODEL)


def test_a_broken_model_gives_a_message(make_window, tmp_path: Path, qtbot) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "config.json").write_text("", encoding="utf-8")
    window = make_window(model=str(broken))
    qtbot.waitUntil(lambda: window.recognition.state == "broken", timeout=10_000)
    assert window.model_label.text() == "Model: cannot be used"
    assert window.model_dialog is not None and window.model_dialog.isVisible()
    assert str(broken) in window.recognition.load_error.args[0]


def test_unrenderable_source_shows_the_notice_and_still_copies(window, qtbot) -> None:
    window.source.setFocus()
    QTest.keyClicks(window.source, r"\begin{aligned}x&=1\end{aligned}")
    qtbot.waitUntil(lambda: window.preview.notice is not None, timeout=5000)
    assert r"mathtext does not know \begin" in window.preview.notice
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_C, CTRL | SHIFT)
    assert QGuiApplication.clipboard().text() == r"\begin{aligned}x&=1\end{aligned}"


def test_save_ink_with_ctrl_s(window, draw, dialogs, tmp_path: Path) -> None:
    draw(window.canvas, line((40, 40), (200, 40)))
    dialogs.save_answer = str(tmp_path / "drawn.inkml")
    QTest.keyClick(window.canvas, Qt.Key.Key_S, CTRL)
    saved = read_inkml(tmp_path / "drawn.inkml")
    assert saved.strokes[0].xy.tolist() == window.document.ink.strokes[0].xy.tolist()


def test_settings_dialog_applies_and_persists(window, qtbot) -> None:
    window.open_settings()
    dialog = window.settings_dialog
    dialog.delay.setValue(900)
    dialog.pen_width.setValue(4.5)
    dialog.accept()
    assert window.canvas.pen_width == 4.5
    assert window.recognition._rest.interval() == 900
    saved = load_settings()
    assert (saved.delay_ms, saved.pen_width, saved.model) == (900, 4.5, str(FIXTURE_MODEL))


def test_settings_dialog_picks_a_model_folder(window, dialogs, qtbot) -> None:
    window.open_settings()
    dialog = window.settings_dialog
    dialogs.folder_answer = "/models/elsewhere"
    browse = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Folder…")
    browse.click()
    assert dialog.model.text() == "/models/elsewhere"
    dialog.reject()
    assert window.model == str(FIXTURE_MODEL)  # cancelled: nothing changes
