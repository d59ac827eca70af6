"""How long after the pen lifts does the reading arrive, as a drawing grows symbol by symbol?

The real window on the full-size int8 model: a robot draws an expression one symbol at a time
with real mouse events through QTest (one event per 8 ms, a 125 Hz mouse) and, after each
symbol, waits for the reading with the pen-rest delay as configured (default 250 ms). For each
symbol count it reports the time from the last release to the reading arriving in the editor
(median and max over the rounds), the tokens read and the draft tokens the search accepted.
A second phase puts the pen down for the next symbol while a reading runs and measures how
long that run takes to end (the onnxruntime run is terminated, not waited for). A 5 ms timer
records the event loop's longest stall over the whole run, as in bench_gui_stall.py.

Random weights give random LaTeX and run to the 128-token cap: the point is timing and
mechanics. Derived graphs go to a private cache (`/work/models/bench-graphs-pen`), so they are
derived once; settings, autosave and history go to a temporary folder.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_pen_to_result.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6
from bench_gui_stall import TICK_MS, StallMeter, isolate, wait
from machine_load import cpu_seconds
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtWidgets import QApplication, QWidget
from robot_pen import MOUSE_MS, Pen

from mathpad.errors import Cancelled
from mathpad.ink.strokes import Ink
from mathpad.recognizer import PageResult, Recognizer
from mathpad.settings import Settings
from mathpad.ui.app import check_qt, prepare_process
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("MATHPAD_BENCH_MODELS", "/work/models"))
RESULTS = ROOT / "benchmarks" / "results" / "bench_pen_to_result.json"
STEP_PX = 4  # distance between reported mouse positions along a stroke

# Symbols as polylines in a 40 x 60 box (x right, y down); one list per stroke.
Polyline = list[tuple[int, int]]
SHAPES: dict[str, list[Polyline]] = {
    "2": [[(0, 15), (10, 3), (28, 0), (40, 10), (36, 28), (0, 60), (42, 60)]],
    "x": [[(0, 15), (40, 60)], [(40, 15), (0, 60)]],
    "+": [[(0, 35), (40, 35)], [(20, 15), (20, 55)]],
    "3": [[(0, 5), (38, 0), (18, 28), (40, 42), (32, 60), (0, 56)]],
    "y": [[(0, 15), (20, 42)], [(40, 15), (8, 75)]],
    "=": [[(0, 28), (40, 28)], [(0, 44), (40, 44)]],
    "1": [[(10, 10), (22, 0), (22, 60)]],
    "7": [[(0, 0), (42, 0), (14, 60)]],
    "-": [[(0, 35), (40, 35)]],
    "z": [[(0, 15), (40, 15), (0, 60), (40, 60)]],
}
EXPRESSION = "2x+3y=17-z"


def trace(shape: list[Polyline], left: int, top: int) -> list[list[QPoint]]:
    """Mouse positions for each stroke of a symbol, about STEP_PX apart."""
    strokes = []
    for polyline in shape:
        points = [QPoint(left + polyline[0][0], top + polyline[0][1])]
        for (x0, y0), (x1, y1) in itertools.pairwise(polyline):
            steps = max(1, round(max(abs(x1 - x0), abs(y1 - y0)) / STEP_PX))
            points += [
                QPoint(left + x0 + (x1 - x0) * i // steps, top + y0 + (y1 - y0) * i // steps)
                for i in range(1, steps + 1)
            ]
        strokes.append(points)
    return strokes


class Watch:
    """When readings arrive in the window (after its own slots: the editor already shows
    them), and when each recognition was submitted and ended, seen from the recognizer."""

    def __init__(self) -> None:
        self.readings: list[tuple[float, PageResult]] = []
        self.runs: list[list] = []  # [submitted, ended or None, cancelled], in order

    def attach(self, window: MainWindow) -> None:
        window.recognition.recognized.connect(
            lambda result: self.readings.append((time.perf_counter(), result))
        )

    def make_recognizer(self, model: str | None, variant: str) -> Recognizer:
        """The window's recognizer, with each ink recognition timed."""
        watch = self

        class Timed(Recognizer):
            def submit_ink(self, ink: Ink, *, tag: object = None) -> Future[PageResult]:
                run = [time.perf_counter(), None, False]
                watch.runs.append(run)
                future = super().submit_ink(ink, tag=tag)
                future.add_done_callback(lambda f: watch.ended(run, f))
                return future

        return Timed(model, variant, local_files_only=True)  # as the app's make_recognizer

    @staticmethod
    def ended(run: list, future: Future[PageResult]) -> None:
        run[1] = time.perf_counter()
        run[2] = future.cancelled() or isinstance(future.exception(), Cancelled)

    def running(self) -> bool:
        return bool(self.runs) and self.runs[-1][1] is None


def symbols(canvas: QWidget, count: int) -> list[list[list[QPoint]]]:
    """The expression's first `count` symbols, left to right, scaled to fit the canvas."""
    text = (EXPRESSION * (count // len(EXPRESSION) + 1))[:count]
    cell = max(48, min(60, (canvas.width() - 40) // count))
    top = max(20, canvas.height() // 2 - 40)
    return [trace(SHAPES[c], 20 + i * cell, top) for i, c in enumerate(text)]


def reading_row(result: PageResult) -> dict:
    return {
        "pieces": len(result.pieces),
        "tokens": sum(len(p.token_ids) for p in result.pieces),
        "draft_accepted": sum(p.draft_accepted for p in result.pieces),
        "decoder": sorted({p.decoder for p in result.pieces}),
        "seconds": round(result.seconds, 3),
    }


def resting(app: QApplication, window: MainWindow, pen: Pen, watch: Watch, count: int) -> list:
    """Draw symbol by symbol; after each, the pen rests until the reading arrives."""
    rows = []
    window.canvas.clear()
    wait(app, lambda: not window.recognition.busy(), 120)
    for index, strokes in enumerate(symbols(window.canvas, count), 1):
        seen = len(watch.readings)
        pen.draw(strokes)
        wait(app, lambda s=seen: not pen.busy() and len(watch.readings) > s, 120)
        arrived, result = watch.readings[-1]
        wait(app, lambda: not window.recognition.busy(), 120)
        rows.append({"symbols": index, "pen_up_to_result_s": arrived - pen.released})
        rows[-1].update(reading_row(result))
        print(f"  {index:2d} symbols: {arrived - pen.released:.3f} s {rows[-1]}", flush=True)
    return rows


def interrupting(
    app: QApplication, window: MainWindow, pen: Pen, watch: Watch, count: int, into_s: float
) -> list[dict]:
    """Draw symbol by symbol; `into_s` after each reading starts, the next symbol's pen-down
    comes: how long until that run ends?"""
    rows = []
    window.canvas.clear()
    wait(app, lambda: not window.recognition.busy(), 120)
    for strokes in symbols(window.canvas, count):
        running, runs, presses = watch.running(), len(watch.runs), len(pen.presses)
        pen.draw(strokes)
        if running:
            run = watch.runs[runs - 1]
            wait(app, lambda r=run: r[1] is not None, 60)
            down = pen.presses[presses]
            rows.append({"run_s": down - run[0], "end_s": run[1] - down, "cancelled": run[2]})
            print(
                f"  pen-down {rows[-1]['run_s']:.2f} s into a run: it ended "
                f"{rows[-1]['end_s'] * 1000:.1f} ms later (cancelled: {run[2]})",
                flush=True,
            )
        wait(app, lambda n=runs: not pen.busy() and len(watch.runs) > n, 120)
        wait(
            app,
            lambda: not watch.running() or time.perf_counter() - watch.runs[-1][0] > into_s,
            120,
        )
    wait(app, lambda: not pen.busy() and not window.recognition.busy(), 120)
    return rows


def summary(rows: list[dict], count: int) -> list[dict]:
    table = []
    for n in range(1, count + 1):
        mine = [r for r in rows if r["symbols"] == n]
        times = [r["pen_up_to_result_s"] for r in mine]
        table.append(
            {
                "symbols": n,
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "tokens": "/".join(str(r["tokens"]) for r in mine),
                "draft_accepted": "/".join(str(r["draft_accepted"]) for r in mine),
                "pieces": "/".join(str(r["pieces"]) for r in mine),
            }
        )
    return table


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).rjust(w) for c, w in zip(columns, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(MODELS / "full-optimum"))
    parser.add_argument("--variant", default="int8")
    parser.add_argument("--cache", type=Path, default=MODELS / "bench-graphs-pen")
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="drawings per symbol count")
    parser.add_argument("--delay-ms", type=int, default=Settings().delay_ms, help="pen rest")
    parser.add_argument("--into", type=float, default=1.0, help="s into a run for a pen-down")
    args = parser.parse_args()
    check_qt()
    home = tempfile.TemporaryDirectory(prefix="mathpad-bench-")
    isolate(Path(home.name), args.cache)
    prepare_process()
    app = QApplication.instance() or QApplication([])
    settings = Settings(
        model=args.model, variant=args.variant, delay_ms=args.delay_ms, close_unsaved="keep"
    )
    watch = Watch()
    window = MainWindow(settings, watch.make_recognizer)
    watch.attach(window)
    window.resize(1000, 700)
    window.show()
    began = time.perf_counter()
    wait(app, lambda: window.recognition.state != "loading", 600)
    if window.recognition.state != "ready":
        raise SystemExit(f"the model did not load: {window.recognition.load_error}")
    info = window.recognition.info
    print(f"loaded in {time.perf_counter() - began:.1f} s: {info}", flush=True)
    pen = Pen(window.canvas)
    meter = StallMeter(window)
    meter.start()
    start, (machine, own), load_before = time.perf_counter(), cpu_seconds(), os.getloadavg()
    readings = []
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}: pen resting", flush=True)
        readings += resting(app, window, pen, watch, args.symbols)
    print("pen-down during a running reading", flush=True)
    cancels = interrupting(app, window, pen, watch, args.symbols, args.into)
    wall, (machine_end, own_end) = time.perf_counter() - start, cpu_seconds()
    meter.stop()
    others = max(0.0, (machine_end - machine) - (own_end - own)) / (wall * (os.cpu_count() or 1))
    window.close()
    window.recognition.join(timeout=20.0)
    window.deleteLater()  # Qt objects go before the interpreter's final collection
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    home.cleanup()

    table = summary(readings, args.symbols)
    late = sorted(meter.late)
    stall = {
        "max_stall_ms": round(late[-1], 2),
        "p99_stall_ms": round(late[int(0.99 * (len(late) - 1))], 2),
        "max_gui_cpu_ms": round(max(meter.busy), 2),
        "ticks": len(late),
    }
    ends = sorted(r["end_s"] * 1000 for r in cancels if r["cancelled"])
    cancel = {
        "pen_downs": len(cancels),
        "cancelled": len(ends),
        "median_end_ms": round(statistics.median(ends), 1) if ends else None,
        "max_end_ms": round(ends[-1], 1) if ends else None,
    }
    print_table(table)
    print("pen-down into a running reading:", cancel)
    print("event loop over the whole run:", stall)
    print(
        f"wall {wall:.0f} s, other processes {others:.0%} of the cores, "
        f"load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": args.model,
        "variant": args.variant,
        "decoder": info.decoder if info else None,
        "delay_ms": args.delay_ms,
        "expression": EXPRESSION[: args.symbols],
        "rounds": args.rounds,
        "qt_platform": app.platformName(),
        "pyside6": PySide6.__version__,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tick_ms": TICK_MS,
        "mouse_event_ms": MOUSE_MS,
        "per_symbol_count": table,
        "readings": readings,
        "pen_down_into_reading": {**cancel, "runs": cancels, "into_s": args.into},
        "event_loop": stall,
        "wall_s": round(wall, 1),
        "others": f"{others:.0%}",
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
