"""The drawing surface: pointer events in, edits into the core `InkDocument`.

Mouse, tablet (with pressure) and touch all end in the same three steps: begin, extend,
end. While a stroke is drawn only the new segment is painted into a backing image and
only its rectangle is repainted; the whole page is redrawn only when the document or the
view changes (undo, erase, a loaded file, zoom, a resize).

The view (zoom and pan) maps the document's coordinates to the widget's; strokes are
stored in document coordinates, so zooming never changes the ink a file receives. The
view fits the page to the window on load and on resize until the user zooms or pans.
Strokes are painted from polygons cached per stroke with a cosmetic pen, so redrawing a
200,000-point ink is one Qt call per stroke, and a picture from a screen-sized copy made
off the GUI thread (`screen_copy`).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image
from PySide6.QtCore import QElapsedTimer, QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QPointingDevice,
    QPolygonF,
    QResizeEvent,
    QTabletEvent,
    QTouchEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from mathpad.ink.document import InkDocument, Page, Picture
from mathpad.ink.gestures import inside_lasso, scratched
from mathpad.ink.strokes import Ink, Stroke
from mathpad.ui.transfer import to_qimage

Tool = Literal["pen", "eraser", "lasso"]

HINT = "Write math here with a mouse, pen or finger, or drop, paste or snip a picture of it"
MARGIN = 24.0  # px around a fitted page
SCREEN_COPY_SIDE = 3072  # px: the longest side of the picture copy the canvas paints
PAINT_SLICE_MS = 12  # a redraw paints strokes for this long, then lets events in
SIMPLIFY_PX = 0.75  # on screen, points closer than this to the last one drawn are skipped
ZOOM_RANGE = (0.02, 50.0)
ERASER_MIN_RADIUS = 8.0  # px on screen


def screen_copy(image: Image.Image) -> QImage:
    """A copy of a picture small enough to paint at once (run it off the GUI thread: Pillow
    resizes without holding the GIL, so the GUI thread keeps running meanwhile)."""
    if max(image.size) > SCREEN_COPY_SIDE:
        image = image.copy()
        image.thumbnail((SCREEN_COPY_SIDE, SCREEN_COPY_SIDE), Image.Resampling.BILINEAR)
    return to_qimage(image)


def simplified(xy: np.ndarray, tolerance: float) -> np.ndarray:
    """Which points of a polyline to draw (a boolean mask): those after at least `tolerance`
    of path since the last one kept, and the first and last. A screen shows no more."""
    if len(xy) <= 2 or tolerance <= 0:
        return np.ones(len(xy), dtype=bool)
    walked = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    steps = np.floor(walked / tolerance)
    keep = np.concatenate([[True], steps[1:] != steps[:-1]])
    keep[-1] = True
    return keep


class InkCanvas(QWidget):
    """Draw, erase, scratch out, select and move strokes; every edit goes through the
    document (undoable). `ink_changed` follows every change of the page."""

    ink_changed = Signal()
    stroke_started = Signal()
    selection_changed = Signal(int)  # how many strokes are selected

    def __init__(
        self, document: InkDocument, pen_width: float = 2.5, *, scratch_out: bool = True
    ) -> None:
        super().__init__()
        self.document = document
        self.tool: Tool = "pen"
        self.pen_width = pen_width
        self.scratch_out = scratch_out
        self.selection: list[int] = []
        self._clock = QElapsedTimer()
        self._clock.start()
        self._layer = QImage()
        self._pictures: dict[int, tuple[Picture, QImage]] = {}  # id -> (picture, screen copy)
        # id -> (stroke, zoom, the points shown, their pressures)
        self._polygons: dict[int, tuple[Stroke, float, QPolygonF, np.ndarray | None]] = {}
        self._unpainted: list[tuple[int, Stroke]] = []  # strokes a sliced redraw still owes
        self._slice_timer = QTimer(self, singleShot=True, interval=0)
        self._slice_timer.timeout.connect(self._paint_slice)
        self._view = QTransform()  # document coordinates -> widget coordinates
        self._auto_fit = True  # the view follows the window until the user zooms or pans
        self._enlarge = False  # a loaded ink may be scaled up to fit; drawn ink never is
        self._source: str | None = None  # "mouse", "tablet" or "touch" while a drag is down
        self._mode = "draw"  # what the drag does: draw, erase, lasso, move, pan
        self._space = False
        self._last = QPointF()  # the previous pointer position, in widget coordinates
        self._grab = QPointF()  # where a move or pan drag began
        self._offset = QPointF()  # a move drag's offset so far, in document units
        self._points: list[tuple[float, float, float]] = []
        self._pressures: list[float] = []
        self._lasso: list[QPointF] = []
        self._doomed: set[int] = set()  # strokes the eraser has touched in this drag
        self._pinch: tuple[QPointF, float] | None = None  # two fingers' center and spread
        self._button = Qt.MouseButton.NoButton  # the mouse button holding the drag
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(240, 140)
        self.set_tool("pen")
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
        """An empty page (undoable): ink and picture go."""
        revision = self.document.revision
        self.document.clear()
        if self.document.revision != revision:
            self._document_changed(fit=True)

    def load_ink(self, ink: Ink | Page) -> None:
        """Replace the page by a loaded ink (undoable) and fit it to the window."""
        self.document.replace(ink)
        self._enlarge = True  # a file's units are not ours: scale it to fill the view
        self._document_changed(fit=True)

    def load_picture(self, picture: Picture, shown: QImage, ink: Ink | None = None) -> None:
        """Start a page with `picture` and maybe the `ink` on it (undoable); `shown` is its
        `screen_copy`."""
        self._pictures[id(picture)] = (picture, shown)
        self.document.set_picture(picture, ink)
        self._enlarge = False
        self._document_changed(fit=True)

    def remove_picture(self) -> None:
        revision = self.document.revision
        self.document.remove_picture()
        if self.document.revision != revision:
            self._document_changed()

    def delete_selection(self) -> bool:
        """Erase the selected strokes in one step; False when nothing is selected."""
        if not self.selection:
            return False
        self.document.erase(self.selection)
        self._document_changed()
        return True

    def set_pen_width(self, width: float) -> None:
        self.pen_width = width
        self.set_tool(self.tool)  # the eraser's cursor follows the pen's size
        self._redraw()

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        if tool != "lasso":
            self._select([])
        if tool == "eraser":
            self.setCursor(self._eraser_cursor())
        else:
            self.setCursor(Qt.CursorShape.CrossCursor)

    def eraser_radius(self) -> float:
        """The eraser's reach in widget pixels: what its round cursor shows."""
        return max(ERASER_MIN_RADIUS, 3 * self.pen_width)

    def view(self) -> QTransform:
        """The view: document coordinates to widget coordinates."""
        return QTransform(self._view)

    def document_scale(self) -> float:
        """Widget pixels per document unit."""
        return self._view.m11()

    # --- the view ---------------------------------------------------------------------

    def fit(self) -> None:
        """Show the whole page, centered; the view follows the window again."""
        self._auto_fit = True
        self._view = self._fitting_view()
        self._redraw()

    def zoom(self, factor: float, around: QPointF | None = None) -> None:
        """Zoom by `factor` keeping the document point under `around` where it is."""
        at = around if around is not None else QPointF(self.width() / 2, self.height() / 2)
        scale = self._view.m11()
        factor = min(max(scale * factor, ZOOM_RANGE[0]), ZOOM_RANGE[1]) / scale
        anchor = self._to_document(at)
        self._view = QTransform(
            scale * factor, 0, 0, scale * factor,
            at.x() - anchor.x() * scale * factor, at.y() - anchor.y() * scale * factor,
        )  # fmt: skip
        self._auto_fit = False
        self._redraw()

    def pan(self, dx: float, dy: float) -> None:
        self._view = self._view * QTransform.fromTranslate(dx, dy)
        self._auto_fit = False
        self._redraw()

    def _fitting_view(self) -> QTransform:
        """A view that shows all of the page inside the canvas with a margin."""
        bounds = self.document.page.bounds()
        if bounds is None:
            return QTransform()
        x0, y0, x1, y1 = bounds
        scale = min(
            (self.width() - 2 * MARGIN) / max(x1 - x0, 1e-6),
            (self.height() - 2 * MARGIN) / max(y1 - y0, 1e-6),
        )
        if not self._enlarge:
            scale = min(scale, 1.0)  # a picture or a drawing is never blown up
        scale = max(scale, ZOOM_RANGE[0])
        dx = (self.width() - scale * (x1 - x0)) / 2 - scale * x0
        dy = (self.height() - scale * (y1 - y0)) / 2 - scale * y0
        return QTransform(scale, 0, 0, scale, dx, dy)

    def _to_document(self, at: QPointF) -> QPointF:
        return self._view.inverted()[0].map(at)

    # --- keys and wheel ---------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.set_tool(self.tool)
        else:
            super().keyReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.0015 ** delta.y(), event.position())
        else:
            pixels = event.pixelDelta()
            step = pixels if not pixels.isNull() else delta / 2
            self.pan(step.x(), step.y())
        event.accept()

    def event(self, event: QEvent) -> bool:
        if isinstance(event, QTouchEvent):
            self._touch(event)
            return True
        pinch = Qt.NativeGestureType.ZoomNativeGesture  # a touchpad pinch
        if isinstance(event, QNativeGestureEvent) and event.gestureType() == pinch:
            self.zoom(1.0 + event.value(), event.position())
            return True
        return super().event(event)

    # --- pointer events: three kinds of device, one path ----------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._source is not None:
            return
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._begin("mouse", event.position(), None, mode="pan")
        elif button == Qt.MouseButton.RightButton:
            self._begin("mouse", event.position(), None, mode="erase")
        elif button == Qt.MouseButton.LeftButton:
            self._begin("mouse", event.position(), None, mode=self._tool_mode(event.position()))
        self._button = button

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._source == "mouse":
            self._extend(event.position(), None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._source == "mouse" and event.button() == self._button:
            self._end()

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.TabletPress and self._source is None:
            flipped = event.pointerType() == QPointingDevice.PointerType.Eraser
            barrel = bool(event.buttons() & ~Qt.MouseButton.LeftButton)  # a stylus button
            mode = "erase" if flipped or barrel else self._tool_mode(event.position())
            self._begin("tablet", event.position(), event.pressure(), mode=mode)
        elif kind == QEvent.Type.TabletMove and self._source == "tablet":
            self._extend(event.position(), event.pressure())
        elif kind == QEvent.Type.TabletRelease and self._source == "tablet":
            self._end()
        event.accept()  # no synthesized mouse events for a pen we already handled

    def _touch(self, event: QTouchEvent) -> None:
        """One finger draws, two pan and pinch; a cancelled touch keeps what was drawn."""
        event.accept()
        if not event.points():
            self._end()
            return
        if len(event.points()) >= 2:
            self._two_fingers(event)
            return
        self._pinch = None
        position = event.points()[0].position()
        kind = event.type()
        if kind == QEvent.Type.TouchBegin and self._source is None:
            self._begin("touch", position, None, mode=self._tool_mode(position))
        elif kind == QEvent.Type.TouchUpdate and self._source == "touch":
            self._extend(position, None)
        elif self._source == "touch":
            self._end()

    def _two_fingers(self, event: QTouchEvent) -> None:
        if self._source == "touch":  # the first finger's stroke was the start of a gesture
            self._source, self._points, self._pressures = None, [], []
            self._redraw()
        a, b = (p.position() for p in event.points()[:2])
        center = (a + b) / 2
        spread = max(math.hypot(a.x() - b.x(), a.y() - b.y()), 1.0)
        if self._pinch is not None and event.type() == QEvent.Type.TouchUpdate:
            last_center, last_spread = self._pinch
            self.pan(center.x() - last_center.x(), center.y() - last_center.y())
            self.zoom(spread / last_spread, center)
        self._pinch = None if event.type() == QEvent.Type.TouchEnd else (center, spread)

    def _tool_mode(self, at: QPointF) -> str:
        if self.tool == "eraser":
            return "erase"
        if self.tool == "lasso":
            return "move" if self.selection and self._selection_rect().contains(at) else "lasso"
        return "draw"

    def _begin(self, source: str, at: QPointF, pressure: float | None, *, mode: str) -> None:
        self._source, self._mode, self._last, self._grab = source, mode, QPointF(at), QPointF(at)
        if mode == "erase":
            self._erase_near(at)
        elif mode == "lasso":
            self._select([])
            self._lasso = [QPointF(at)]
        elif mode == "move":
            self._offset = QPointF()
        elif mode == "draw":
            if self.document.page.is_empty:
                self.update()  # once per stroke at most: the hint goes away
            self.stroke_started.emit()
            self._points, self._pressures = [], []
            self._add_point(at, pressure)
            self._paint_segment(at, at, pressure)
        else:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def _extend(self, at: QPointF, pressure: float | None) -> None:
        previous, self._last = self._last, QPointF(at)
        if self._mode == "erase":
            self._erase_near(at, previous)
        elif self._mode == "lasso":
            self._lasso.append(QPointF(at))
            self.update()
        elif self._mode == "move":
            self._offset = (at - self._grab) / self._view.m11()
            self._redraw()
        elif self._mode == "pan":
            self.pan(at.x() - previous.x(), at.y() - previous.y())
        else:
            self._add_point(at, pressure)
            self._paint_segment(previous, at, pressure)

    def _end(self) -> None:
        source, self._source = self._source, None
        if source is None:
            return
        if self._mode == "erase":
            doomed, self._doomed = sorted(self._doomed), set()
            if doomed:
                self.document.erase(doomed)
                self._document_changed()
        elif self._mode == "lasso":
            polygon = np.array([(p.x(), p.y()) for p in map(self._to_document, self._lasso)])
            self._lasso = []
            self._select(inside_lasso(self.document.ink, polygon))
        elif self._mode == "move":
            offset, self._offset = self._offset, QPointF()
            self.document.move(self.selection, offset.x(), offset.y())
            self._document_changed(keep_selection=True)
        elif self._mode == "pan":
            if not self._space:
                self.set_tool(self.tool)  # the hand cursor goes
        else:
            self._stroke_done()

    def _stroke_done(self) -> None:
        points = np.array(self._points, dtype=np.float64)
        pressure = np.array(self._pressures, dtype=np.float64) if self._pressures else None
        stroke = Stroke(points, pressure)
        hit = scratched(self.document.ink, stroke) if self.scratch_out else []
        if hit:
            self.document.erase(hit)  # a zigzag over strokes: they go, the zigzag too
            self._document_changed()
        else:
            self.document.add_stroke(stroke)
            self.ink_changed.emit()

    def _add_point(self, at: QPointF, pressure: float | None) -> None:
        p = self._to_document(at)
        self._points.append((p.x(), p.y(), self._clock.nsecsElapsed() / 1e6))
        if pressure is not None:
            self._pressures.append(pressure)

    def _erase_near(self, at: QPointF, since: QPointF | None = None) -> None:
        """Mark the strokes under the eraser on its way from `since` to `at`; they go in one
        undoable step on release."""
        start = self._to_document(since if since is not None else at)
        end = self._to_document(at)
        radius = self.eraser_radius() / max(self._view.m11(), 1e-9)
        steps = max(1, math.ceil(math.dist(start.toTuple(), end.toTuple()) / radius))
        hit: set[int] = set()
        for i in range(steps + 1):  # a fast drag still sweeps everything it passed over
            p = start + (end - start) * (i / steps)
            hit |= set(self.document.strokes_near(p.x(), p.y(), radius))
        hit -= self._doomed
        if hit:
            self._doomed |= hit
            self._redraw()

    def _select(self, indices: list[int]) -> None:
        if indices != self.selection:
            self.selection = indices
            self.selection_changed.emit(len(indices))
            self._redraw()

    def _selection_rect(self) -> QRectF:
        boxes = self.document.ink.stroke_bounds()[self.selection]
        x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
        x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
        rect = self._view.mapRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)))
        return rect.adjusted(-8, -8, 8, 8)

    # --- painting ---------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().color(QPalette.ColorRole.Base))
        painter.drawImage(QPointF(0, 0), self._layer)  # clipped to the updated area
        if self._lasso:
            pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.5)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawPolygon(QPolygonF(self._lasso))
        if self.selection and self._source is None:
            pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.0)
            pen.setStyle(Qt.PenStyle.DotLine)
            painter.setPen(pen)
            painter.drawRect(self._selection_rect())
        if self.document.page.is_empty and self._source is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                HINT,
            )
        if self.hasFocus():  # which pane has the keys: a frame in the accent colour
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2.0))
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))

    def focusInEvent(self, event: object) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: object) -> None:
        super().focusOutEvent(event)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self._view = self._fitting_view()
        self._redraw()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._redraw()  # the ink color follows the theme

    def _document_changed(self, *, fit: bool = False, keep_selection: bool = False) -> None:
        if not keep_selection:
            self.selection = []
            self.selection_changed.emit(0)
        if fit or self._auto_fit:
            self._auto_fit = True
            self._view = self._fitting_view()
        self._redraw()
        self.ink_changed.emit()

    def _redraw(self) -> None:
        """Repaint the whole page layer from the document (not done per pointer move).

        The picture is painted at once; the strokes for PAINT_SLICE_MS at a time, the rest
        in later turns of the event loop, so a huge ink never freezes the window.
        """
        ratio = self.devicePixelRatioF()
        self._layer = QImage(self.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
        self._layer.setDevicePixelRatio(ratio)
        self._layer.fill(Qt.GlobalColor.transparent)
        page = self.document.page
        if page.picture is not None:
            painter = QPainter(self._layer)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            width, height = page.picture.size
            area = self._view.mapRect(QRectF(0, 0, width, height))
            painter.drawImage(area, self._shown(page.picture))
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1.0))
            painter.drawRect(area.adjusted(-0.5, -0.5, 0.5, 0.5))  # the paper's edge
            painter.end()
        live = {id(stroke) for stroke in page.ink.strokes}
        self._polygons = {k: v for k, v in self._polygons.items() if k in live}
        self._unpainted = list(enumerate(page.ink.strokes))
        self._paint_slice()
        self.update()

    def _paint_slice(self) -> None:
        """Paint the strokes still owed for a while; schedule the rest."""
        if not self._unpainted:
            return
        clock = QElapsedTimer()
        clock.start()
        painter = QPainter(self._layer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._view)
        selected = set(self.selection)
        text = self.ink_color()
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        moved = QTransform.fromTranslate(*self._offset.toTuple()) * self._view
        moving = self._source is not None and self._mode == "move"
        while self._unpainted and clock.elapsed() < PAINT_SLICE_MS:
            index, stroke = self._unpainted.pop(0)
            color = QColor(accent if index in selected else text)
            if index in self._doomed:
                color.setAlphaF(0.25)
            painter.setTransform(moved if moving and index in selected else self._view)
            self._paint_stroke(painter, stroke, *self._polygon(stroke), color)
        painter.end()
        self.update()
        if self._unpainted:
            self._slice_timer.start()

    def ink_color(self) -> QColor:
        """The theme's text colour; black on a picture, which is paper whatever the theme
        (and the recognizer sees the ink black on it, too)."""
        if self.document.picture is not None:
            return QColor(Qt.GlobalColor.black)
        return self.palette().color(QPalette.ColorRole.Text)

    def painting(self) -> bool:
        """A sliced redraw is still under way."""
        return bool(self._unpainted)

    def _shown(self, picture: Picture) -> QImage:
        cached = self._pictures.get(id(picture))
        if cached is None or cached[0] is not picture:  # not loaded through load_picture
            cached = (picture, screen_copy(picture.image))
            self._pictures[id(picture)] = cached
        return cached[1]

    def _polygon(self, stroke: Stroke) -> tuple[QPolygonF, np.ndarray | None]:
        """The stroke's points (and pressures), as many as the current zoom can show."""
        scale = self._view.m11()
        cached = self._polygons.get(id(stroke))
        if cached is not None and cached[0] is stroke and cached[1] == scale:
            return cached[2], cached[3]
        keep = simplified(stroke.xy, SIMPLIFY_PX / max(scale, 1e-9))
        polygon = QPolygonF([QPointF(x, y) for x, y in stroke.xy[keep].tolist()])
        pressure = stroke.pressure[keep] if stroke.pressure is not None else None
        self._polygons[id(stroke)] = (stroke, scale, polygon, pressure)
        return polygon, pressure

    def _width(self, pressure: float | np.ndarray | None) -> float | np.ndarray:
        return self.pen_width * (0.3 + 1.4 * pressure if pressure is not None else 1.0)

    def _paint_stroke(
        self,
        painter: QPainter,
        stroke: Stroke,
        polygon: QPolygonF,
        pressure: np.ndarray | None,
        color: QColor,
    ) -> None:
        """One polyline per run of equal width (quarter pixels): one call for a mouse stroke."""
        pen = QPen(color, self._width(None), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        pen.setCosmetic(True)  # widths in screen pixels at every zoom
        if bool(np.all(stroke.xy == stroke.xy[0])):
            if pressure is not None:
                pen.setWidthF(self._width(float(pressure.max())))
            painter.setPen(pen)
            painter.drawPoint(polygon[0])  # a dot: a zero-length line would not show
            return
        if pressure is None:
            painter.setPen(pen)
            painter.drawPolyline(polygon)
            return
        widths = np.round(4 * self._width(pressure)) / 4
        start = 0
        for end in [*(np.flatnonzero(np.diff(widths)) + 1).tolist(), len(widths)]:
            pen.setWidthF(float(widths[start]))
            painter.setPen(pen)
            begin = max(start - 1, 0)  # each run joins the previous one
            painter.drawPolyline(polygon.mid(begin, max(end - begin, 2)))
            start = end

    def _paint_segment(self, start: QPointF, end: QPointF, pressure: float | None) -> None:
        """Paint one new segment into the layer and repaint only its rectangle."""
        painter = QPainter(self._layer)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self._width(pressure)
        color = self.ink_color()
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        if start == end:
            painter.drawPoint(start)
        else:
            painter.drawLine(start, end)
        painter.end()
        area = QRectF(start, end).normalized().adjusted(-width, -width, width, width)
        self.update(area.toAlignedRect())

    def _eraser_cursor(self) -> QCursor:
        """A circle as large as what the eraser reaches."""
        radius = self.eraser_radius()
        ratio = self.devicePixelRatioF()
        side = int(2 * radius + 4)
        pixmap = QPixmap(QSize(side, side) * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        center = QPointF(side / 2, side / 2)
        for color, width in ((Qt.GlobalColor.white, 3.0), (Qt.GlobalColor.black, 1.0)):
            painter.setPen(QPen(color, width))
            painter.drawEllipse(center, radius, radius)
        painter.end()
        return QCursor(pixmap, side // 2, side // 2)
