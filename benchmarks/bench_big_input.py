"""How long does the GUI thread block on big inputs?

A 5 ms timer ticks throughout (bench_gui_stall's StallMeter) while the window: opens a
50-megapixel picture, pastes it from the clipboard, opens a 200,000-point ink, undoes
back to the picture, and is resized with that ink on it. Each step waits until the
window is idle again; the table shows the longest stall (ms) in each step. The model
is not loaded (a folder that does not exist), so only the window's own work is timed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_big_input.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from bench_gui_stall import StallMeter
from PIL import Image, ImageDraw
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from mathpad.ink.inkml import write_inkml
from mathpad.ink.strokes import Ink, Stroke
from mathpad.recognizer import Recognizer
from mathpad.settings import Settings
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_big_input.json"
SETTLE_S = 1.0  # idle time after a step: its deferred work must be done by then


def big_picture(path: Path) -> None:
    """8660 x 5774 (50 MP): a formula-like picture, dark strokes on white."""
    image = Image.new("RGB", (8660, 5774), "white")
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x = 200 + i * 200
        draw.line([(x, 1000), (x + 150, 4000)], fill="black", width=40)
    image.save(path, compress_level=1)


def big_ink(path: Path) -> None:
    """2,000 strokes of 100 points: 200,000 points."""
    rng = np.random.default_rng(0)
    strokes = []
    for i in range(2000):
        x0, y0 = (i % 50) * 40.0, (i // 50) * 40.0
        xy = np.column_stack([x0 + np.arange(100) * 0.3, y0 + rng.normal(0, 2, 100)])
        strokes.append(Stroke(xy))
    write_inkml(Ink(tuple(strokes)), path)


def step(
    app: QApplication,
    meter: StallMeter,
    action: Callable[[], None],
    done: Callable[[], bool] = lambda: True,
) -> float:
    """The longest stall while `action` runs and until `done()`, plus SETTLE_S."""
    meter.start()
    action()
    deadline = time.perf_counter() + 120
    while not done() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    end = time.perf_counter() + SETTLE_S
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    meter.stop()
    return round(max(meter.late, default=0.0), 1)


def main() -> None:
    app = QApplication.instance() or QApplication([])
    folder = Path(tempfile.mkdtemp(prefix="mathpad-bench-"))
    picture, ink = folder / "big.png", folder / "big.inkml"
    big_picture(picture)
    big_ink(ink)
    window = MainWindow(
        Settings(model=str(folder / "no-model"), delay_ms=60_000),
        lambda m, v: Recognizer(m, v, local_files_only=True),
    )
    window.resize(1000, 700)
    window.show()
    meter = StallMeter(window)
    step(app, meter, lambda: None)
    if window.model_dialog is not None:
        window.model_dialog.close()
    undo = window.actions["undo"].trigger
    document = window.document
    rows = {"idle": step(app, meter, lambda: None)}
    rows["open 50 MP picture"] = step(
        app, meter, lambda: window.open_file(picture), lambda: document.picture is not None
    )
    QGuiApplication.clipboard().setImage(QImage(str(picture)))
    opened = document.picture
    rows["paste 50 MP picture"] = step(
        app, meter, window.actions["paste"].trigger, lambda: document.picture is not opened
    )
    rows["open 200k-point ink"] = step(
        app, meter, lambda: window.open_file(ink), lambda: not document.ink.is_empty
    )
    rows["resize with the ink"] = step(app, meter, lambda: window.resize(700, 500))
    rows["undo to the picture"] = step(app, meter, undo)
    rows["resize with the picture"] = step(app, meter, lambda: window.resize(1000, 700))
    window.close()
    width = max(map(len, rows))
    print(f"{'step'.ljust(width)}  longest stall (ms)")
    for name, ms in rows.items():
        print(f"{name.ljust(width)}  {ms:>10}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"longest_stall_ms": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
