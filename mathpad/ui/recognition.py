"""When to recognize, and which results to keep.

The pen rests (a single-shot timer, restarted on every stroke) or the user asks: the
current ink or picture becomes the wanted job. `Latest` keeps at most one job on the
recognizer's worker and drops results for ink that has changed since. A pen-down or a
new stroke while a recognition runs ends that run at once (`Recognizer.cancel`): its
answer would be stale. The model loads in the background; jobs wait for it. Switching
the model never waits for the old one: it is told to stop and left to finish on its own.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Literal

from PIL import Image
from PySide6.QtCore import QObject, QTimer, Signal

from mathpad.errors import Cancelled, MathpadError, ModelError, ModelNotDownloadedError
from mathpad.ink.strokes import Ink
from mathpad.recognizer import Doubt, ModelInfo, PageResult, Recognizer, is_local
from mathpad.ui.bridge import FutureBridge
from mathpad.ui.latest import Latest

log = logging.getLogger(__name__)

ModelState = Literal["loading", "ready", "missing", "broken"]
RecognizerFactory = Callable[[str | None, str], Recognizer]
Job = Callable[[Recognizer], Future[PageResult]]


class RecognitionController(QObject):
    """Turns ink edits and requests into at most one recognition at a time."""

    recognized = Signal(object)  # PageResult for what is on the canvas now
    failed = Signal(str)  # a recognition error, in words
    model_changed = Signal(str, str)  # ModelState, a sentence for the status bar
    busy_changed = Signal(bool)

    def __init__(self, make_recognizer: RecognizerFactory, delay_ms: int) -> None:
        super().__init__()
        self.state: ModelState = "loading"
        self.load_error: ModelError | None = None
        self.info: ModelInfo | None = None
        self._make = make_recognizer
        self._recognizer: Recognizer | None = None
        self._bridge = FutureBridge(self)
        self._rest = QTimer(self, singleShot=True, interval=delay_ms)
        self._rest.timeout.connect(self.recognize_now)
        self._jobs: Latest[Job] = Latest(
            self._run, self._done, self._failed, can_start=self._ready, parent=self
        )
        self._jobs.running_changed.connect(self.busy_changed)
        self._pictures = itertools.count(1)
        self._retired: list[Future[ModelInfo]] = []  # loads of recognizers let go, at exit

    @property
    def dropped(self) -> int:
        """Stale results thrown away (tests read it)."""
        return self._jobs.dropped

    @property
    def recognizer(self) -> Recognizer | None:
        """The current recognizer, for the panels that ask it for more (alternatives)."""
        return self._recognizer if self.state == "ready" else None

    @property
    def loading(self) -> Future[ModelInfo] | None:
        """The current model's load (done or not); None before the first `load`."""
        return self._recognizer.load() if self._recognizer is not None else None

    def load(self, model: str | None, variant: str) -> None:
        """Start loading a model in the background, replacing the current one; what was
        wanted from the old one is asked of the new one."""
        self._jobs.restart()
        self._drop_recognizer()
        self.state, self.load_error, self.info = "loading", None, None
        self.model_changed.emit("loading", "Model: loading…")
        self._recognizer = self._make(model, variant)
        self._bridge.deliver(self._recognizer.load(), self._loaded, self._load_failed)

    @property
    def delay_ms(self) -> int:
        """How long the pen must rest before the drawing is read."""
        return self._rest.interval()

    def set_delay(self, delay_ms: int) -> None:
        self._rest.setInterval(delay_ms)

    def pen_down(self) -> None:
        """The user is writing: a running recognition is stale, and none starts mid-stroke."""
        self._rest.stop()
        self._cancel_running()

    def ink_changed(self, ink: Ink, revision: object) -> None:
        """The canvas changed: results for older ink are stale; recognize when the pen rests."""
        self._cancel_running()
        if ink.strokes:
            self._jobs.submit(lambda r: r.submit_ink(ink, tag=revision), now=False)
            self._rest.start()
        else:
            self._jobs.clear()
            self._rest.stop()

    def picture_loaded(self, image: Image.Image) -> None:
        """A picture replaces the ink as what is recognized; it goes right away."""
        self._cancel_running()
        tag = ("picture", next(self._pictures))
        self._jobs.submit(lambda r: r.submit_image(image, tag=tag), now=False)
        self.recognize_now()

    def replace(self, result: PageResult, doubt: Doubt, choice: str) -> None:
        """Read `result` again with `choice` forced at `doubt` (the user's correction)."""
        self._rest.stop()
        self._jobs.submit(lambda r: r.submit_replacement(result, doubt, choice), now=False)
        self.recognize_now()

    def recognize_now(self) -> None:
        """Send the wanted job if the model is ready and the worker is free."""
        self._rest.stop()
        self._jobs.poke()

    def busy(self) -> bool:
        """A job is running, waiting for the model, or waiting for the pen to rest."""
        waiting = self._jobs.waiting and self.state in ("loading", "ready")
        return self._jobs.running or self._rest.isActive() or waiting

    def shutdown(self) -> None:
        """Stop the timer and let the recognizer's worker end on its own; never waits."""
        self._rest.stop()
        self._jobs.forget()
        self._drop_recognizer()

    def _drop_recognizer(self) -> None:
        self._bridge.forget()
        if self._recognizer is not None:
            self._recognizer.cancel()
            self._retired = [f for f in self._retired if not f.done()]
            self._retired.append(self._recognizer.load())
            self._recognizer.shutdown(wait=False)
            self._recognizer = None

    def join(self, timeout: float) -> None:
        """At exit only, after the event loop: give loads let go `timeout` s to finish."""
        self._drop_recognizer()
        concurrent.futures.wait(self._retired, timeout=timeout)

    def _cancel_running(self) -> None:
        """End whatever the recognizer is doing for the old drawing: a reading, and the beam
        search for its alternatives, which would otherwise hold the next reading back."""
        if self._recognizer is not None:
            self._recognizer.cancel()

    def _ready(self) -> bool:
        return self.state == "ready" and self._recognizer is not None

    def _run(self, job: Job) -> Future[PageResult]:
        assert self._recognizer is not None  # _ready() said so
        return job(self._recognizer)

    def _loaded(self, info: ModelInfo) -> None:
        self.state, self.info = "ready", info
        self.model_changed.emit("ready", describe(info))
        self.recognize_now()

    def _load_failed(self, error: BaseException) -> None:
        if not isinstance(error, ModelError):  # a bug: log its traceback, still tell the user
            log.error("loading the model failed", exc_info=error)
            error = ModelError(f"the model could not be loaded ({type(error).__name__}: {error})")
        self.load_error = error
        self.state = "missing" if isinstance(error, ModelNotDownloadedError) else "broken"
        words = "not downloaded" if self.state == "missing" else "cannot be used"
        self.model_changed.emit(self.state, f"Model: {words}")

    def _done(self, _job: Job, result: PageResult) -> None:
        self.recognized.emit(result)

    def _failed(self, job: Job, error: BaseException) -> None:
        if isinstance(error, Cancelled):  # ended by a pen-down: read it again when it rests
            self._jobs.submit(job, now=False)
            self._rest.start()
        else:
            if not isinstance(error, MathpadError):
                log.error("recognition failed", exc_info=error)  # a bug: keep the traceback
            self.failed.emit(f"Recognition failed: {error}")


def describe(info: ModelInfo) -> str:
    """The status bar's line: which model, which decoder level (and why not the fastest)."""
    name = Path(info.name).name if is_local(info.name) else info.name
    decoder = f"{info.decoder} decoder"
    if info.decoder != "cached" and info.decoder_reason:
        decoder += f" ({info.decoder_reason})"
    return f"Model: {name} ({info.variant}), {decoder}, loaded in {info.load_seconds:.1f} s"
