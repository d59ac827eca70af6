"""The rendered preview of the LaTeX source, or a plain notice when it cannot render.

Rendering (`mathpad.render`) runs on a one-worker thread through `Latest`: at most one
render in flight; if the text changes meanwhile, the newest text is rendered once the
current render returns and the stale picture is never shown. Typing is debounced so a
render starts only when the keys rest.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from mathpad.render import Rendered, RenderError, render_png
from mathpad.ui.latest import Latest

log = logging.getLogger(__name__)

DEBOUNCE_MS = 250
FONT_SIZE = 20.0
Marks = tuple[tuple[int, int], ...]  # spans of the text drawn in the accent colour
Target = tuple[str, Marks, float, str]  # latex, marks, dpi, color
PLACEHOLDER = "Draw an expression above, or open, paste or drop a picture of one."


class Preview(QWidget):
    """Shows `latex` as mathtext draws it; `notice` is set when it cannot."""

    updated = Signal()  # a picture or a notice is showing for the current text

    def __init__(self) -> None:
        super().__init__()
        self.notice: str | None = None
        self._wanted = ""
        self._marks: Marks = ()
        self._shown: Target | None = None  # on screen now
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-render")
        self._renders: Latest[Target] = Latest(
            self._render, self._finish, self._finish, parent=self
        )
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._start)
        self._label = QLabel(PLACEHOLDER, alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setMargin(12)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setBackgroundRole(QPalette.ColorRole.Base)  # paper, like the editor beside it
        scroll.setWidget(self._label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.setMinimumHeight(80)

    def set_latex(self, latex: str, *, marks: Marks = (), debounce: bool = True) -> None:
        """Show `latex` (`marks`: doubtful spans in it): after the typing pause, or right
        away for a recognition result."""
        lead = len(latex) - len(latex.lstrip())
        self._wanted = latex.strip()
        self._marks = tuple((start - lead, end - lead) for start, end in marks)
        if not self._wanted:
            self._debounce.stop()
            self._renders.clear()
            self._shown = None
            self._show_text(PLACEHOLDER, None)
        elif debounce:
            self._debounce.start()
        else:
            self._debounce.stop()
            self._start()

    def pixmap(self) -> QPixmap:
        """The picture on screen (null while a notice or the placeholder shows)."""
        return self._label.pixmap()

    def idle(self) -> bool:
        """Nothing scheduled or rendering: what is shown is final (tests wait on this)."""
        return not self._renders.running and not self._debounce.isActive()

    def shutdown(self) -> None:
        """Stop the debounce and the render worker; pending renders are dropped."""
        self._debounce.stop()
        self._renders.forget()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.DevicePixelRatioChange):
            self._start()  # ink color and pixel density follow the screen

    def _target(self) -> Target:
        color = self.palette().color(QPalette.ColorRole.Text).name()
        return self._wanted, self._marks, 96.0 * self.devicePixelRatioF(), color

    def _start(self) -> None:
        target = self._target()
        if self._wanted and target != self._shown:
            self._renders.submit(target)

    def _render(self, target: Target) -> Future[Rendered]:
        latex, marks, dpi, color = target
        return self._executor.submit(
            render_png, latex, fontsize=FONT_SIZE, dpi=dpi, color=color, marks=marks
        )

    def _finish(self, target: Target, outcome: Rendered | BaseException) -> None:
        self._shown = target
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, RenderError):  # a bug: keep its traceback in the log
                log.error("rendering the preview failed", exc_info=outcome)
            self._show_text(f"{outcome}\nYou can still edit and copy the LaTeX.", str(outcome))
            return
        pixmap = QPixmap()
        pixmap.loadFromData(outcome.png, "PNG")
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.notice = None
        self._label.setPixmap(pixmap)
        self.updated.emit()

    def _show_text(self, text: str, notice: str | None) -> None:
        self.notice = notice
        self._label.setText(text)
        self.updated.emit()
