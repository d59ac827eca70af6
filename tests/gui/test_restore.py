"""Nothing lost: a crashed run's drawing is offered back at start; closing with unsaved ink
asks (or keeps it); every change is autosaved."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from mathpad.autosave import Autosave, Snapshot
from mathpad.ink.strokes import Ink, Stroke
from mathpad.settings import Settings

from .conftest import FIXTURE_MODEL, line

Button = QMessageBox.StandardButton
LEFT = Qt.MouseButton.LeftButton


def _crashed_run(folder) -> Snapshot:
    """What a killed pad leaves: a snapshot, and a lock the kernel has dropped."""
    ink = Ink((Stroke(np.array([[10.0, 10.0], [90.0, 40.0], [150.0, 20.0]])),))
    snapshot = Snapshot(ink, None, "x^{2} mine", latex_edited=True)
    left = Autosave(folder)
    assert left.claim() == "fresh"
    left.save(snapshot)
    left.release()
    return snapshot


def _question(window, qtbot) -> QMessageBox:
    """The restore question, once it is open over the window."""
    qtbot.waitUntil(lambda: window.keeper.prompt is not None and window.keeper.prompt.isVisible())
    return window.keeper.prompt


def test_a_crashed_runs_drawing_is_offered_back(make_window, qtbot, _autosave_in_tmp) -> None:
    snapshot = _crashed_run(_autosave_in_tmp)
    window = make_window()
    QTest.mouseClick(_question(window, qtbot).button(Button.Yes), LEFT)
    qtbot.waitUntil(lambda: len(window.document.ink.strokes) == 1, timeout=5000)
    assert window.document.ink.strokes[0] == snapshot.ink.strokes[0]
    assert window.source.toPlainText() == "x^{2} mine" and window.source.edited


def test_the_restore_question_opens_with_the_window_over_it(
    qtbot, dialogs, _autosave_in_tmp
) -> None:
    """Opened while the window was being built, before it had a place on the screen, the
    question landed half off the screen's corner under a real window manager."""
    from mathpad.recognizer import Recognizer
    from mathpad.ui.window import MainWindow

    _crashed_run(_autosave_in_tmp)
    window = MainWindow(
        Settings(model=str(FIXTURE_MODEL), delay_ms=50, close_unsaved="keep"),
        lambda m, v: Recognizer(m, v, local_files_only=True),
        dialogs=dialogs,
        save_settings=lambda _settings: None,
    )
    qtbot.addWidget(window)
    prompt = window.keeper.prompt
    assert prompt is not None and not prompt.isVisible()
    window.setGeometry(430, 430, 360, 340)
    window.show()
    prompt = _question(window, qtbot)
    assert window.frameGeometry().contains(prompt.frameGeometry().center())
    window.close()
    window.recognition.join(timeout=20.0)


def test_closing_with_the_restore_question_open_asks_again_next_time(
    make_window, qtbot, _autosave_in_tmp
) -> None:
    _crashed_run(_autosave_in_tmp)
    window = make_window()
    prompt = _question(window, qtbot)
    window.close()
    assert not window.isVisible() and not prompt.isVisible()
    again = make_window()
    QTest.mouseClick(_question(again, qtbot).button(Button.Yes), LEFT)
    qtbot.waitUntil(lambda: len(again.document.ink.strokes) == 1, timeout=5000)


def test_a_restored_picture_keeps_the_ink_written_on_it(
    make_window, qtbot, _autosave_in_tmp
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 120), "white").save(buffer, "PNG")
    ink = Ink((Stroke(np.array([[20.0, 30.0], [200.0, 90.0]])),))
    left = Autosave(_autosave_in_tmp)
    assert left.claim() == "fresh"
    left.save(Snapshot(ink, buffer.getvalue(), "", latex_edited=False))
    left.release()
    window = make_window()
    QTest.mouseClick(_question(window, qtbot).button(Button.Yes), LEFT)
    qtbot.waitUntil(lambda: window.document.page.picture is not None, timeout=5000)
    assert window.document.page.picture.size == (240, 120)
    assert window.document.ink.strokes == ink.strokes  # the annotation came back with it


def test_a_declined_restore_is_forgotten(make_window, qtbot, _autosave_in_tmp) -> None:
    _crashed_run(_autosave_in_tmp)
    window = make_window()
    QTest.mouseClick(_question(window, qtbot).button(Button.Discard), LEFT)
    assert window.document.ink.is_empty
    assert not (_autosave_in_tmp / "drawing.json").exists()


def test_every_stroke_is_autosaved(window, draw, qtbot, _autosave_in_tmp) -> None:
    draw(window.canvas, line((40, 40), (200, 60)))
    draw(window.canvas, line((40, 90), (200, 110)))

    def saved_strokes() -> int:
        snapshot = Autosave(_autosave_in_tmp).load()  # reads without taking the lock
        return len(snapshot.ink.strokes) if snapshot is not None else 0

    qtbot.waitUntil(lambda: saved_strokes() == 2, timeout=5000)


def test_closing_with_unsaved_ink_asks(make_window, draw, qtbot, _autosave_in_tmp) -> None:
    settings = Settings(model=str(FIXTURE_MODEL), delay_ms=50, variant="int8")
    window = make_window(settings=settings)
    draw(window.canvas, line((40, 40), (200, 60)))
    window.close()
    prompt = window.keeper.prompt
    assert window.isVisible() and prompt is not None and prompt.isVisible()
    QTest.mouseClick(prompt.button(Button.Cancel), LEFT)
    assert window.isVisible()  # stays open, ink and all
    window.close()
    QTest.mouseClick(window.keeper.prompt.button(Button.Yes), LEFT)  # "Keep it"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    kept = Autosave(_autosave_in_tmp)
    assert kept.claim() == "crashed"  # the next start offers it back
    assert len(kept.load().ink.strokes) == 1
    kept.release()
