"""Copying: the clipboard offers the MathML and HTML types, the Copy button names its
format, what fails the checks is shown with a passing alternative, auto-copy."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from mathpad.latex import COPY_FORMAT_NAMES, check, for_copy

from .conftest import line

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton


def _typed(window, text: str) -> None:
    window.source.setFocus()
    QTest.keyClicks(window.source, text)
    window.canvas.setFocus()


def test_mathml_goes_out_as_mathml_and_html(window) -> None:
    _typed(window, r"\frac{a}{b}=x^{2}")
    window.copy("mathml")
    mime = QGuiApplication.clipboard().mimeData()
    for kind in ("text/mathml", "application/mathml+xml"):
        assert kind in mime.formats()
        assert bytes(mime.data(kind)).decode().startswith("<math")
    assert mime.hasHtml() and "<math" in mime.html() and "<mfrac>" in mime.html()
    assert mime.text().startswith("<math")
    assert window.actions["copy"].text() == f"Copy: {COPY_FORMAT_NAMES['mathml']}"


def test_the_copy_button_names_its_format_and_copies_in_it(window) -> None:
    assert window.actions["copy"].text() == f"Copy: {COPY_FORMAT_NAMES['as_is']}"
    window.copy("inline")
    assert window.actions["copy"].text() == f"Copy: {COPY_FORMAT_NAMES['inline']}"
    _typed(window, "x+1")
    QTest.keyClick(window.canvas, Qt.Key.Key_C, CTRL_SHIFT)
    assert QGuiApplication.clipboard().text() == "$x+1$"


def test_the_picture_goes_out_as_png_and_svg(window) -> None:
    _typed(window, r"\sqrt{2}")
    window.copy_picture()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasImage() and bytes(mime.data("image/png")).startswith(b"\x89PNG")
    assert b"<svg" in bytes(mime.data("image/svg+xml"))
    assert mime.text() == r"\sqrt{2}"


def test_a_failing_check_is_shown_with_a_way_out(window) -> None:
    QGuiApplication.clipboard().setText("before")
    _typed(window, r"\frac{a}{b")
    window.copy("as_is")
    bar = window.copier.bar
    assert bar.isVisible() and "will not compile" in bar.text.text()
    assert QGuiApplication.clipboard().text() == "before"  # nothing went out yet
    assert not bar.use.isVisible()  # no alternative passes (there are none)
    QTest.mouseClick(bar.anyway, LEFT)
    assert QGuiApplication.clipboard().text() == r"\frac{a}{b" and not bar.isVisible()


def test_the_best_passing_alternative_is_offered(window) -> None:
    window.alternatives.show_alternatives([r"\left( x", r"\frac{a}{b}", "y"])
    _typed(window, r"\frac{a}{b")
    window.copy("as_is")
    bar = window.copier.bar
    assert bar.use.isVisible() and r"\frac{a}{b}" in bar.use.text()
    QTest.mouseClick(bar.use, LEFT)
    assert QGuiApplication.clipboard().text() == r"\frac{a}{b}"


def test_auto_copy_after_each_recognition(window, draw, qtbot) -> None:
    window.copier.auto.setChecked(True)
    assert window.settings.auto_copy
    QGuiApplication.clipboard().setText("before")
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        draw(window.canvas, line((60, 60), (260, 160)))
    text = got.args[0].text()
    assert check(text) == []  # the fixture's reading passes, so it is copied at once
    assert QGuiApplication.clipboard().text() == for_copy(text, window.settings.copy_format)
    window.copier.auto.setChecked(False)
    assert not window.settings.auto_copy
