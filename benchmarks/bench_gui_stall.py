"""How long does the window's event loop stall while recognitions run?

A 5 ms QTimer ticks throughout and records how late each tick comes. Input arrives as from
a person: a robot sends one mouse event per 8 ms (a 125 Hz mouse) through QTest, so each
event is handled in its own turn of the event loop. Phases:

- idle: one second with nothing to do (the baseline: timer and OS jitter);
- first recognition: one stroke and its result, with whatever the first job loads lazily;
- recognizing, pen resting: draw a stroke, ask for recognition, wait for the result;
- drawing while recognizing: strokes keep coming and each one asks for recognition, so
  the worker is busy while the canvas paints.

The window starts as `mathpad` starts it (`prepare_process`), with settings, autosave and
history in a temporary folder; the history holds as many readings as its panel lists, so
each reading refreshes a full list, as for someone who has used the pad a while.

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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6
from machine_load import cpu_seconds
from PySide6.QtCore import QElapsedTimer, QEvent, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from robot_pen import MOUSE_MS, Pen

from mathpad import paths
from mathpad.history import History
from mathpad.recognizer import PageResult
from mathpad.settings import Settings
from mathpad.ui.app import check_qt, make_recognizer, prepare_process
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODEL = ROOT / "tests" / "fixtures" / "models" / "optimum"
RESULTS = ROOT / "benchmarks" / "results" / "bench_gui_stall.json"
TICK_MS = 5
LISTED = 200  # readings the history panel lists (History.search's limit)
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


def strokes(first: int, count: int) -> list[list[QPoint]]:
    """`count` short strokes, the `first`-th onwards, in rows and columns across the canvas."""
    drawn = []
    for n in range(first, first + count):
        y, x0 = 30 + (n % 10) * 28, 30 + (n // 10 % 5) * 130
        drawn.append(
            [QPoint(x0 + 5 * i, y + (i % 5)) for i in range(MOVES_PER_STROKE)]
            + [QPoint(x0 + 5 * MOVES_PER_STROKE, y)]
        )
    return drawn


def isolate(home: Path, cache: Path | None = None) -> None:
    """Settings, autosave and history in `home`, derived graphs in `cache` when given: a run
    neither reads nor grows the user's own (the history list it refreshes would differ)."""
    paths.config_dir = lambda: home / "config"
    paths.data_dir = lambda: home / "data"
    if cache is not None:
        paths.cache_dir = lambda: cache


def fill_history(count: int) -> None:
    """`count` earlier readings in the (isolated) history."""
    history = History()
    for n in range(count):
        history.add(image_png=b"", latex_shown=f"x^{{{n}}}+1", model="earlier", variant="int8")
    history.close()


def wait(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.0005)


def run_phase(app: QApplication, window: MainWindow, name: str, count: int) -> dict:
    """Draw `count` strokes (0: stay idle for a second) and measure the stalls."""
    controller = window.recognition
    results: list[float] = []

    def arrived(result: PageResult) -> None:
        results.append(result.seconds)

    controller.recognized.connect(arrived)
    pen = Pen(window.canvas, on_release=controller.recognize_now)
    window.canvas.clear()  # each phase starts on an empty canvas
    meter = StallMeter(window)
    meter.start()
    began, (machine, own) = time.perf_counter(), cpu_seconds()
    if count == 0:
        wait(app, lambda: time.perf_counter() - began > 1.0, 5)
    elif name.startswith("recognizing"):
        for n in range(count):  # the pen rests while each job runs
            pen.draw(strokes(n, 1))
            wait(app, lambda: not pen.busy() and not controller.busy(), 60)
    else:
        pen.draw(strokes(0, count))
        wait(app, lambda: not pen.busy() and not controller.busy(), 120)
    wall, (machine_end, own_end) = time.perf_counter() - began, cpu_seconds()
    others = max(0.0, (machine_end - machine) - (own_end - own)) / (wall * (os.cpu_count() or 1))
    meter.stop()
    late = sorted(meter.late)
    controller.recognized.disconnect(arrived)
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
    home = tempfile.TemporaryDirectory(prefix="mathpad-bench-")
    isolate(Path(home.name))
    fill_history(LISTED)
    prepare_process()
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
    window.recognition.join(timeout=20.0)
    window.deleteLater()  # Qt objects go before the interpreter's final collection
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    home.cleanup()
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
