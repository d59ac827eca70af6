"""Screen snip: hide the pad, freeze the screen, drag a region, recognize it.

On X11, Windows and macOS the screen is grabbed with `QScreen.grabWindow(0)` at its real
pixels (a 2x screen gives twice the logical size: pix2tex's HiDPI snips came out blurred
or cropped, LaTeX-OCR #241), frozen in a full-screen overlay where the user drags a
rectangle. On Wayland applications may not grab the screen (LaTeX-OCR #249, #358): the
xdg-desktop-portal Screenshot interface is asked over D-Bus instead, interactively, so
the desktop's own tool picks the region, and the file it saves is opened.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from PySide6.QtCore import SLOT, QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtDBus import QDBusConnection, QDBusInterface, QDBusMessage
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from mathpad.ui.window import MainWindow

HIDE_MS = 250  # the window manager needs a moment to take the window off the screen
MIN_SIDE = 4  # px: a click without a drag is not a region
PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"


class SnipOverlay(QWidget):
    """The frozen screen, dimmed; the dragged region shows undimmed."""

    snipped = Signal(QImage)  # the region at the screen's real pixels
    cancelled = Signal()

    def __init__(self, shot: QPixmap, area: QRect) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.Tool)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setGeometry(area)
        self.shot = shot
        self._start: QPoint | None = None
        self._region = QRect()

    def region(self) -> QRect:
        return QRect(self._region)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawPixmap(self.rect(), self.shot)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 110))
        if not self._region.isEmpty():
            ratio = self.shot.devicePixelRatio()
            source = QRectF(self._region.topLeft() * ratio, self._region.size() * ratio)
            painter.drawPixmap(QRectF(self._region), self.shot, source)
            painter.setPen(QPen(QColor("#3d8ee8"), 2))
            painter.drawRect(self._region)
        else:
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter, "Drag over the formula (Esc cancels)"
            )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = event.position().toPoint()
            self._region = QRect()
        else:
            self._cancel()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._start is not None:
            self._drag_to(event.position().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._start is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._drag_to(event.position().toPoint())
        self._start = None
        region = self._region.intersected(self.rect())
        if region.width() < MIN_SIDE or region.height() < MIN_SIDE:
            self._cancel()
            return
        ratio = self.shot.devicePixelRatio()
        pixels = QRect(
            round(region.x() * ratio),
            round(region.y() * ratio),
            round(region.width() * ratio),
            round(region.height() * ratio),
        )
        image = self.shot.copy(pixels).toImage()
        image.setDevicePixelRatio(1.0)  # the picture is its pixels, not a screen's points
        self.close()
        self.snipped.emit(image)

    def _drag_to(self, end: QPoint) -> None:
        assert self._start is not None
        self._region = QRectF(QPointF(self._start), QPointF(end)).normalized().toRect()
        self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._cancel()

    def _cancel(self) -> None:
        self.close()
        self.cancelled.emit()


class Snipper(QObject):
    """Runs one snip at a time for `window` and hands the region to `window.snipped`."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.overlay: SnipOverlay | None = None
        self._tokens = itertools.count(1)

    def start(self) -> None:
        if QGuiApplication.platformName().startswith("wayland"):
            self._ask_portal()
            return
        self._window.hide()
        QTimer.singleShot(HIDE_MS, self._grab)

    def _grab(self) -> None:
        screen = self._window.screen() or QGuiApplication.primaryScreen()
        shot = screen.grabWindow(0)
        if shot.isNull():
            self._failed("the screen could not be captured")
            return
        self.overlay = SnipOverlay(shot, screen.geometry())
        self.overlay.snipped.connect(self._window.snipped)
        self.overlay.cancelled.connect(self._back)
        self.overlay.show()
        self.overlay.activateWindow()

    def _back(self) -> None:
        self._window.show()
        self._window.activateWindow()

    def _failed(self, why: str) -> None:
        self._back()
        self._window.statusBar().showMessage(f"Cannot snip the screen: {why}.", 8000)

    # --- Wayland: xdg-desktop-portal --------------------------------------------------

    def _ask_portal(self) -> None:
        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            self._failed("no D-Bus session bus (xdg-desktop-portal is needed on Wayland)")
            return
        token = f"mathpad{next(self._tokens)}"
        sender = bus.baseService().lstrip(":").replace(".", "_")
        request = f"{PORTAL_PATH}/request/{sender}/{token}"
        slot = SLOT("_portal_answer(QDBusMessage)")
        bus.connect(PORTAL, request, "org.freedesktop.portal.Request", "Response", self, slot)
        portal = QDBusInterface(PORTAL, PORTAL_PATH, "org.freedesktop.portal.Screenshot", bus)
        reply = portal.call("Screenshot", "", {"handle_token": token, "interactive": True})
        if reply.type() == QDBusMessage.MessageType.ErrorMessage:
            self._failed(f"xdg-desktop-portal refused ({reply.errorMessage()})")

    @Slot(QDBusMessage)
    def _portal_answer(self, message: QDBusMessage) -> None:
        arguments = message.arguments()
        code, results = arguments[0], arguments[1] if len(arguments) > 1 else {}
        uri = results.get("uri", "") if isinstance(results, dict) else ""
        if code != 0 or not uri:
            return  # the user cancelled in the desktop's own dialog
        self._window.open_file(Path(unquote(urlparse(uri).path)))
