"""The drawing surface: pointer events in, strokes into the core `InkDocument`.

Mouse, tablet (with pressure) and touch all end in the same three steps: begin, extend,
end. While a stroke is drawn only the new segment is painted into a backing image and
only its rectangle is repainted; the whole ink is redrawn only when the document changes
as a whole (undo, erase, a loaded file, a resize).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPointingDevice,
    QResizeEvent,
    QTabletEvent,
    QTouchEvent,
    QTransform,
)
from PySide6.QtWidgets import QWidget

from mathpad.ink.document import InkDocument
from mathpad.ink.strokes import Ink, Stroke

Tool = Literal["pen", "eraser"]

HINT = "Write math here with a mouse, pen or finger, or drop a picture of it"


class InkCanvas(QWidget):
    """Draw and erase strokes; every finished edit goes through the document (undoable)."""

    ink_changed = Signal()
    stroke_started = Signal()

    def __init__(self, document: InkDocument, pen_width: float = 2.5) -> None:
        super().__init__()
        self.document = document
        self.tool: Tool = "pen"
        self.pen_width = pen_width
        self._clock = QElapsedTimer()
        self._clock.start()
        self._layer = QImage()
        self._backdrop: QImage | None = None
        self._view = QTransform()  # document coordinates -> widget coordinates
        self._source: str | None = None  # "mouse", "tablet" or "touch" while a stroke is down
        self._erasing = False
        self._last = QPointF()  # the previous pointer position, in widget coordinates
        self._points: list[tuple[float, float, float]] = []
        self._pressures: list[float] = []
        self._doomed: set[int] = set()  # strokes the eraser has touched in this drag
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMinimumSize(320, 200)
        self._redraw()

    # --- document edits -------------------------------------------------------------

    def undo(self) -> None:
        if self.document.can_undo:
            self.document.undo()
            self._document_changed()

    def redo(self) -> None:
        if self.document.can_redo:
            self.document.redo()
            self._document_changed()

    def clear(self) -> None:
        """Remove all ink (undoable) and any backdrop picture."""
        self._backdrop = None
        revision = self.document.revision
        self.document.clear()
        if self.document.revision != revision:
            self._document_changed()
        else:
            self.update()

    def load_ink(self, ink: Ink) -> None:
        """Replace the ink (undoable) and scale the view so all of it is visible."""
        self._backdrop = None
        self.document.replace(ink)
        self._view = self._fitting_view(ink)
        self._document_changed()

    def set_backdrop(self, image: QImage | None) -> None:
        """Show a loaded picture behind the ink; drawing a new stroke removes it."""
        self._backdrop = image
        self.update()

    def set_pen_width(self, width: float) -> None:
        self.pen_width = width
        self._redraw()

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        shape = (
            Qt.CursorShape.PointingHandCursor if tool == "eraser" else Qt.CursorShape.CrossCursor
        )
        self.setCursor(shape)

    # --- pointer events: three kinds of device, one path ----------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._source is None:
            self._begin("mouse", event.position(), None, eraser=self.tool == "eraser")

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._source == "mouse":
            self._extend(event.position(), None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._source == "mouse" and event.button() == Qt.MouseButton.LeftButton:
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.TabletPress and self._source is None:
            flipped = event.pointerType() == QPointingDevice.PointerType.Eraser
            eraser = flipped or self.tool == "eraser"
            self._begin("tablet", event.position(), event.pressure(), eraser=eraser)
        elif kind == QEvent.Type.TabletMove and self._source == "tablet":
            self._extend(event.position(), event.pressure())
        elif kind == QEvent.Type.TabletRelease and self._source == "tablet":
            self._end()
        event.accept()  # no synthesized mouse events for a pen we already handled

    def event(self, event: QEvent) -> bool:
        if isinstance(event, QTouchEvent):
            self._touch(event)
            return True
        return super().event(event)

    def _touch(self, event: QTouchEvent) -> None:
        """One finger draws; a cancelled touch keeps what was drawn so far."""
        event.accept()
        if not event.points():
            self._end()
            return
        position = event.points()[0].position()
        kind = event.type()
        if kind == QEvent.Type.TouchBegin and self._source is None:
            self._begin("touch", position, None, eraser=self.tool == "eraser")
        elif kind == QEvent.Type.TouchUpdate and self._source == "touch":
            self._extend(position, None)
        elif self._source == "touch":
            self._end()

    def _begin(self, source: str, at: QPointF, pressure: float | None, *, eraser: bool) -> None:
        self._source, self._erasing = source, eraser
        if eraser:
            self._erase_near(at)
            return
        if self._backdrop is not None or self.document.ink.is_empty:
            self._backdrop = None
            self.update()  # once per stroke at most: the picture or the hint goes away
        self.stroke_started.emit()
        self._points, self._pressures = [], []
        self._add_point(at, pressure)
        self._paint_segment(at, at, pressure)

    def _extend(self, at: QPointF, pressure: float | None) -> None:
        if self._erasing:
            self._erase_near(at)
            return
        previous = self._last
        self._add_point(at, pressure)
        self._paint_segment(previous, at, pressure)

    def _end(self) -> None:
        source, self._source = self._source, None
        if source is None:
            return
        if self._erasing:
            doomed, self._doomed = sorted(self._doomed), set()
            if doomed:
                self.document.erase(doomed)
                self._document_changed()
            return
        points = np.array(self._points, dtype=np.float64)
        pressure = np.array(self._pressures, dtype=np.float64) if self._pressures else None
        self.document.add_stroke(Stroke(points, pressure))
        self.ink_changed.emit()

    def _add_point(self, at: QPointF, pressure: float | None) -> None:
        self._last = QPointF(at)
        p = self._view.inverted()[0].map(at)
        self._points.append((p.x(), p.y(), self._clock.nsecsElapsed() / 1e6))
        if pressure is not None:
            self._pressures.append(pressure)

    def _erase_near(self, at: QPointF) -> None:
        """Mark the strokes under the eraser; they go in one undoable step on release."""
        p = self._view.inverted()[0].map(at)
        radius = max(8.0, 3 * self.pen_width) / max(self._view.m11(), 1e-9)
        hit = set(self.document.strokes_near(p.x(), p.y(), radius)) - self._doomed
        if hit:
            self._doomed |= hit
            self._redraw()

    # --- painting ---------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().color(QPalette.ColorRole.Base))
        if self._backdrop is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._backdrop_rect(self._backdrop), self._backdrop)
        painter.drawImage(QPointF(0, 0), self._layer)  # clipped to the updated area
        if self.document.ink.is_empty and self._backdrop is None and self._source is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, HINT)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._redraw()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._redraw()  # the ink color follows the theme

    def _document_changed(self) -> None:
        if self.document.ink.is_empty:
            self._view = QTransform()
        self._redraw()
        self.ink_changed.emit()

    def _redraw(self) -> None:
        """Repaint the whole ink layer from the document (not done per pointer move)."""
        ratio = self.devicePixelRatioF()
        self._layer = QImage(self.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
        self._layer.setDevicePixelRatio(ratio)
        self._layer.fill(Qt.GlobalColor.transparent)
        painter = QPainter(self._layer)
        for index, stroke in enumerate(self.document.ink.strokes):
            faded = index in self._doomed
            self._paint_stroke(painter, stroke, faded)
        painter.end()
        self.update()

    def _paint_stroke(self, painter: QPainter, stroke: Stroke, faded: bool) -> None:
        points = [self._view.map(QPointF(float(x), float(y))) for x, y in stroke.xy]
        pressures = stroke.pressure if stroke.pressure is not None else [None] * len(points)
        for i, point in enumerate(points):
            previous = points[i - 1] if i else point
            self._segment(painter, previous, point, pressures[i], faded)

    def _paint_segment(self, start: QPointF, end: QPointF, pressure: float | None) -> None:
        """Paint one new segment into the layer and repaint only its rectangle."""
        painter = QPainter(self._layer)
        width = self._segment(painter, start, end, pressure, faded=False)
        painter.end()
        area = QRectF(start, end).normalized().adjusted(-width, -width, width, width)
        self.update(area.toAlignedRect())

    def _segment(
        self, painter: QPainter, start: QPointF, end: QPointF, pressure: float | None, faded: bool
    ) -> float:
        width = self.pen_width * (0.3 + 1.4 * pressure if pressure is not None else 1.0)
        color = QColor(self.palette().color(QPalette.ColorRole.Text))
        if faded:
            color.setAlphaF(0.25)
        pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        if start == end:
            painter.drawPoint(start)  # a dot: a zero-length line would not show
        else:
            painter.drawLine(start, end)
        return width

    def _backdrop_rect(self, image: QImage) -> QRectF:
        """`image` scaled to fit the canvas with a margin, centered, never enlarged."""
        size = image.deviceIndependentSize()
        area = QRectF(self.rect()).adjusted(16, 16, -16, -16)
        scale = min(1.0, area.width() / size.width(), area.height() / size.height())
        fitted = QRectF(0, 0, size.width() * scale, size.height() * scale)
        fitted.moveCenter(area.center())
        return fitted

    def _fitting_view(self, ink: Ink) -> QTransform:
        """A view that shows all of `ink` inside the canvas with a margin."""
        if ink.is_empty:
            return QTransform()
        x0, y0, x1, y1 = ink.bounds()
        margin = 24.0
        scale = min(
            (self.width() - 2 * margin) / max(x1 - x0, 1e-6),
            (self.height() - 2 * margin) / max(y1 - y0, 1e-6),
        )
        dx = (self.width() - scale * (x1 - x0)) / 2 - scale * x0
        dy = (self.height() - scale * (y1 - y0)) / 2 - scale * y0
        return QTransform(scale, 0, 0, scale, dx, dy)
