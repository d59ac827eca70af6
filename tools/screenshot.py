"""Make resources/screenshot.png: the real window with "x^2+1" handwritten and recognized.

The expression is drawn with real mouse events (press, moves with a human's wobble and
pace, release) so the canvas, the rest timer and the recognizer all run as they do for a
person. Run it on a display; with no screen, under Xvfb:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshot.py

The default model is the test fixture: random weights, so its LaTeX is random too and
mathtext usually cannot render it; the screenshot then shows the preview's notice. Pass
--model with a real model folder or hub id for a rendered formula. Options: --dark for a
dark palette (Fusion), --scale 2 to check 200 %, --out to write elsewhere.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from mathpad.settings import Settings
from mathpad.ui.app import check_qt, make_recognizer
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODEL = ROOT / "tests" / "fixtures" / "models" / "optimum"

# "x^2+1" as pen paths in a box one unit high: (x, y) control points, one list per stroke
GLYPHS: list[list[tuple[float, float]]] = [
    [(0.0, 0.15), (0.12, 0.05), (0.3, 0.35), (0.45, 0.65), (0.62, 0.95), (0.75, 0.85)],  # x \
    [(0.7, 0.1), (0.5, 0.35), (0.35, 0.6), (0.15, 0.9), (0.02, 0.95)],  # x /
    [(0.85, -0.2), (0.95, -0.32), (1.1, -0.33), (1.17, -0.22), (1.1, -0.08), (0.86, 0.1),
     (1.0, 0.09), (1.2, 0.1)],  # superscript 2
    [(1.5, 0.52), (1.75, 0.5), (2.0, 0.49)],  # + across
    [(1.76, 0.25), (1.75, 0.52), (1.77, 0.78)],  # + down
    [(2.3, 0.2), (2.45, 0.05), (2.47, 0.5), (2.46, 0.97)],  # 1
]  # fmt: skip


def catmull_rom(points: list[tuple[float, float]], per_span: int = 10) -> list[tuple[float, float]]:
    """A smooth path through the control points, sampled like a pointer reports it."""
    padded = [points[0], *points, points[-1]]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        for step in range(per_span):
            t = step / per_span
            out.append(
                tuple(
                    0.5
                    * (
                        2 * p1[k]
                        + (-p0[k] + p2[k]) * t
                        + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t * t
                        + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t**3
                    )
                    for k in (0, 1)
                )
            )
    out.append(points[-1])
    return out  # type: ignore[return-value]


def write_expression(
    canvas: QWidget, origin: tuple[float, float], size: float, rng: random.Random
) -> None:
    """Draw GLYPHS with mouse events at `origin`, `size` pixels per unit, with a wobble."""
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for glyph in GLYPHS:
        path = catmull_rom(glyph)
        points = [
            QPoint(
                round(origin[0] + size * x + rng.gauss(0, 0.6)),
                round(origin[1] + size * y + rng.gauss(0, 0.6)),
            )
            for x, y in path
        ]
        QTest.mousePress(canvas, left, none, points[0])
        for point in points[1:]:
            QTest.mouseMove(canvas, point)
            QTest.qWait(4)  # a hand takes time: the points get real timestamps
        QTest.mouseRelease(canvas, left, none, points[-1])
        QTest.qWait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description="Make the README's screenshot.")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshot.png")
    parser.add_argument("--model", default=str(FIXTURE_MODEL))
    parser.add_argument("--dark", action="store_true", help="use a dark palette")
    parser.add_argument("--scale", type=float, default=1.0, help="device scale, e.g. 2")
    parser.add_argument("--seed", type=int, default=3, help="the wobble of the hand")
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)

    check_qt()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())
    window = MainWindow(Settings(model=args.model, delay_ms=400), make_recognizer)
    window.resize(1100, 720)
    window.show()
    wait(app, lambda: window.recognition.state != "loading", 60)
    if window.recognition.load_error is not None:
        raise SystemExit(f"the model did not load: {window.recognition.load_error}")
    write_expression(window.canvas, (120, 110), 95, random.Random(args.seed))
    wait(app, lambda: window.recognition.busy(), 5)
    wait(app, lambda: not window.recognition.busy() and window.preview.idle(), 60)
    wait_for(app, 0.3)  # let the last paints land
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.out)):
        raise SystemExit(f"could not write {args.out}")
    print(f"{args.out}: {window.latex()!r}; preview notice: {window.preview.notice}")
    window.close()


def wait(app: QApplication, condition: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.005)


def wait_for(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    wait(app, lambda: time.monotonic() > end, seconds + 1)


def dark_palette() -> QPalette:
    """A dark desktop palette, close to what KDE's Breeze Dark gives Qt apps."""
    palette = QPalette()
    role = QPalette.ColorRole
    for name, color in (
        (role.Window, "#2b2d30"),
        (role.WindowText, "#e6e6e6"),
        (role.Base, "#1e1f22"),
        (role.AlternateBase, "#2b2d30"),
        (role.Text, "#e6e6e6"),
        (role.Button, "#3c3f41"),
        (role.ButtonText, "#e6e6e6"),
        (role.Highlight, "#3d7bd9"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#3c3f41"),
        (role.ToolTipText, "#e6e6e6"),
        (role.PlaceholderText, "#8c8c8c"),
    ):
        palette.setColor(name, QColor(color))
    disabled = QPalette.ColorGroup.Disabled
    for name in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, name, QColor("#7a7a7a"))
    return palette


if __name__ == "__main__":
    main()
