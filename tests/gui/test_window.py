"""The window end to end: real strokes, keys and clipboard, the fixture model recognizing."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton, QTableWidget

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
    if window.latex():
        assert shown  # the formula, or a notice saying why it cannot be drawn
    else:
        assert window.preview.pixmap().isNull() and window.preview.notice is None
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
    QTest.keyClicks(window.source, r"\foo{x}=1")
    qtbot.waitUntil(lambda: window.preview.notice is not None, timeout=5000)
    assert r"mathtext does not know \foo" in window.preview.notice
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_C, CTRL | SHIFT)
    assert QGuiApplication.clipboard().text() == r"\foo{x}=1"


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
    assert window.recognition.delay_ms == 900
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


# --- commands by intent -------------------------------------------------------------


def test_paste_with_focus_in_the_editor_opens_the_picture(window, qtbot) -> None:
    from .test_transfer import handwriting_picture

    window.source.setFocus()
    QTest.keyClicks(window.source, "typed")
    QGuiApplication.clipboard().setImage(handwriting_picture())
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.keyClick(window.source, Qt.Key.Key_V, CTRL)
    assert window.document.picture is not None  # Ctrl+V reached the window, not the editor
    assert window.source.toPlainText() == "typed"  # the user's text wins: the reading is
    assert window.source.offered is not None  # offered beside it


def test_a_file_dropped_on_the_editor_is_opened_not_inserted(window, tmp_path, qtbot) -> None:
    from PySide6.QtCore import QMimeData, QUrl

    from .test_transfer import drop_on, handwriting_picture

    path = tmp_path / "formula.png"
    handwriting_picture().save(str(path))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        assert drop_on(window.source.viewport(), mime)
    assert window.document.picture is not None and window.document.picture.name == "formula.png"
    assert "file://" not in window.source.toPlainText()


def test_undo_follows_the_last_change_ink_or_text(window, draw, qtbot) -> None:
    draw(window.canvas, line((40, 40), (200, 40)))
    window.source.setFocus()
    QTest.keyClicks(window.source, "ab")
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)  # the text was changed last
    assert window.source.toPlainText() != "ab" and len(window.document.ink.strokes) == 1
    draw(window.canvas, line((40, 90), (200, 90)))
    window.source.setFocus()
    QTest.keyClick(window.source, Qt.Key.Key_Z, CTRL)  # the ink was, though the editor has focus
    assert len(window.document.ink.strokes) == 1


def test_undo_across_picture_and_ink(window, draw, qtbot) -> None:
    from .test_transfer import handwriting_picture

    canvas = window.canvas
    draw(canvas, line((40, 40), (200, 40)))
    drawn = window.document.ink.strokes
    QGuiApplication.clipboard().setImage(handwriting_picture())
    QTest.keyClick(canvas, Qt.Key.Key_V, CTRL)
    qtbot.waitUntil(lambda: window.document.picture is not None, timeout=5000)
    picture = window.document.picture
    assert window.document.ink.is_empty  # a new page: the old ink does not come back over it
    draw(canvas, line((100, 150), (160, 170)))
    assert window.document.picture is picture  # a stroke annotates, never deletes, it
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.picture is picture and window.document.ink.is_empty
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.picture is None and window.document.ink.strokes == drawn
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL | SHIFT)
    assert window.document.picture is picture and window.document.ink.is_empty


def test_clear_takes_the_reading_with_it(window, draw, qtbot) -> None:
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        draw(window.canvas, line((60, 60), (260, 160)))
    assert window.time_label.text().startswith("Recognized in ")
    QTest.keyClick(window.canvas, Qt.Key.Key_Delete, CTRL)
    assert window.document.page.is_empty
    assert window.source.toPlainText() == "" and window.time_label.text() == ""
    qtbot.waitUntil(lambda: window.preview.pixmap().isNull(), timeout=5000)


def test_escape_returns_to_the_canvas_and_focus_shows(window, qtbot) -> None:
    window.source.setFocus()
    QTest.keyClick(window.source, Qt.Key.Key_Escape)
    assert window.canvas.hasFocus()
    frame = window.canvas.grab().toImage().pixelColor(1, window.canvas.height() // 2)
    assert frame == window.canvas.palette().color(window.canvas.palette().ColorRole.Highlight)


def test_tool_keys_work_on_the_canvas_not_in_the_editor(window, draw) -> None:
    QTest.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.canvas.tool == "eraser" and window.actions["eraser"].isChecked()
    window.source.setFocus()
    QTest.keyClicks(window.source, "pel")
    assert window.canvas.tool == "eraser" and window.source.toPlainText() == "pel"
    QTest.keyClick(window.source, Qt.Key.Key_Escape)
    QTest.keyClick(window.canvas, Qt.Key.Key_P)
    assert window.canvas.tool == "pen"


def test_ctrl_q_quits(window, qtbot) -> None:
    QTest.keyClick(window.canvas, Qt.Key.Key_Q, CTRL)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)


def test_help_lists_every_shortcut_of_every_action(window) -> None:
    from PySide6.QtGui import QKeySequence

    window.actions["shortcuts"].trigger()
    table = window.shortcuts_dialog.findChild(QTableWidget)
    shown = {table.item(row, 0).text() for row in range(table.rowCount())}
    native = QKeySequence.SequenceFormat.NativeText
    for name, action in window.actions.items():
        for sequence in action.shortcuts():
            assert any(sequence.toString(native) in keys for keys in shown), name
    menus = [a.text() for a in window.menuBar().actions()]
    assert "&Help" in menus


# --- ink editing ----------------------------------------------------------------------


def zigzag(x0: int, x1: int, y0: int, y1: int, passes: int = 7) -> list[tuple[int, int]]:
    points = []
    for i in range(passes + 1):
        y = y0 + (y1 - y0) * i // passes
        points.append((x0 if i % 2 == 0 else x1, y))
    return [p for a, b in pairwise(points) for p in line(a, b, 6)]


def test_scratch_out_over_two_strokes_erases_exactly_those(window, draw) -> None:
    canvas = window.canvas
    draw(canvas, line((40, 40), (100, 80)))  # x
    draw(canvas, line((40, 80), (100, 40)))
    draw(canvas, line((250, 40), (300, 80)))  # far away: kept
    kept = window.document.ink.strokes[2]
    draw(canvas, zigzag(30, 110, 35, 85))
    assert window.document.ink.strokes == (kept,)
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)  # one step brings both back
    assert len(window.document.ink.strokes) == 3


def test_scratch_out_can_be_turned_off(make_window, draw, qtbot) -> None:
    window = make_window(settings=Settings(model=str(FIXTURE_MODEL), scratch_out=False))
    draw(window.canvas, line((40, 40), (100, 80)))
    draw(window.canvas, zigzag(30, 110, 35, 85))
    assert len(window.document.ink.strokes) == 2


def test_lasso_selects_then_deletes_and_moves_in_one_step_each(window, draw) -> None:
    canvas = window.canvas
    draw(canvas, line((40, 40), (80, 60)))
    draw(canvas, line((200, 40), (260, 60)))
    inside, outside = window.document.ink.strokes
    QTest.keyClick(canvas, Qt.Key.Key_L)
    loop = [(30, 30), (100, 30), (100, 80), (30, 80), (30, 31)]
    draw(canvas, [p for a, b in pairwise(loop) for p in line(a, b, 4)])
    assert canvas.selection == [0]
    draw(canvas, line((60, 50), (60, 150)))  # drag the selection down by 100 px
    moved = window.document.ink.strokes[0]
    assert moved.xy[:, 1].tolist() == pytest.approx((inside.xy[:, 1] + 100).tolist())
    assert window.document.ink.strokes[1] is outside
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert window.document.ink.strokes == (outside,)
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.ink.strokes[0] is moved
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.ink.strokes == (inside, outside)


def test_the_right_button_erases(window, draw) -> None:
    from PySide6.QtCore import QPoint

    canvas = window.canvas
    draw(canvas, line((40, 40), (200, 40)))
    right, none = Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(canvas, right, none, QPoint(100, 30))
    QTest.mouseMove(canvas, QPoint(100, 50))
    QTest.mouseRelease(canvas, right, none, QPoint(100, 50))
    assert window.document.ink.is_empty and canvas.tool == "pen"


def test_the_eraser_cursor_is_a_circle_of_its_real_size(window) -> None:
    QTest.keyClick(window.canvas, Qt.Key.Key_E)
    cursor = window.canvas.cursor().pixmap()
    assert cursor.deviceIndependentSize().width() == pytest.approx(
        2 * window.canvas.eraser_radius() + 4, abs=1
    )


# --- the canvas's view ---------------------------------------------------------------


def test_zoom_never_changes_the_ink_a_file_receives(window, draw, tmp_path) -> None:
    from mathpad.ink.inkml import write_inkml

    canvas = window.canvas
    draw(canvas, line((40, 40), (120, 40)))
    before = window.document.ink.strokes[0].xy.tolist()
    canvas.zoom(2.0)
    canvas.pan(-30, 10)
    write_inkml(window.document.ink, tmp_path / "a.inkml")
    assert read_inkml(tmp_path / "a.inkml").strokes[0].xy.tolist() == before
    draw(canvas, line((100, 100), (140, 100)))  # drawn at 2x: half as long in the document
    xy = window.document.ink.strokes[1].xy
    assert xy[-1, 0] - xy[0, 0] == pytest.approx(20)


def test_loaded_ink_is_refitted_when_the_window_is_resized(window, tmp_path, qtbot) -> None:
    from mathpad.ink.inkml import write_inkml
    from mathpad.ink.strokes import Ink, Stroke

    write_inkml(Ink((Stroke([[0, 0], [3000, 1000]]),)), tmp_path / "wide.inkml")
    window.open_file(tmp_path / "wide.inkml")
    qtbot.waitUntil(lambda: not window.document.ink.is_empty, timeout=5000)
    canvas = window.canvas

    def visible() -> bool:
        box = canvas.view().mapRect(QRectF(0, 0, 3000, 1000))
        return QRectF(canvas.rect()).contains(box)

    assert visible()
    window.resize(500, 420)
    qtbot.waitUntil(visible, timeout=2000)
    window.resize(1200, 800)
    qtbot.waitUntil(lambda: canvas.width() > 900, timeout=2000)
    box = canvas.view().mapRect(QRectF(0, 0, 3000, 1000))
    assert visible() and box.width() > 0.8 * canvas.width()  # fills it, not in a corner
    assert abs(box.center().x() - canvas.width() / 2) < 2


def test_ctrl_wheel_zooms_around_the_pointer_and_fit_comes_back(window, draw) -> None:
    from PySide6.QtCore import QPoint, QPointF

    canvas = window.canvas
    draw(canvas, line((40, 40), (120, 40)))
    at = QPointF(80, 40)
    under = canvas.view().inverted()[0].map(at)
    QTest.mouseMove(canvas, at.toPoint())
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    wheel = QWheelEvent(
        at, canvas.mapToGlobal(at), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
        CTRL, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas, wheel)
    assert canvas.document_scale() > 1.3
    assert canvas.view().map(under).toPoint() == at.toPoint()
    QTest.keyClick(canvas, Qt.Key.Key_0, CTRL)
    assert canvas.document_scale() == 1.0


# --- the window at any scale -------------------------------------------------------------

SCALED = """
import json, sys
from PySide6.QtWidgets import QApplication
from mathpad.settings import Settings
from mathpad.ui.window import MainWindow
app = QApplication([])
window = MainWindow(Settings(model=sys.argv[1]), lambda m, v: __import__("mathpad.recognizer",
    fromlist=["Recognizer"]).Recognizer(m, v, local_files_only=True))
window.show()
app.processEvents()
a = window.screen().availableGeometry()
f = window.frameGeometry()
print(json.dumps({"available": [a.x(), a.y(), a.width(), a.height()],
                  "frame": [f.x(), f.y(), f.width(), f.height()],
                  "ratio": window.devicePixelRatioF(),
                  "toolbar_hidden": window.findChild(__import__("PySide6.QtWidgets",
                      fromlist=["QToolBar"]).QToolBar).sizeHint().width() > f.width()}))
window.close()
"""


def test_the_first_window_fits_a_1600x1000_screen_at_scale_2(tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "screen.json"
    screen = {"name": "s", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={config}",
        "QT_SCALE_FACTOR": "2",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-c", SCALED, str(tmp_path / "no-model")],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    seen = json.loads(out.splitlines()[-1])
    assert seen["ratio"] == 2.0 and seen["available"] == [0, 0, 800, 500]
    x, y, width, height = seen["frame"]
    assert x >= 0 and y >= 0 and x + width <= 800 and y + height <= 500
    assert not seen["toolbar_hidden"]


def test_size_place_and_splitters_are_remembered(make_window, qtbot) -> None:
    first = make_window()
    first.resize(640, 480)
    first.page_splitter.setSizes([150, 250])
    sizes = first.page_splitter.sizes()
    first.close()
    saved = load_settings()
    assert saved.window_layout
    again = make_window(settings=saved)
    assert (again.width(), again.height()) == (640, 480)
    assert again.page_splitter.sizes() == sizes


# --- settings -----------------------------------------------------------------------


def test_settings_name_variants_in_words_and_apply_every_field(window, qtbot) -> None:
    window.open_settings()
    dialog = window.settings_dialog
    items = [dialog.variant.itemText(i) for i in range(dialog.variant.count())]
    assert any(t.startswith("int8: about 0.4 GB") for t in items)
    assert all("GB" in t or "4-bit" in t for t in items)
    dialog.auto.setChecked(False)
    assert not dialog.delay.isEnabled()
    dialog.copy_format.setCurrentIndex(dialog.copy_format.findData("inline"))
    dialog.scratch_out.setChecked(False)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()
    saved = load_settings()
    assert (saved.auto_recognize, saved.copy_format, saved.scratch_out, saved.theme) == (
        False, "inline", False, "dark",
    )  # fmt: skip
    assert not window.canvas.scratch_out
    window_color = window.palette().ColorRole.Window
    qtbot.waitUntil(lambda: window.palette().color(window_color).name() == "#2b2d30", timeout=2000)
    window.apply_settings(Settings(model=str(FIXTURE_MODEL), variant="int8"))  # light again


def test_the_model_path_is_shown_whole(window, qtbot) -> None:
    window.open_settings()
    field = window.settings_dialog.model
    field.setText("/home/someone/models/latex_finetuned-ONNX/snapshots/0123456789abcdef")
    qtbot.waitUntil(lambda: field.width() >= field.minimumWidth(), timeout=2000)
    assert field.fontMetrics().horizontalAdvance(field.text()) < field.width()


def test_a_new_variant_reads_the_drawing_again(window, draw, qtbot) -> None:
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        draw(window.canvas, line((60, 60), (260, 160)))
    window.open_settings()
    dialog = window.settings_dialog
    dialog.variant.setCurrentIndex(dialog.variant.findData("fp32"))
    with qtbot.waitSignal(window.recognition.recognized, timeout=20_000) as got:
        dialog.accept()
    assert got.args[0].tag == window.document.revision
    assert "(fp32)" in window.model_label.text()


def test_without_auto_recognition_only_ctrl_enter_recognizes(make_window, draw, qtbot) -> None:
    settings = Settings(model=str(FIXTURE_MODEL), delay_ms=10, auto_recognize=False)
    window = make_window(settings=settings)
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=10_000)
    with qtbot.assertNotEmitted(window.recognition.recognized, wait=300):
        draw(window.canvas, line((60, 60), (260, 160)))
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)


def test_recognizing_an_empty_page_says_so(window) -> None:
    QTest.keyClick(window.canvas, Qt.Key.Key_Return, CTRL)
    assert window.statusBar().currentMessage().startswith("Nothing to recognize yet")


# --- screen snip ---------------------------------------------------------------------


def test_snip_hides_the_window_and_recognizes_the_dragged_region(window, qtbot) -> None:
    from PySide6.QtCore import QPoint

    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        window.actions["snip"].trigger()
        assert not window.isVisible()  # out of its own snip
        qtbot.waitUntil(lambda: window.snipper.overlay is not None, timeout=3000)
        overlay = window.snipper.overlay
        qtbot.waitExposed(overlay)
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mousePress(overlay, left, none, QPoint(20, 30))
        QTest.mouseMove(overlay, QPoint(100, 70))
        QTest.mouseRelease(overlay, left, none, QPoint(140, 90))
    assert window.isVisible()
    ratio = overlay.shot.devicePixelRatio()
    assert window.document.picture.size == (round(120 * ratio), round(60 * ratio))


def test_escape_cancels_a_snip(window, qtbot) -> None:
    window.actions["snip"].trigger()
    qtbot.waitUntil(lambda: window.snipper.overlay is not None, timeout=3000)
    QTest.keyClick(window.snipper.overlay, Qt.Key.Key_Escape)
    assert window.isVisible() and window.document.page.is_empty


SNIP_SCALED = """
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from mathpad.ui.snip import SnipOverlay
app = QApplication([])
screen = QGuiApplication.primaryScreen()
overlay = SnipOverlay(screen.grabWindow(0), screen.geometry())
got = []
overlay.snipped.connect(got.append)
overlay.show()
left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
QTest.mousePress(overlay, left, none, QPoint(10, 10))
QTest.mouseRelease(overlay, left, none, QPoint(110, 60))
print(screen.devicePixelRatio(), got[0].width(), got[0].height())
"""


def test_a_snip_at_scale_2_keeps_the_screens_real_pixels(tmp_path) -> None:
    import json
    import os
    import subprocess
    import sys

    config = tmp_path / "screen.json"
    screen = {"name": "s", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    env["QT_SCALE_FACTOR"] = "2"
    out = subprocess.run(
        [sys.executable, "-c", SNIP_SCALED], env=env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout  # fmt: skip
    assert out.split()[-3:] == ["2.0", "200", "100"]  # 100 x 50 points are 200 x 100 pixels


def test_removing_the_picture_keeps_the_ink_in_one_step(window, draw, qtbot) -> None:
    from .test_transfer import handwriting_picture

    assert not window.actions["remove_picture"].isEnabled()
    QGuiApplication.clipboard().setImage(handwriting_picture())
    QTest.keyClick(window.canvas, Qt.Key.Key_V, CTRL)
    qtbot.waitUntil(lambda: window.document.picture is not None, timeout=5000)
    draw(window.canvas, line((100, 150), (160, 170)))
    note = window.document.ink.strokes
    window.actions["remove_picture"].trigger()
    assert window.document.picture is None and window.document.ink.strokes == note
    assert not window.actions["remove_picture"].isEnabled()
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, CTRL)
    assert window.document.picture is not None
