"""Latest only: one job at a time, the newest wanted job next, stale outcomes dropped.

The recognition controller and the preview both face the same problem: work is asked for
faster than it finishes (strokes, key presses), and only the newest request matters. The
coalescing ReText uses for its preview solves it: at most one job runs; whatever is asked
meanwhile replaces the waiting job; when the running one ends, its outcome is handed on
only if nothing newer was asked since, and the newest waiting job runs once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

from mathpad.ui.bridge import FutureBridge

J = TypeVar("J")


class Latest(QObject, Generic[J]):
    """Runs `start(job)` for the newest job only; outcomes reach the handlers on the GUI thread.

    `on_result(job, value)` and `on_error(job, error)` are called only for the job that is
    still the newest one asked for; an outcome overtaken by a newer `submit` or a `clear` is
    dropped (`dropped` counts them). `can_start()` gates starting (the model still loads).
    """

    running_changed = Signal(bool)

    def __init__(
        self,
        start: Callable[[J], Future[Any]],
        on_result: Callable[[J, Any], None],
        on_error: Callable[[J, BaseException], None],
        *,
        can_start: Callable[[], bool] = lambda: True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.dropped = 0
        self._start, self._on_result, self._on_error = start, on_result, on_error
        self._can_start = can_start
        self._bridge = FutureBridge(self)
        self._waiting: J | None = None
        self._has_waiting = False
        self._running = False
        self._current: J | None = None  # the running job
        self._generation = 0  # bumped by every submit and clear: older outcomes are stale

    @property
    def running(self) -> bool:
        return self._running

    @property
    def waiting(self) -> bool:
        """A job is asked for and has not started yet."""
        return self._has_waiting

    def submit(self, job: J, *, now: bool = True) -> None:
        """Make `job` the newest; start it at once when `now` and nothing runs."""
        self._generation += 1
        self._waiting, self._has_waiting = job, True
        if now:
            self.poke()

    def clear(self) -> None:
        """Nothing is wanted any more: the waiting job is dropped, the running one is stale."""
        self._generation += 1
        self._waiting, self._has_waiting = None, False

    def poke(self) -> None:
        """Start the waiting job if nothing runs and starting is allowed."""
        if not self._has_waiting or self._running or not self._can_start():
            return
        job = self._waiting
        self._waiting, self._has_waiting = None, False
        self._current = job
        self._set_running(True)
        generation = self._generation
        self._bridge.deliver(
            self._start(job),  # type: ignore[arg-type]
            lambda value: self._finish(job, generation, value, None),
            lambda error: self._finish(job, generation, None, error),
            lambda: self._finish(job, generation - 1, None, None),  # cancelled: dropped
        )

    def restart(self) -> None:
        """The running job's outcome is lost (its worker went away): run it again once
        allowed, unless a newer job waits already."""
        if self._running and not self._has_waiting:
            self._waiting, self._has_waiting = self._current, True
        self._generation += 1
        self._bridge.forget()
        self._set_running(False)

    def forget(self) -> None:
        """Drop everything, running outcome included (the owner is closing or reloading)."""
        self.clear()
        self._bridge.forget()
        self._set_running(False)

    def _finish(self, job: J, generation: int, value: Any, error: BaseException | None) -> None:
        self._running = False
        if generation != self._generation:
            self.dropped += 1
        elif error is None:
            self._on_result(job, value)
        else:
            self._on_error(job, error)
        self.poke()
        if not self._running:
            self.running_changed.emit(False)

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)
