"""Nothing lost: the pad is autosaved after every change and offered back after a crash.

`mathpad.autosave` does the saving (atomic, with a lock that tells a crash from a second
pad); here the window's state is handed to it through `Latest` on a one-worker thread, so
a save never blocks drawing and a burst of strokes costs one save, not one per stroke.
At start, what a crashed run left is offered back with a prompt that does not block the
pad. Closing with unsaved ink asks whether to keep it for next time, or keeps it without
asking when the setting says so.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from mathpad.autosave import Autosave, Snapshot
from mathpad.errors import MathpadError
from mathpad.ink.strokes import Ink
from mathpad.ui.latest import Latest

log = logging.getLogger(__name__)

Button = QMessageBox.StandardButton


@dataclass(frozen=True)
class State:
    """What the window holds now; the picture is encoded to PNG on the worker."""

    ink: Ink
    picture: Image.Image | None
    latex: str
    latex_edited: bool


class Keeper(QObject):
    """Autosaves `state()` after every `changed()`; offers a crashed run's drawing back."""

    restore = Signal(object)  # a Snapshot the user chose to get back
    message = Signal(str)  # a sentence for the status bar

    def __init__(
        self, parent: QWidget, state: Callable[[], State], autosave: Autosave | None = None
    ) -> None:
        super().__init__(parent)
        self.prompt: QMessageBox | None = None  # the open question (tests answer it)
        self._parent, self._state = parent, state
        self._autosave = autosave or Autosave()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-autosave")
        self._saves: Latest[State] = Latest(
            self._save, lambda *_: None, self._save_failed, can_start=self._enabled, parent=self
        )
        self._encoded: tuple[int, bytes] | None = None  # id of the picture, its PNG
        self._active = False
        self._saved_ink: Ink | None = None  # the ink as last written to a file by the user
        self._question: QMessageBox | None = None  # the restore question, until answered
        self._asked = False  # whether it has been opened (once the window showed)

    def start(self) -> None:
        """Take the lock; offer back what a crashed run left (without blocking)."""
        try:
            claim = self._autosave.claim()
        except MathpadError as error:
            self.message.emit(f"Autosave is off: {error}")
            return
        if claim == "running":
            self.message.emit("Another mathpad is open: this one does not autosave.")
            return
        snapshot = self._autosave.load() if claim == "crashed" else None
        if snapshot is None or snapshot.is_empty:
            self._active = True
            return
        self.prompt = QMessageBox(
            QMessageBox.Icon.Question,
            "Restore the last drawing?",
            "mathpad did not close normally last time. Restore the drawing it left?",
            Button.Yes | Button.Discard,
            self._parent,
        )
        self.prompt.button(Button.Yes).setText("Restore")
        self.prompt.finished.connect(lambda: self._answered(snapshot))
        self._question = self.prompt  # opened by `shown`, over the window

    def shown(self) -> None:
        """The window is on the screen: open the restore question over it. Opened before,
        the question has no window to centre on and lands in the screen's corner."""
        if self._question is not None and not self._asked and self._parent.isVisible():
            self._question.open()
            self._asked = True

    def changed(self) -> None:
        """Something the user made changed: save it soon (coalesced, off the GUI thread)."""
        self._saves.submit(self._state())

    def mark_saved(self) -> None:
        """The ink was written to a file: closing need not ask about it."""
        self._saved_ink = self._state().ink

    def unsaved(self) -> bool:
        ink = self._state().ink
        return self._active and not ink.is_empty and ink != self._saved_ink

    def ask_before_closing(self, close: Callable[[], None]) -> None:
        """Keep the unsaved ink for next time, discard it, or stay; `close` closes after."""
        self.prompt = QMessageBox(
            QMessageBox.Icon.Question,
            "Keep the drawing?",
            "The drawing is not saved to a file. Keep it for the next start?",
            Button.Yes | Button.Discard | Button.Cancel,
            self._parent,
        )
        self.prompt.button(Button.Yes).setText("Keep it")

        def answered(answer: int) -> None:
            if answer == Button.Cancel:
                return
            self.finish(keep=answer == Button.Yes)
            close()

        self.prompt.finished.connect(lambda: answered(self.prompt.result()))  # type: ignore[union-attr]
        self.prompt.open()

    def finish(self, *, keep: bool) -> None:
        """The pad closes: write the last state now (or forget it) and drop the lock.

        A restore question still open is closed unanswered: the drawing it offers stays,
        and the next start asks again."""
        if self._question is not None:
            self._question.finished.disconnect()
            self._question.hide()  # a message box with no Escape button ignores close()
            self._question = self.prompt = None
        self._saves.forget()
        self._executor.shutdown(wait=True)  # a save is small; losing it would lose ink
        if self._active:
            if keep and not self._state().ink.is_empty:
                self._write(self._state())
            else:
                self._autosave.discard()
        self._active = False
        self._autosave.release()

    def _answered(self, snapshot: Snapshot) -> None:
        restore = self.prompt is not None and self.prompt.result() == Button.Yes
        self._question = self.prompt = None
        self._active = True
        if restore:
            self.restore.emit(snapshot)
        else:
            self._autosave.discard()
        self.changed()

    def _enabled(self) -> bool:
        return self._active

    def _save(self, state: State) -> Future[None]:
        return self._executor.submit(self._write, state)

    def _write(self, state: State) -> None:
        """Runs on the worker (or at close): encode the picture once, save atomically."""
        png = None
        if state.picture is not None:
            if self._encoded is None or self._encoded[0] != id(state.picture):
                buffer = io.BytesIO()
                state.picture.save(buffer, "PNG")
                self._encoded = (id(state.picture), buffer.getvalue())
            png = self._encoded[1]
        self._autosave.save(Snapshot(state.ink, png, state.latex, state.latex_edited))

    def _save_failed(self, _state: State, error: BaseException) -> None:
        if not isinstance(error, MathpadError):
            log.error("autosave failed", exc_info=error)
        self.message.emit(f"Autosave failed: {error}")
