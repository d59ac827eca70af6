"""The LaTeX source editor: the user's text wins over the model's.

Every reading replaces the text as one undoable edit (never `setPlainText`, which would
wipe the editor's undo), so Ctrl+Z in the editor brings back what was there before. Once
the user has changed the text away from the last reading, a new reading no longer replaces
it: it is offered in a bar below the text, accepted with Alt+Return (or the bar's button),
and accepting is one more undoable edit. Doubtful spans of the reading are underlined while
the text is the reading; clicking one (or Alt+Down inside it) asks for its replacements.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QResizeEvent,
    QShortcut,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextEdit, QWidget

ACCEPT_KEY = "Alt+Return"
DOUBT_COLOR = QColor("#d9480f")  # the preview marks doubtful symbols in the same colour


@dataclass(frozen=True)
class Span:
    """A doubtful stretch of the reading's text and what the caller wants back for it."""

    start: int
    end: int
    payload: object


class OfferBar(QWidget):
    """ "New reading: …  [Use it]": a reading that did not replace the user's text."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.use = QPushButton(f"Use it ({QKeySequence(ACCEPT_KEY).toString()})")
        self.dismiss = QPushButton("Keep mine")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.use)
        layout.addWidget(self.dismiss)


class LatexEditor(QPlainTextEdit):
    """The LaTeX as the user sees and edits it, with the model's newest reading beside it."""

    doubt_clicked = Signal(object, QPoint)  # a Span's payload, where to show its choices
    user_edited = Signal()  # an undoable change the user made (not a reading put in)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("The LaTeX appears here; you can edit it.")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._reading = ""  # the model's text as last put here
        self._offered: str | None = None
        self._spans: list[Span] = []
        self._putting = False
        self.document().undoCommandAdded.connect(self._undo_added)
        self._bar = OfferBar(self)
        self._bar.hide()
        self._bar.use.clicked.connect(self.accept_offer)
        self._bar.dismiss.clicked.connect(self.dismiss_offer)
        accept = QShortcut(QKeySequence(ACCEPT_KEY), self)
        accept.setContext(Qt.ShortcutContext.WindowShortcut)
        accept.activated.connect(self.accept_offer)
        self.textChanged.connect(self._text_changed)

    @property
    def edited(self) -> bool:
        """The user has changed the text away from the last reading."""
        return self.toPlainText() != self._reading

    @property
    def offered(self) -> str | None:
        """A new reading waiting beside the user's text, or None."""
        return self._offered

    def show_reading(self, text: str, spans: list[Span] | tuple[Span, ...] = ()) -> None:
        """A new reading: it replaces the text unless the user has edited it."""
        if self.edited and self.toPlainText().strip():
            self._offer(text or None)  # an empty drawing offers nothing to replace theirs
            return
        self._put(text)
        self._set_spans(list(spans))

    def take(self, text: str) -> None:
        """The user chose `text` (an alternative): it replaces theirs, undoably."""
        self._put(text)
        self._set_spans([])
        self.user_edited.emit()  # the user's own choice: Undo takes it back first

    def restore(self, text: str, edited: bool) -> None:
        """Put back an autosaved text; an edited one stays the user's (readings are offered)."""
        self._put(text)
        if edited:
            self._reading = ""

    def accept_offer(self) -> None:
        """Put the offered reading in place of the user's text (Ctrl+Z brings theirs back)."""
        if self._offered is not None:
            self._put(self._offered)
            self._set_spans([])
            self.user_edited.emit()

    def dismiss_offer(self) -> None:
        self._offer(None)

    def spans(self) -> list[Span]:
        return list(self._spans)

    def _put(self, text: str) -> None:
        self._offer(None)
        self._reading = text
        if text == self.toPlainText():
            return
        cursor = QTextCursor(self.document())
        self._putting = True
        try:
            cursor.beginEditBlock()
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(text)
            cursor.endEditBlock()
        finally:
            self._putting = False

    def _undo_added(self) -> None:
        if not self._putting:
            self.user_edited.emit()

    def _offer(self, text: str | None) -> None:
        self._offered = text if text != self.toPlainText() else None
        if self._offered is None:
            self._bar.hide()
        else:
            shown = self._offered.replace("\n", "  ⏎  ") or "(nothing)"
            self._bar.text.setText(f"New reading: {shown}")
            self._bar.show()
        self._place_bar()

    def _set_spans(self, spans: list[Span]) -> None:
        self._spans = spans
        marks = []
        for span in spans:
            mark = QTextEdit.ExtraSelection()
            mark.cursor = QTextCursor(self.document())
            mark.cursor.setPosition(span.start)
            mark.cursor.setPosition(span.end, QTextCursor.MoveMode.KeepAnchor)
            style = QTextCharFormat()
            style.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            style.setUnderlineColor(DOUBT_COLOR)
            style.setToolTip("Doubtful: click for other readings")
            mark.format = style
            marks.append(mark)
        self.setExtraSelections(marks)

    def _text_changed(self) -> None:
        if self._spans and self.edited:  # the reading's positions no longer hold
            self._set_spans([])
        if self._offered is not None and self._offered == self.toPlainText():
            self._offer(None)

    def _span_at(self, position: int) -> Span | None:
        return next((s for s in self._spans if s.start <= position < s.end), None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() != Qt.MouseButton.LeftButton or self.textCursor().hasSelection():
            return
        span = self._span_at(self.cursorForPosition(event.position().toPoint()).position())
        if span is not None:
            self.doubt_clicked.emit(span.payload, event.globalPosition().toPoint())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt = event.modifiers() == Qt.KeyboardModifier.AltModifier
        if alt and event.key() == Qt.Key.Key_Down:
            cursor = self.textCursor()
            span = self._span_at(cursor.position()) or self._span_at(cursor.position() - 1)
            if span is not None:
                at = self.viewport().mapToGlobal(self.cursorRect(cursor).bottomLeft())
                self.doubt_clicked.emit(span.payload, at)
                return
        super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_bar()

    def _place_bar(self) -> None:
        """The bar sits along the bottom edge; the text keeps clear of it."""
        height = self._bar.sizeHint().height() if self._bar.isVisible() else 0
        self.setViewportMargins(0, 0, 0, height)
        rect = self.contentsRect()
        self._bar.setGeometry(rect.left(), rect.bottom() - height + 1, rect.width(), height)
