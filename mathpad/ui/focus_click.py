"""A click that only moves the focus to the canvas draws nothing.

After typing in the LaTeX editor, people click the canvas to go back to it; that click
must not leave a dot (a dot is a symbol: a decimal point, a `\\cdot`). The press that gave
the canvas its focus is held back: a release without moving makes it a focusing click,
while moving on draws the stroke from where the press was, so writing at once loses
nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QFocusEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

MOVE_PX = 3.0  # a hand that moves this far is writing, not clicking


class FocusClick(QObject):
    """Event filter on `canvas` that eats the focusing click (and only that)."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self._canvas = canvas
        self._focusing = False  # focus just came by a mouse press
        self._held: QMouseEvent | None = None  # the press held back
        canvas.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.FocusIn:
            assert isinstance(event, QFocusEvent)
            self._focusing = event.reason() == Qt.FocusReason.MouseFocusReason
            return False
        if not isinstance(event, QMouseEvent):
            return False
        if kind == QEvent.Type.MouseButtonPress:
            focusing, self._focusing = self._focusing, False
            if focusing and event.button() == Qt.MouseButton.LeftButton:
                self._held = event.clone()
                return True
            return False
        held = self._held
        if held is None:
            return False
        if kind == QEvent.Type.MouseMove:
            moved = event.position() - held.position()
            if QPointF.dotProduct(moved, moved) < MOVE_PX * MOVE_PX:
                return True
            self._held = None
            QApplication.sendEvent(self._canvas, held)  # writing after all: press, then this move
            return False
        if kind == QEvent.Type.MouseButtonRelease:
            self._held = None
            return True  # a click that only focused
        return False
