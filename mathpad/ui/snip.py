"""Screen snip: hide the pad, freeze the screen, drag a region, recognize it.

The screen is frozen in a full-screen overlay at its real pixels (a 2x screen gives twice
the logical size: pix2tex's HiDPI snips came out blurred or cropped, LaTeX-OCR #241), where
the user drags a rectangle; the region goes to the window like a pasted picture. On X11,
Windows and macOS Qt grabs the screen itself (`QScreen.grabWindow(0)`). On Wayland
applications may not (LaTeX-OCR #249, #358): the xdg-desktop-portal Screenshot call
(`mathpad.ui.portal`) asks the desktop for one, on the snip's own worker thread, since the
answer may wait for the user's permission; the file it names is read by the core's bounded
loader there too, and comes back through the bridge. The portal's picture covers the whole
desktop: this screen's part of it is shown, at image pixels per logical point.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal
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
    QScreen,
)
from PySide6.QtWidgets import QWidget

from mathpad.errors import MathpadError
from mathpad.imaging.loading import load_image
from mathpad.ui.bridge import FutureBridge
from mathpad.ui.transfer import to_qimage

if TYPE_CHECKING:
    from mathpad.ui.window import MainWindow

log = logging.getLogger(__name__)

HIDE_MS = 250  # the window manager needs a moment to take the window off the screen
MIN_SIDE = 4  # px: a click without a drag is not a region
MESSAGE_MS = 15_000  # a failure says what to do instead: time to read it
PORTAL_DEADLINE_S = 60.0  # the user may be answering the desktop's permission dialog


def portal_screenshot(
    desktop: QRect, screen: QRect, deadline_s: float, cancel: threading.Event
) -> QImage | None:
    """The portal's screenshot of the desktop cut to `screen` (in the desktop's logical
    coordinates), its pixel ratio set; None when cancelled. Runs on the snip worker."""
    from mathpad.ui import portal  # jeepney: a dependency where Wayland runs, not elsewhere

    uri = portal.screenshot(deadline_s=deadline_s, cancel=cancel)
    if uri is None:
        return None
    image = to_qimage(load_image(portal.file_path(uri)))
    ratio = image.width() / desktop.width()
    part = screen.translated(-desktop.topLeft())
    shot = image.copy(
        round(part.x() * ratio),
        round(part.y() * ratio),
        round(part.width() * ratio),
        round(part.height() * ratio),
    )
    shot.setDevicePixelRatio(ratio)
    return shot


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

    def __init__(
        self,
        window: MainWindow,
        platform: str | None = None,
        portal_deadline_s: float = PORTAL_DEADLINE_S,
    ) -> None:
        super().__init__(window)
        self._window = window
        self.platform = platform or QGuiApplication.platformName()
        self.overlay: SnipOverlay | None = None
        self._deadline_s = portal_deadline_s
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-snip")
        self._bridge = FutureBridge(self)
        self._cancel = threading.Event()

    @property
    def wayland(self) -> bool:
        return self.platform.startswith("wayland")

    def start(self) -> None:
        self._window.hide()
        QTimer.singleShot(HIDE_MS, self._ask_portal if self.wayland else self._grab)

    def shutdown(self) -> None:
        """The window is closing: a wait for the portal ends now (never waited for)."""
        self._cancel.set()
        self._bridge.forget()
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _screen(self) -> QScreen:
        return self._window.screen() or QGuiApplication.primaryScreen()

    def _grab(self) -> None:
        shot = self._screen().grabWindow(0)
        if shot.isNull():
            self._failed("the screen could not be captured")
            return
        self._freeze(shot)

    def _ask_portal(self) -> None:
        screen = self._screen()
        future = self._worker.submit(
            portal_screenshot,
            screen.virtualGeometry(),
            screen.geometry(),
            self._deadline_s,
            self._cancel,
        )
        self._bridge.deliver(future, self._portal_answered, self._portal_failed)

    def _portal_answered(self, shot: QImage | None) -> None:
        if shot is None:
            self._back()  # the user said no in the portal's dialog: nothing to report
        else:
            self._freeze(QPixmap.fromImage(shot))

    def _portal_failed(self, error: BaseException) -> None:
        if not isinstance(error, MathpadError):
            log.error("The snip through the portal failed", exc_info=error)  # a bug
        self._failed(str(error))

    def _freeze(self, shot: QPixmap) -> None:
        screen = self._screen()
        self.overlay = SnipOverlay(shot, screen.geometry())
        self.overlay.snipped.connect(self._window.snipped)
        self.overlay.cancelled.connect(self._back)
        if self.wayland:  # no Wayland client may place a window: full screen covers it
            self.overlay.setScreen(screen)
            self.overlay.showFullScreen()
        else:
            self.overlay.show()
        self.overlay.activateWindow()

    def _back(self) -> None:
        self._window.show()
        self._window.activateWindow()

    def _failed(self, why: str) -> None:
        self._back()
        self._window.statusBar().showMessage(f"Cannot snip the screen: {why}.", MESSAGE_MS)
