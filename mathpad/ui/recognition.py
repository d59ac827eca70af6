"""When to recognize, and which results to keep.

The pen rests (a single-shot timer, restarted on every stroke) or the user asks: the
current ink or picture becomes the wanted job. At most one job is on the recognizer's
worker; whatever is wanted meanwhile waits and only the newest is sent when the worker
returns (ReText's coalescing). Each job is tagged with what it was made from (the ink's
document revision, or the picture's number); a result whose tag is no longer current is
dropped. The model loads in the background; jobs wait for it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Literal

from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal

from mathpad.errors import MathpadError, ModelError, ModelNotDownloadedError
from mathpad.ink.strokes import Ink
from mathpad.model.store import is_local
from mathpad.recognizer import ModelInfo, PageResult, Recognizer
from mathpad.ui.bridge import FutureBridge

log = logging.getLogger(__name__)

ModelState = Literal["loading", "ready", "missing", "broken"]
RecognizerFactory = Callable[[str | None, str], Recognizer]


class RecognitionController(QObject):
    """Turns ink edits and requests into at most one recognition at a time."""

    recognized = Signal(object)  # PageResult for what is on the canvas now
    failed = Signal(str)  # a recognition error, in words
    model_changed = Signal(str, str)  # ModelState, a sentence for the status bar
    busy_changed = Signal(bool)

    def __init__(self, make_recognizer: RecognizerFactory, delay_ms: int) -> None:
        super().__init__()
        self.dropped = 0  # stale results thrown away (tests read it)
        self.state: ModelState = "loading"
        self.load_error: ModelError | None = None
        self._make = make_recognizer
        self._recognizer: Recognizer | None = None
        self._bridge = FutureBridge(self)
        self._rest = QTimer(self, singleShot=True, interval=delay_ms)
        self._rest.timeout.connect(self.recognize_now)
        self._subject: object = None  # the tag of what is on the canvas
        self._wanted: Callable[[Recognizer], Future[PageResult]] | None = None
        self._in_flight = False
        self._pictures = itertools.count(1)

    def load(self, model: str | None, variant: str) -> None:
        """Start loading a model in the background, replacing the current one."""
        self.shutdown()
        self.state, self.load_error = "loading", None
        self.model_changed.emit("loading", "Model: loading…")
        self._recognizer = self._make(model, variant)
        self._bridge.deliver(self._recognizer.load(), self._loaded, self._load_failed)

    def set_delay(self, delay_ms: int) -> None:
        self._rest.setInterval(delay_ms)

    def pen_down(self) -> None:
        """The user is writing: do not recognize in the middle of a stroke."""
        self._rest.stop()

    def ink_changed(self, ink: Ink, revision: object) -> None:
        """The canvas changed: results for older ink are stale; recognize when the pen rests."""
        self._subject = revision
        if ink.strokes:
            self._wanted = lambda r: r.submit_ink(ink, tag=revision)
            self._rest.start()
        else:
            self._wanted = None
            self._rest.stop()

    def picture_loaded(self, image: Image.Image) -> None:
        """A picture replaces the ink as what is recognized; it goes right away."""
        tag = ("picture", next(self._pictures))
        self._subject = tag
        self._wanted = lambda r: r.submit_image(image, tag=tag)
        self.recognize_now()

    def recognize_now(self) -> None:
        """Send the wanted job if the model is ready and the worker is free."""
        self._rest.stop()
        recognizer = self._recognizer
        if self._wanted is None or self._in_flight or self.state != "ready" or not recognizer:
            return
        submit, self._wanted = self._wanted, None
        self._in_flight = True
        self.busy_changed.emit(True)
        self._bridge.deliver(submit(recognizer), self._done, self._failed)

    def busy(self) -> bool:
        """A job is running, waiting for the model, or waiting for the pen to rest."""
        waiting = self._wanted is not None and self.state in ("loading", "ready")
        return self._in_flight or self._rest.isActive() or waiting

    def shutdown(self) -> None:
        """Stop the timer and the recognizer's worker; results still to come are ignored."""
        self._rest.stop()
        self._bridge.forget()
        if self._in_flight:
            self._in_flight = False
            self.busy_changed.emit(False)
        if self._recognizer is not None:
            self._recognizer.shutdown(wait=True)  # as before; correct: wait only at exit
            self._recognizer = None

    def _loaded(self, info: ModelInfo) -> None:
        self.state = "ready"
        name = Path(info.name).name if is_local(info.name) else info.name
        self.model_changed.emit(
            "ready", f"Model: {name} ({info.variant}), loaded in {info.load_seconds:.1f} s"
        )
        self.recognize_now()

    def _load_failed(self, error: BaseException) -> None:
        if not isinstance(error, ModelError):  # a bug: log its traceback, still tell the user
            log.error("loading the model failed", exc_info=error)
            error = ModelError(f"the model could not be loaded ({type(error).__name__}: {error})")
        self.load_error = error
        self.state = "missing" if isinstance(error, ModelNotDownloadedError) else "broken"
        words = "not downloaded" if self.state == "missing" else "cannot be used"
        self.model_changed.emit(self.state, f"Model: {words}")

    def _done(self, result: PageResult) -> None:
        self._job_ended()
        if result.tag != self._subject:
            self.dropped += 1
            log.debug("dropped a result: its ink has changed since")
        else:
            self.recognized.emit(result)
        self.recognize_now()

    def _failed(self, error: BaseException) -> None:
        self._job_ended()
        if not isinstance(error, MathpadError):
            log.error("recognition failed", exc_info=error)  # a bug: keep the traceback
        self.failed.emit(f"Recognition failed: {error}")
        self.recognize_now()

    def _job_ended(self) -> None:
        self._in_flight = False
        self.busy_changed.emit(False)
