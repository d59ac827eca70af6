"""How long does the window's event loop stall while recognitions run?

A 5 ms QTimer ticks throughout and records how late each tick comes. Input arrives as from
a person: a robot sends one mouse event per 8 ms (a 125 Hz mouse) through QTest, so each
event is handled in its own turn of the event loop. Phases:

- idle: one second with nothing to do (the baseline: timer and OS jitter);
- first recognition: one stroke and its result, with whatever the first job loads lazily;
- recognizing, pen resting: draw a stroke, ask for recognition, wait for the result;
- drawing while recognizing: strokes keep coming and each one asks for recognition, so
  the worker is busy while the canvas paints.

Prints a table and writes benchmarks/results/bench_gui_stall.json. `others` is the share
of the cores that other processes used meanwhile: stalls measured while that is high come
from the machine, not the window (`max_gui_cpu_ms` tells the two apart).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_stall.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6
from machine_load import cpu_seconds
from PySide6.QtCore import QElapsedTimer, QEvent, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from mathpad.recognizer import PageResult
from mathpad.settings import Settings
from mathpad.ui.app import check_qt, make_recognizer
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODEL = ROOT / "tests" / "fixtures" / "models" / "optimum"
RESULTS = ROOT / "benchmarks" / "results" / "bench_gui_stall.json"
TICK_MS = 5
MOUSE_MS = 8
MOVES_PER_STROKE = 24


class StallMeter:
    """A 5 ms timer that records how late each tick is, in milliseconds.

    It also records the GUI thread's own CPU time between ticks: a stall with little CPU
    time is the thread waiting (for a core, or for the GIL), not the window working.
    """

    def __init__(self, parent: QWidget) -> None:
        self.late: list[float] = []
        self.busy: list[float] = []
        self._cpu = 0.0
        self._clock = QElapsedTimer()
        self._timer = QTimer(parent, interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.late.clear()
        self.busy.clear()
        self._cpu = time.thread_time()
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        elapsed = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        cpu, self._cpu = self._cpu, time.thread_time()
        self.late.append(max(0.0, elapsed - TICK_MS))
        self.busy.append((self._cpu - cpu) * 1000)


class Robot:
    """Draws short strokes with one mouse event per timer tick, like a real mouse."""

    def __init__(self, canvas: QWidget, on_stroke_end: Callable[[], None]) -> None:
        self._canvas = canvas
        self._on_stroke_end = on_stroke_end
        self._events: list[tuple[str, QPoint]] = []
        self._timer = QTimer(canvas, interval=MOUSE_MS, timerType=Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._step)
        self.strokes = 0

    def draw(self, count: int) -> None:
        for _ in range(count):
            y = 30 + (self.strokes % 10) * 28
            x0 = 30 + (self.strokes // 10 % 5) * 130
            self._events.append(("press", QPoint(x0, y)))
            self._events += [
                ("move", QPoint(x0 + 5 * i, y + (i % 5))) for i in range(1, MOVES_PER_STROKE)
            ]
            self._events.append(("release", QPoint(x0 + 5 * MOVES_PER_STROKE, y)))
            self.strokes += 1
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
            QTest.mousePress(self._canvas, left, none, at)
        elif kind == "move":
            QTest.mouseMove(self._canvas, at)
        else:
            QTest.mouseRelease(self._canvas, left, none, at)
            self._on_stroke_end()


def wait(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.0005)


def run_phase(app: QApplication, window: MainWindow, name: str, strokes: int) -> dict:
    """Draw `strokes` strokes (0: stay idle for a second) and measure the stalls."""
    controller = window.recognition
    results: list[float] = []

    def count(result: PageResult) -> None:
        results.append(result.seconds)

    controller.recognized.connect(count)
    robot = Robot(window.canvas, controller.recognize_now)
    window.canvas.clear()  # each phase starts on an empty canvas
    meter = StallMeter(window)
    meter.start()
    began, (machine, own) = time.perf_counter(), cpu_seconds()
    if strokes == 0:
        wait(app, lambda: time.perf_counter() - began > 1.0, 5)
    elif name.startswith("recognizing"):
        for _ in range(strokes):  # the pen rests while each job runs
            robot.draw(1)
            wait(app, lambda: not robot.busy() and not controller.busy(), 60)
    else:
        robot.draw(strokes)
        wait(app, lambda: not robot.busy() and not controller.busy(), 120)
    wall, (machine_end, own_end) = time.perf_counter() - began, cpu_seconds()
    others = max(0.0, (machine_end - machine) - (own_end - own)) / (wall * (os.cpu_count() or 1))
    meter.stop()
    late = sorted(meter.late)
    controller.recognized.disconnect(count)
    return {
        "phase": name,
        "ticks": len(late),
        "max_stall_ms": round(late[-1], 2),
        "p99_stall_ms": round(late[int(0.99 * (len(late) - 1))], 2),
        "mean_lateness_ms": round(statistics.fmean(late), 3),
        "max_gui_cpu_ms": round(max(meter.busy), 2),
        "recognitions": len(results),
        "mean_recognition_s": round(statistics.fmean(results), 4) if results else None,
        "wall_s": round(wall, 2),
        "others": f"{others:.0%}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(FIXTURE_MODEL), help="model folder or repo id")
    parser.add_argument("--variant", default="int8")
    parser.add_argument("--strokes", type=int, default=30, help="strokes per phase")
    args = parser.parse_args()
    check_qt()
    app = QApplication.instance() or QApplication([])
    window = MainWindow(
        Settings(model=args.model, variant=args.variant, delay_ms=60_000), make_recognizer
    )
    window.show()
    wait(app, lambda: window.recognition.state != "loading", 120)
    if window.recognition.state != "ready":
        raise SystemExit(f"the model did not load: {window.recognition.load_error}")
    rows = [
        run_phase(app, window, "idle", 0),
        run_phase(app, window, "recognizing, first", 1),
        run_phase(app, window, "recognizing, pen resting", args.strokes),
        run_phase(app, window, "drawing while recognizing", args.strokes),
    ]
    window.close()
    window.deleteLater()  # Qt objects go before the interpreter's final collection
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).rjust(w) for c, w in zip(columns, widths, strict=True)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": args.model,
        "variant": args.variant,
        "qt_platform": app.platformName(),
        "pyside6": PySide6.__version__,
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tick_ms": TICK_MS,
        "mouse_event_ms": MOUSE_MS,
        "phases": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
