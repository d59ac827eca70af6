"""Copying: the LaTeX checked first, in the format the Copy button names, with the MIME
types that let Word and LibreOffice paste an equation.

Before the text goes out, `mathpad.latex.check` looks for unbalanced braces, unpaired
`\\left`/`\\right` and open environments. When something fails, a bar says what, and
offers the best alternative reading that passes, or to copy anyway. MathML goes out as
text/plain, text/html, text/mathml and application/mathml+xml (and the Windows "MathML"
format), so an office program pastes an equation and a text editor the markup; a picture
goes out as PNG and SVG, with the LaTeX as its text. An option copies after every
recognition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from PySide6.QtCore import QMimeData, QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QToolButton,
    QWidget,
)

from mathpad.errors import MathpadError
from mathpad.latex import COPY_FORMAT_NAMES, CopyFormat, check, for_copy, to_html
from mathpad.render import render_png, render_svg
from mathpad.settings import Settings

MATHML_TYPES = (
    "text/mathml",
    "application/mathml+xml",
    'application/x-qt-windows-mime;value="MathML"',
)
SHOWN_BY_THE_TABLE = ("as_is", "inline", "display")  # the window's own Copy entries
COPY_DPI = 200.0  # the clipboard picture: sharp when pasted into documents


def text_mime(latex: str, fmt: CopyFormat) -> QMimeData:
    """`latex` as `fmt` for the clipboard; MathML under every type office programs read."""
    text = for_copy(latex, fmt)
    mime = QMimeData()
    mime.setText(text)
    if fmt == "mathml":
        mime.setHtml(to_html(latex))
        for kind in MATHML_TYPES:
            mime.setData(kind, text.encode("utf-8"))
    return mime


def picture_mime(latex: str) -> QMimeData:
    """The preview as PNG and SVG (black on white), with the LaTeX as text."""
    rendered = render_png(latex, dpi=COPY_DPI, color="black", background="white")
    mime = QMimeData()
    mime.setImageData(QImage.fromData(rendered.png, "PNG"))
    mime.setData("image/png", rendered.png)
    mime.setData("image/svg+xml", render_svg(latex, color="black"))
    mime.setText(latex)
    return mime


class ProblemBar(QWidget):
    """What fails the checks, with the way out: a passing alternative, or copy anyway."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLabel(wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.use = QPushButton()
        self.anyway = QPushButton("Copy anyway")
        self.cancel = QPushButton("Cancel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.text, 1)
        for button in (self.use, self.anyway, self.cancel):
            layout.addWidget(button)
        self.cancel.clicked.connect(self.hide)
        self.hide()


class Copier(QObject):
    """The window's Copy: checks, formats, MIME types, the button's name, auto-copy."""

    def __init__(
        self,
        parent: QWidget,
        copy_action: QAction,
        latex: Callable[[], str],
        alternatives: Callable[[], Sequence[str]],
        settings: Callable[[], Settings],
        store: Callable[[Settings], None],
        tell: Callable[[str], None],
        copied: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self.bar = ProblemBar(parent)
        self._action, self._latex, self._alternatives = copy_action, latex, alternatives
        self._settings, self._store, self._tell, self._copied = settings, store, tell, copied
        self._pending: tuple[str, CopyFormat] | None = None
        self.bar.anyway.clicked.connect(self._copy_anyway)
        self.bar.use.clicked.connect(self._copy_alternative)
        self.auto = QAction("Copy after each recognition", parent, checkable=True)
        self.auto.setChecked(settings().auto_copy)
        self.auto.toggled.connect(self._auto_toggled)
        self.show_format()

    def attach(self, window: QMainWindow) -> None:
        """Add the formats the command table lacks and the auto-copy option to the Copy
        menus; the toolbar's Copy button shows its format in words."""
        menus = [m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Copy"]
        for button in window.findChildren(QToolButton):
            if button.defaultAction() is self._action and button.menu() is not None:
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
                menus.append(button.menu())
        for menu in menus:
            menu.addSeparator()
            for fmt, name in COPY_FORMAT_NAMES.items():
                if fmt not in SHOWN_BY_THE_TABLE:
                    menu.addAction(f"Copy {name}").triggered.connect(
                        lambda _=False, f=fmt: self.copy(f)
                    )
            menu.addAction(self.auto)
        window.statusBar().addWidget(self.bar, 1)

    def show_format(self) -> None:
        """The Copy button says which format it copies."""
        name = COPY_FORMAT_NAMES[self._settings().copy_format]
        self._action.setText(f"Copy: {name}")
        self._action.setToolTip(f"Copy the LaTeX as {name} (Ctrl+Shift+C)")

    def copy(self, fmt: CopyFormat | None = None) -> None:
        """Copy the editor's LaTeX as `fmt` (the last chosen when None), checked first."""
        if fmt is not None and fmt != self._settings().copy_format:
            self._store(dataclasses.replace(self._settings(), copy_format=fmt))
            self.show_format()
        latex = self._latex()
        if not latex:
            self._tell("Nothing to copy yet.")
            return
        fmt = self._settings().copy_format
        problems = check(latex)
        if not problems:
            self._put(latex, fmt)
            return
        self._pending = (latex, fmt)
        passing = next((a for a in self._alternatives() if not check(a)), None)
        shown = "; ".join(p.message for p in problems[:3])
        self.bar.text.setText(f"This LaTeX will not compile: {shown}.")
        self.bar.use.setVisible(passing is not None)
        if passing is not None:
            self.bar.use.setText(f"Copy {passing} instead")
            self.bar.use.setProperty("latex", passing)
        self.bar.show()

    def recognized(self) -> None:
        """After a recognition: copy when the option is on and the LaTeX passes."""
        latex = self._latex()
        if self._settings().auto_copy and latex and not check(latex):
            self._put(latex, self._settings().copy_format)

    def copy_picture(self) -> None:
        latex = self._latex()
        try:
            mime = picture_mime(latex)
        except MathpadError as error:
            self._tell(f"Cannot copy a picture. {error}")
            return
        QGuiApplication.clipboard().setMimeData(mime)
        self._tell("Copied the rendered picture (PNG and SVG).")

    def _put(self, latex: str, fmt: CopyFormat) -> None:
        try:
            mime = text_mime(latex, fmt)
        except MathpadError as error:
            self._tell(f"Cannot copy as {COPY_FORMAT_NAMES[fmt]}: {error}")
            return
        QGuiApplication.clipboard().setMimeData(mime)
        self._copied(latex)
        self._tell(f"Copied as {COPY_FORMAT_NAMES[fmt]}.")

    def _copy_anyway(self) -> None:
        self.bar.hide()
        if self._pending is not None:
            self._put(*self._pending)

    def _copy_alternative(self) -> None:
        self.bar.hide()
        if self._pending is not None:
            self._put(str(self.bar.use.property("latex")), self._pending[1])

    def _auto_toggled(self, on: bool) -> None:
        self._store(dataclasses.replace(self._settings(), auto_copy=on))
