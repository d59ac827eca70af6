"""A robot pen for the window benchmarks: strokes replayed the way a person's mouse sends them.

One event per 8 ms (a 125 Hz mouse) through QTest, each from a timer, so that each is handled
in its own turn of the event loop, as real input is. bench_gui_stall.py and
bench_pen_to_result.py draw with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

MOUSE_MS = 8


class Pen:
    """Presses, moves and releases on `canvas`; notes when the pen went down and came up.

    `on_release()` is called after each release (a benchmark that asks for the reading then).
    """

    def __init__(self, canvas: QWidget, on_release: Callable[[], None] = lambda: None) -> None:
        self._canvas = canvas
        self._on_release = on_release
        self._events: list[tuple[str, QPoint]] = []
        self._timer = QTimer(canvas, interval=MOUSE_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._step)
        self.presses: list[float] = []  # perf_counter of each press
        self.released = 0.0  # perf_counter of the last release

    def draw(self, strokes: Sequence[Sequence[QPoint]]) -> None:
        """Queue `strokes` (each its mouse positions, pressed at the first) and start."""
        for first, *rest in strokes:
            last = rest[-1] if rest else first
            self._events += [("press", first), *(("move", p) for p in rest), ("release", last)]
        self._timer.start()

    def busy(self) -> bool:
        return bool(self._events)

    def _step(self) -> None:
        if not self._events:
            self._timer.stop()
            return
        kind, at = self._events.pop(0)
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        if kind == "press":
            self.presses.append(time.perf_counter())
            QTest.mousePress(self._canvas, left, none, at)
        elif kind == "move":
            QTest.mouseMove(self._canvas, at)
        else:
            self.released = time.perf_counter()
            QTest.mouseRelease(self._canvas, left, none, at)
            self._on_release()
