"""The history panel: every reading, searchable; copy, reopen, recognize again, delete.

Every reading the window shows goes into `mathpad.history` (SQLite), with the ink as
InkML, the images the model saw, the model and variant; what the user copies and the
alternatives found later are added to it. The database is touched only on a one-worker
thread, so a slow disk never stalls drawing; results come back through the bridge.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mathpad.errors import MathpadError
from mathpad.history import History, Reading
from mathpad.imaging.loading import image_from_bytes
from mathpad.ink.inkml import parse_inkml, to_inkml
from mathpad.ink.strokes import Ink
from mathpad.recognizer import PageResult
from mathpad.ui.bridge import FutureBridge
from mathpad.ui.correction import CorrectionLoop
from mathpad.ui.latest import Latest
from mathpad.ui.recognition import RecognitionController

log = logging.getLogger(__name__)

T = TypeVar("T")
SEARCH_DEBOUNCE_MS = 200
Opener = Callable[[], History]


class HistoryPanel(QWidget):
    """A search box over the readings, and what can be done with the selected one."""

    copy_requested = Signal(str)  # LaTeX to put on the clipboard
    reopen_requested = Signal(object)  # a Reading whose ink (or picture) goes back on the canvas
    recognize_requested = Signal(object)  # the same, then read again with the current model
    listed = Signal()  # the list shows the newest search's answer (tests wait on it)

    def __init__(self, open_history: Opener = History, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current_id: int | None = None  # the reading on screen now, for copies and choices
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-history")
        self._history: Future[History] = self._executor.submit(open_history)
        self._bridge = FutureBridge(self)
        self._searches: Latest[str] = Latest(
            lambda text: self._call(lambda h: h.search(text)),
            lambda _text, readings: self._show(readings),
            lambda _text, error: self._failed(error),
            parent=self,
        )
        self.search = QLineEdit(placeholderText="Search the LaTeX of past readings…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.notice = QLabel(wordWrap=True)
        self.notice.hide()
        buttons = QGridLayout()
        self.copy_button = QPushButton("Copy")
        self.reopen_button = QPushButton("Reopen")
        self.again_button = QPushButton("Recognize again")
        self.delete_button = QPushButton("Delete")
        for place, button in enumerate(
            (self.copy_button, self.reopen_button, self.again_button, self.delete_button)
        ):
            buttons.addWidget(button, place // 2, place % 2)
            button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._debounce.start)
        self.list.currentItemChanged.connect(self._selection_changed)
        self.list.itemActivated.connect(lambda item: self.copy_requested.emit(_latex(item)))
        self.copy_button.clicked.connect(lambda: self._with_selected(self._copy))
        self.reopen_button.clicked.connect(lambda: self._with_selected(self.reopen_requested.emit))
        self.again_button.clicked.connect(
            lambda: self._with_selected(self.recognize_requested.emit)
        )
        self.delete_button.clicked.connect(lambda: self._with_selected(self._delete))
        self._bridge.deliver(self._history, self._opened, self._failed)

    # --- what the window tells it ------------------------------------------------------

    def follow(
        self,
        recognition: RecognitionController,
        correction: CorrectionLoop,
        load_ink: Callable[[Ink], None],
        load_picture: Callable[[Image.Image], None],
    ) -> None:
        """Record every reading shown and its alternatives; reopen readings on the page."""

        def record(result: PageResult) -> None:
            info = recognition.info
            self.record(result, result.ink, info.name if info else "", info.variant if info else "")

        def reopen(reading: Reading, again: bool) -> None:
            if reading.ink_inkml:
                load_ink(parse_inkml(reading.ink_inkml, "the history"))
            elif reading.image_png:
                load_picture(image_from_bytes(reading.image_png, "the reading's picture"))
            if again:
                recognition.recognize_now()

        recognition.recognized.connect(record)
        correction.alternatives_ready.connect(lambda _result, texts: self.alternatives_found(texts))
        self.reopen_requested.connect(lambda reading: reopen(reading, False))
        self.recognize_requested.connect(lambda reading: reopen(reading, True))

    def record(self, result: PageResult, ink: Ink | None, model: str, variant: str) -> None:
        """Store a reading; its id becomes `current_id` once written."""
        self.current_id = None
        if self._closed:
            return
        images, text = result.images, result.text()

        def add(history: History) -> int:  # on the worker: the PNG and the InkML too
            return history.add(
                image_png=_png(images),
                latex_shown=text,
                model=model,
                variant=variant,
                ink_inkml=to_inkml(ink) if ink is not None and not ink.is_empty else None,
            )

        self._bridge.deliver(self._call(add), self._added, self._failed)

    def copied(self, latex: str) -> None:
        """The user copied `latex` for the reading on screen (a correction when it differs)."""
        reading = self.current_id
        if reading is not None:
            self._quietly(lambda h: h.mark_copied(reading, latex))

    def alternatives_found(self, alternatives: list[str]) -> None:
        reading = self.current_id
        if reading is not None:
            self._quietly(lambda h: h.set_alternatives(reading, alternatives))

    def refresh(self) -> None:
        self._debounce.stop()
        if not self._closed:
            self._searches.submit(self.search.text())

    def readings(self) -> list[Reading]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def shutdown(self) -> None:
        """Let the worker finish what it was given (small writes) without waiting for it."""
        self._closed = True
        self._debounce.stop()
        self._searches.forget()
        self._bridge.forget()
        self._call(lambda h: h.close())
        self._executor.shutdown(wait=False)

    # --- inside --------------------------------------------------------------------------

    def _call(self, work: Callable[[History], T]) -> Future[T]:
        """Run `work` on the history worker, after the database has opened."""
        return self._executor.submit(lambda: work(self._history.result()))

    def _quietly(self, work: Callable[[History], Any]) -> None:
        if self._closed:
            return
        self._bridge.deliver(self._call(work), lambda _: self.refresh(), self._failed)

    def _opened(self, history: History) -> None:
        if history.notice:
            self._say(history.notice)
        self.refresh()

    def _added(self, reading_id: int) -> None:
        self.current_id = reading_id
        self.refresh()

    def _show(self, readings: list[Reading]) -> None:
        selected = self._selected()
        self.list.clear()
        for reading in readings:
            when = time.strftime("%d %b %H:%M", time.localtime(reading.created))
            latex = (reading.latex_copied or reading.latex_shown).replace("\n", "  ⏎  ")
            item = QListWidgetItem(f"{when}   {latex or '(nothing read)'}")
            item.setData(Qt.UserRole, reading)
            self.list.addItem(item)
            if selected is not None and reading.id == selected.id:
                self.list.setCurrentItem(item)
        self._selection_changed()
        self.listed.emit()

    def _selected(self) -> Reading | None:
        item = self.list.currentItem()
        return item.data(Qt.UserRole) if item is not None else None

    def _selection_changed(self, *_: object) -> None:
        chosen = self._selected() is not None
        for button in (self.copy_button, self.reopen_button, self.again_button, self.delete_button):
            button.setEnabled(chosen)

    def _with_selected(self, act: Callable[[Reading], None]) -> None:
        reading = self._selected()
        if reading is not None:
            act(reading)

    def _copy(self, reading: Reading) -> None:
        self.copy_requested.emit(reading.latex_copied or reading.latex_shown)

    def _delete(self, reading: Reading) -> None:
        if reading.id == self.current_id:
            self.current_id = None
        self._quietly(lambda h: h.delete(reading.id))

    def _failed(self, error: BaseException) -> None:
        if not isinstance(error, MathpadError):
            log.error("the history failed", exc_info=error)
        self._say(f"History: {error}")

    def _say(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()


def _latex(item: QListWidgetItem) -> str:
    reading: Reading = item.data(Qt.UserRole)
    return reading.latex_copied or reading.latex_shown


def _png(images: tuple[Image.Image, ...]) -> bytes:
    """What the model saw, as one PNG: the pieces stacked top to bottom."""
    if not images:
        return b""
    width = max(image.width for image in images)
    sheet = Image.new("RGB", (width, sum(image.height for image in images)), "white")
    top = 0
    for image in images:
        sheet.paste(image.convert("RGB"), (0, top))
        top += image.height
    buffer = io.BytesIO()
    sheet.save(buffer, "PNG")
    return buffer.getvalue()
