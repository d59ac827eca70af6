"""Copy to the clipboard in every format; paste, drop and open pictures and ink."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QGuiApplication,
    QImage,
    QPainter,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from mathpad.ink.inkml import write_inkml
from mathpad.ink.strokes import Ink, Stroke
from mathpad.settings import load_settings

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def handwriting_picture() -> QImage:
    """A screenshot-like picture of a formula: dark text on white."""
    image = QImage(360, 120, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setFont(QFont("DejaVu Sans", 40))
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter, "x² + 1")
    painter.end()
    return image


def drop(window, mime: QMimeData) -> bool:
    """Drag `mime` over the window and drop it, as a file manager would."""
    return drop_on(window, mime, QPointF(window.canvas.geometry().center()))


def drop_on(target, mime: QMimeData, where: QPointF | None = None) -> bool:
    """Drag `mime` over the widget `target` and drop it there."""
    where = where if where is not None else QPointF(target.rect().center())
    actions = Qt.DropAction.CopyAction
    with warnings.catch_warnings():  # Qt 6.12 prefers a QPointF that Qt 6.11 refuses
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            where.toPoint(),
            actions,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(
        where, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, event)
    return True


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("copy_as_is", "x^{2}+1"),
        ("copy_inline", "$x^{2}+1$"),
        ("copy_display", "\\[x^{2}+1\\]"),
    ],
)
def test_copy_formats_reach_the_clipboard(window, action: str, expected: str) -> None:
    window.source.setPlainText("  x^{2}+1 ")
    window.actions[action].trigger()
    assert QGuiApplication.clipboard().text() == expected
    # Ctrl+Shift+C repeats the last format chosen, which is remembered
    QGuiApplication.clipboard().clear()
    QTest.keyClick(window.canvas, Qt.Key.Key_C, CTRL | SHIFT)
    assert QGuiApplication.clipboard().text() == expected
    assert load_settings().copy_format == action.removeprefix("copy_")


def test_copy_with_no_latex_keeps_the_clipboard(window) -> None:
    QGuiApplication.clipboard().setText("before")
    QTest.keyClick(window.canvas, Qt.Key.Key_C, CTRL | SHIFT)
    assert QGuiApplication.clipboard().text() == "before"
    assert window.statusBar().currentMessage() == "Nothing to copy yet."


def test_copy_the_rendered_picture(window) -> None:
    window.source.setPlainText(r"\frac{a}{b}")
    window.actions["copy_picture"].trigger()
    mime = QGuiApplication.clipboard().mimeData()
    image = QGuiApplication.clipboard().image()
    assert not image.isNull() and image.width() > 20
    assert image.pixelColor(0, 0).name() == "#ffffff"
    assert mime.text() == r"\frac{a}{b}"


def test_copy_picture_of_unrenderable_latex_says_why(window) -> None:
    QGuiApplication.clipboard().setText("before")
    window.source.setPlainText(r"\foo{1}")
    window.actions["copy_picture"].trigger()
    assert QGuiApplication.clipboard().text() == "before"
    assert "mathtext does not know" in window.statusBar().currentMessage()


def test_paste_an_image_recognizes_it(window, draw, qtbot) -> None:
    QGuiApplication.clipboard().setImage(handwriting_picture())
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        QTest.keyClick(window.canvas, Qt.Key.Key_V, CTRL)
    assert got.args[0].tag == ("picture", 1)
    assert window.document.picture is not None
    assert window.document.ink.is_empty


def test_pasted_text_goes_to_the_editor_wherever_the_focus_is(window, qtbot) -> None:
    QGuiApplication.clipboard().setText(r"\frac{a}{b}")
    QTest.keyClick(window.canvas, Qt.Key.Key_V, CTRL)
    assert window.source.toPlainText() == r"\frac{a}{b}"
    assert window.source.hasFocus()
    assert window.document.page.is_empty


def test_paste_of_nothing_says_so(window) -> None:
    QGuiApplication.clipboard().clear()
    QTest.keyClick(window.canvas, Qt.Key.Key_V, CTRL)
    assert window.statusBar().currentMessage() == "Nothing to paste: the clipboard is empty."


def test_drop_an_image_file_recognizes_it(window, tmp_path: Path, qtbot) -> None:
    path = tmp_path / "formula.png"
    handwriting_picture().save(str(path))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        assert drop(window, mime)
    assert got.args[0].tag == ("picture", 1)


def test_drop_image_data_recognizes_it(window, qtbot) -> None:
    mime = QMimeData()
    mime.setImageData(handwriting_picture())
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        assert drop(window, mime)


def test_drop_an_inkml_file_loads_and_recognizes_the_ink(window, tmp_path: Path, qtbot) -> None:
    ink = Ink((Stroke([[0, 0, 0], [40, 30, 10], [80, 0, 20]]), Stroke([[100, 0], [100, 40]])))
    path = tmp_path / "sample.inkml"
    write_inkml(ink, path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        assert drop(window, mime)
    assert len(window.document.ink.strokes) == 2
    assert got.args[0].tag == window.document.revision


def test_drop_of_plain_text_is_refused(window) -> None:
    mime = QMimeData()
    mime.setText("hello")
    assert not drop(window, mime)


def test_open_a_broken_file_gives_a_message(window, dialogs, tmp_path: Path, qtbot) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    dialogs.open_answer = str(path)
    QTest.keyClick(window.canvas, Qt.Key.Key_O, CTRL)
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=5000)  # read on a worker
    ((title, text),) = dialogs.errors
    assert title == "Cannot open this file"
    assert "broken.png" in text


def test_open_an_image_with_ctrl_o(window, dialogs, tmp_path: Path, qtbot) -> None:
    path = tmp_path / "formula.png"
    handwriting_picture().save(str(path))
    dialogs.open_answer = str(path)
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_O, CTRL)
    assert not dialogs.errors


def test_ink_on_a_picture_annotates_it_and_both_are_read_as_one(window, draw, qtbot) -> None:
    QGuiApplication.clipboard().setImage(handwriting_picture())
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_V, CTRL)
    picture = window.document.picture
    sent = []
    window.recognition.picture_loaded = sent.append  # what the controller is given
    view = window.canvas.view()  # the picture's pixels to the canvas's
    start, end = view.map(QPointF(8, 6)).toPoint(), view.map(QPointF(60, 20)).toPoint()
    draw(window.canvas, [(start.x(), start.y()), (end.x(), end.y())])
    assert window.document.picture is picture and len(window.document.ink.strokes) == 1
    qtbot.waitUntil(lambda: bool(sent), timeout=5000)
    (image,) = sent
    assert image.size == picture.size  # in the picture's own pixels
    x, y = map(int, window.document.ink.strokes[0].xy.mean(axis=0))
    assert image.getpixel((x, y)) == (0, 0, 0)  # the ink is in the image
    assert picture.image.convert("RGB").getpixel((x, y)) != (0, 0, 0)


@pytest.mark.parametrize(
    "fmt",
    [
        QImage.Format.Format_RGB32,
        QImage.Format.Format_ARGB32,
        QImage.Format.Format_RGB888,
        QImage.Format.Format_Indexed8,
        QImage.Format.Format_Grayscale8,
    ],
)
def test_pasted_pixels_reach_the_core_unchanged(fmt: QImage.Format) -> None:
    from mathpad.ui.transfer import picture_from_qimage

    source = QImage(7, 5, QImage.Format.Format_RGB32)  # odd width: rows are padded
    source.fill(Qt.GlobalColor.white)
    source.setPixelColor(3, 2, Qt.GlobalColor.black)
    source.setPixelColor(
        0, 0, QColor(200, 30, 10) if fmt != QImage.Format.Format_Grayscale8 else QColor(90, 90, 90)
    )
    image = picture_from_qimage(source.convertToFormat(fmt), "paste").convert("RGB")
    assert image.size == (7, 5)
    assert image.getpixel((3, 2)) == (0, 0, 0) and image.getpixel((6, 4)) == (255, 255, 255)
    assert image.getpixel((0, 0)) == source.convertToFormat(fmt).pixelColor(0, 0).getRgb()[:3]


def test_a_transparent_paste_keeps_its_alpha() -> None:
    from mathpad.ui.transfer import picture_from_qimage

    source = QImage(4, 4, QImage.Format.Format_ARGB32)
    source.fill(Qt.GlobalColor.transparent)
    source.setPixelColor(1, 1, QColor(0, 0, 0, 255))
    image = picture_from_qimage(source, "paste")
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((1, 1)) == (0, 0, 0, 255)
