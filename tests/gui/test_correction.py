"""The correction loop with real widgets: the user's text wins, alternatives and doubtful
tokens are picked by mouse and by key, a forced token stays on later readings."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from mathpad.recognizer import PageResult, Recognizer
from mathpad.ui.pieces_view import SHOWN_HEIGHT

from .conftest import line

ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def _recognized(qtbot, window, act) -> PageResult:
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        act()
    return got.args[0]


def _type(window, text: str) -> None:
    window.source.setFocus()
    window.source.moveCursor(QTextCursor.MoveOperation.End)
    QTest.keyClicks(window.source, text)


def test_an_edit_survives_a_new_stroke_and_undo(window, draw, qtbot) -> None:
    first = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    assert window.source.toPlainText() == first.text() and not window.source.edited
    _type(window, " mine")
    mine = first.text() + " mine"
    second = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 160), (260, 60))))
    assert window.source.toPlainText() == mine  # recognition did not replace the edit
    assert window.source.offered == second.text()
    window.canvas.setFocus()
    third = _recognized(qtbot, window, lambda: QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL))
    assert window.source.toPlainText() == mine  # nor did the canvas's undo
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, ALT)  # take the offered reading
    assert window.source.toPlainText() == third.text() and not window.source.edited
    window.source.setFocus()
    QTest.keyClick(window.source, Qt.Key.Key_Z, CTRL)  # the editor's undo brings mine back
    assert window.source.toPlainText() == mine


def test_the_offer_bar_accepts_by_mouse(window, draw, qtbot) -> None:
    _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    _type(window, "x")
    second = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 160), (260, 60))))
    bar = window.source._bar
    assert bar.isVisible() and second.text().replace("\n", "  ⏎  ") in bar.text.text()
    QTest.mouseClick(bar.use, LEFT)
    assert window.source.toPlainText() == second.text() and not bar.isVisible()


def _alternatives(qtbot, window, draw) -> list[str]:
    with qtbot.waitSignal(window.correction.alternatives_ready, timeout=10_000) as got:
        draw(window.canvas, line((60, 60), (260, 160)))
    texts = got.args[1]
    assert len(texts) >= 2 and window.alternatives.texts() == texts
    return texts


def test_an_alternative_is_picked_by_mouse_and_by_key(window, draw, qtbot) -> None:
    texts = _alternatives(qtbot, window, draw)
    listing = window.alternatives.list
    window.side_panel.setCurrentWidget(window.alternatives)
    where = listing.visualItemRect(listing.item(1)).center()
    QTest.mouseClick(listing.viewport(), LEFT, NONE, where)
    assert window.source.toPlainText() == texts[1]
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_1, ALT)
    assert window.source.toPlainText() == texts[0]
    QTest.keyClick(window.source, Qt.Key.Key_Z, CTRL)  # a pick is an undoable edit
    assert window.source.toPlainText() == texts[1]


def _menu_for(window, qtbot, open_it):
    open_it()
    qtbot.waitUntil(lambda: window.correction.menu is not None, timeout=2000)
    menu = window.correction.menu
    qtbot.waitExposed(menu)
    return menu


def _click_span(window, start: int) -> None:
    editor = window.source
    cursor = QTextCursor(editor.document())
    cursor.setPosition(start)
    rect = editor.cursorRect(cursor)
    QTest.mouseClick(editor.viewport(), LEFT, NONE, QPoint(rect.left() + 2, rect.center().y()))


def test_a_doubtful_token_is_replaced_by_mouse_and_stays_forced(window, draw, qtbot) -> None:
    window.correction.threshold = 1.01  # the fixture model is sure of most tokens: mark all
    first = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    doubt = first.doubtful(1.01)[1]
    spans = window.source.spans()
    assert [(s.start, s.end) for s in spans] == [(d.start, d.end) for d in first.doubtful(1.01)]
    menu = _menu_for(window, qtbot, lambda: _click_span(window, doubt.start))
    choice = menu.actions()[1]
    assert choice.text().endswith(doubt.replacements[0])
    replaced = _recognized(
        qtbot,
        window,
        lambda: QTest.mouseClick(menu, LEFT, NONE, menu.actionGeometry(choice).center()),
    )
    forced = replaced.pieces[doubt.piece].token_ids[: doubt.token + 2]
    token = first.pieces[doubt.piece].tokens[doubt.token]
    chosen = next(i for i, text, _ in token.top if text == doubt.replacements[0])
    assert forced == (*first.pieces[doubt.piece].token_ids[: doubt.token + 1], chosen)
    assert window.source.toPlainText() == replaced.text()
    # a later stroke near the first: the same drawing, read again, keeps the correction
    later = _recognized(qtbot, window, lambda: draw(window.canvas, line((70, 70), (250, 150))))
    assert later.pieces[doubt.piece].token_ids[: doubt.token + 2] == forced


def test_a_doubtful_token_is_replaced_by_key(window, draw, qtbot) -> None:
    window.correction.threshold = 1.01
    first = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    doubt = first.doubtful(1.01)[0]
    editor = window.source
    editor.setFocus()
    cursor = editor.textCursor()
    cursor.setPosition(doubt.start)
    editor.setTextCursor(cursor)
    menu = _menu_for(window, qtbot, lambda: QTest.keyClick(editor, Qt.Key.Key_Down, ALT))
    replaced = _recognized(qtbot, window, lambda: QTest.keyClick(menu, Qt.Key.Key_2))
    token = first.pieces[doubt.piece].tokens[doubt.token]
    chosen = next(i for i, text, _ in token.top if text == doubt.replacements[1])
    assert replaced.pieces[doubt.piece].token_ids[doubt.token + 1] == chosen


def test_focusing_the_canvas_with_a_click_adds_no_stroke(window, qtbot) -> None:
    window.source.setFocus()
    qtbot.waitUntil(window.source.hasFocus, timeout=1000)
    QTest.mouseClick(window.canvas, LEFT, NONE, QPoint(100, 100))
    assert window.canvas.hasFocus()
    assert window.document.ink.is_empty


def test_writing_right_after_focusing_keeps_the_whole_stroke(window, draw, qtbot) -> None:
    window.source.setFocus()
    qtbot.waitUntil(window.source.hasFocus, timeout=1000)
    draw(window.canvas, line((40, 40), (200, 40)))
    (stroke,) = window.document.ink.strokes
    assert window.canvas.hasFocus()
    assert len(stroke.xy) == 9  # the held press comes first, then every move


def test_what_the_model_saw_is_shown_piece_by_piece(window, draw, qtbot) -> None:
    result = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    view = window.pieces
    assert len(result.images) >= 1
    assert view.captions == [
        f"Piece {n}: {p.latex.strip() or '(nothing read)'}" for n, p in enumerate(result.pieces, 1)
    ]
    pictures = [label.pixmap() for label in view.findChildren(QLabel)]
    pictures = [p for p in pictures if not p.isNull()]
    assert [(p.width(), p.height()) for p in pictures] == [
        (round(image.width * SHOWN_HEIGHT / image.height), SHOWN_HEIGHT) for image in result.images
    ]  # each piece at the view's height, its proportions kept


def test_a_pen_down_ends_the_running_recognition(window, draw, qtbot, monkeypatch) -> None:
    recognizer = window.recognition.recognizer
    cancels: list[bool] = []
    real_cancel = recognizer.cancel
    monkeypatch.setattr(
        recognizer, "cancel", lambda: (cancels.append(window.recognition.busy()), real_cancel())
    )
    with qtbot.waitSignal(window.recognition.busy_changed, timeout=10_000):
        draw(window.canvas, line((60, 60), (260, 160)))  # runs once the pen rests
    cancels.clear()  # (a pen-down and a stroke also end any search for alternatives)
    QTest.mousePress(window.canvas, LEFT, NONE, QPoint(80, 150))  # the pen comes down again
    assert cancels == [True]  # cancelled while the reading ran
    QTest.mouseMove(window.canvas, QPoint(200, 150))
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        QTest.mouseRelease(window.canvas, LEFT, NONE, QPoint(200, 150))
    assert got.args[0].tag == window.document.revision  # the reading is of both strokes
    assert "failed" not in window.statusBar().currentMessage()


class _EndlessAlternatives(Recognizer):
    """A recognizer whose beam search for alternatives only ends when it is cancelled."""

    searching = threading.Event()

    def _alternatives(self, result, k, width, cancel):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        self.searching.set()
        while time.monotonic() < deadline:
            cancel.check()
            time.sleep(0.005)
        return []


def test_a_new_stroke_ends_the_search_for_alternatives(make_window, draw, qtbot) -> None:
    window = make_window(make_recognizer=lambda m, v: _EndlessAlternatives(m, v))
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=30_000)
    _EndlessAlternatives.searching.clear()
    _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 60), (260, 160))))
    qtbot.waitUntil(_EndlessAlternatives.searching.is_set, timeout=10_000)
    qtbot.waitUntil(lambda: not window.recognition.busy(), timeout=10_000)  # only the search
    began = time.monotonic()
    second = _recognized(qtbot, window, lambda: draw(window.canvas, line((60, 160), (260, 60))))
    assert second.tag == window.document.revision
    assert time.monotonic() - began < 10  # not held behind the old page's beam search
