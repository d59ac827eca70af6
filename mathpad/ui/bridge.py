"""The one thread hop: core futures and worker callbacks delivered on the GUI thread.

The core runs work on `concurrent.futures` workers and knows nothing of Qt. A future's
done-callback runs on the worker; here it only emits a signal, and Qt's queued connection
runs the caller's handler on the GUI thread, where widgets may be touched. A cancelled
future (superseded work) calls only `on_cancelled`, when one is given.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal


class FutureBridge(QObject):
    """Calls `on_result(value)` or `on_error(exc)` on the GUI thread when a future ends."""

    _finished = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count()
        self._handlers: dict[
            int,
            tuple[Callable[[Any], None], Callable[[BaseException], None], Callable[[], None]],
        ] = {}
        # Queued even from the GUI thread: a future that is already done must not run its
        # handler inside `deliver`, before the caller has finished setting up.
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def deliver(
        self,
        future: Future[Any],
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        on_cancelled: Callable[[], None] = lambda: None,
    ) -> None:
        """Route the outcome of `future` to the handlers, on the GUI thread."""
        key = next(self._ids)
        self._handlers[key] = (on_result, on_error, on_cancelled)
        future.add_done_callback(lambda done: self._emit(key, done))

    def pending(self) -> int:
        """How many futures have not been delivered yet (tests and shutdown wait on it)."""
        return len(self._handlers)

    def forget(self) -> None:
        """Drop every handler: outcomes still to come are ignored (the window is closing)."""
        self._handlers.clear()

    def _emit(self, key: int, future: Future[Any]) -> None:
        """Runs on the worker thread: only queue the delivery."""
        with contextlib.suppress(RuntimeError):  # the bridge was deleted with its window
            self._finished.emit(key, future)

    def _deliver(self, key: int, future: Future[Any]) -> None:
        handlers = self._handlers.pop(key, None)
        if handlers is None:
            return
        on_result, on_error, on_cancelled = handlers
        if future.cancelled():
            on_cancelled()
            return
        error = future.exception()
        if error is None:
            on_result(future.result())
        else:
            on_error(error)


class ProgressRelay(QObject):
    """A `progress(done, total)` callable for a worker that re-emits on the GUI thread.

    Calling it after `cancel()` raises `Cancelled` inside the worker, which is how a
    download that only reports progress can still be stopped.
    """

    progressed = Signal(int, int)

    class Cancelled(Exception):
        """Raised in the worker once the user has cancelled."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def __call__(self, done: int, total: int) -> None:
        if self._cancelled:
            raise ProgressRelay.Cancelled
        self.progressed.emit(done, total)
