"""Screenshots of the real window, for the README and for looking at what was built.

- `--hero`: a formula typed into the LaTeX editor with real key events, rendered by the
  preview (resources/screenshot.png). The model is the test fixture (random weights), so
  nothing is recognized here: what is shown is what the preview draws.
- `--annotated`: a picture of a formula is opened and "+1" is handwritten beside it with
  real mouse events, so picture and ink are recognized together (the fixture model's
  LaTeX is random; the window around it is what is looked at).

Run it under a real X server with a window manager, so the xcb platform plugin, the
window frame and the screen's pixels are real; the whole screen area of the window
(frame included) is grabbed:

    xvfb-run -a -s "-screen 0 1600x1000x24" sh -c \
        "openbox & sleep 1; .venv/bin/python tools/screenshot.py --annotated --dark --scale 2"

Options: --dark (Settings' dark theme), --scale 2 (200 %), --out (else a name under
resources/ from the options).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from mathpad import paths
from mathpad.render import render_png
from mathpad.settings import Settings
from mathpad.ui.app import check_qt, make_recognizer
from mathpad.ui.window import MainWindow

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_MODEL = ROOT / "tests" / "fixtures" / "models" / "optimum"
HERO_LATEX = r"\frac{a}{b} + \sqrt{x^2+1}"
PICTURE_LATEX = r"\frac{a+b}{2} \geq \sqrt{ab}"

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
    canvas: QWidget,
    origin: tuple[float, float],
    size: float,
    rng: random.Random,
    glyphs: list[list[tuple[float, float]]] = GLYPHS,
) -> None:
    """Draw `glyphs` with mouse events at `origin`, `size` pixels per unit, with a wobble."""
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for glyph in glyphs:
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
    parser = argparse.ArgumentParser(description="Screenshots of the real window.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--hero", action="store_true", help="a typed formula, rendered")
    what.add_argument("--annotated", action="store_true", help="a picture with ink beside it")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--model", default=str(FIXTURE_MODEL))
    parser.add_argument("--dark", action="store_true", help="the dark theme")
    parser.add_argument("--scale", type=float, default=1.0, help="device scale, e.g. 2")
    parser.add_argument("--seed", type=int, default=3, help="the wobble of the hand")
    args = parser.parse_args()
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    out = args.out or ROOT / "resources" / (
        "screenshot.png"
        if args.hero
        else f"window-{args.scale:g}x-{'dark' if args.dark else 'light'}.png"
    )

    check_qt()
    # settings, autosave and history of the shot's own: a user's (a crashed run's restore
    # question, a long history list) must neither show in it nor be written by it
    home = Path(tempfile.mkdtemp(prefix="mathpad-screenshot-"))
    paths.config_dir = lambda: home / "config"
    paths.data_dir = lambda: home / "data"
    app = QApplication(sys.argv[:1])
    theme = "dark" if args.dark else "light"
    window = MainWindow(Settings(model=args.model, delay_ms=400, theme=theme), make_recognizer)
    window.show()
    wait(app, lambda: window.recognition.state != "loading", 60)
    if window.recognition.load_error is not None:
        raise SystemExit(f"the model did not load: {window.recognition.load_error}")
    if args.hero:
        window.source.setFocus()
        QTest.keyClicks(window.source, HERO_LATEX, delay=5)
        wait_for(app, 0.4)  # the preview's typing pause
        wait(app, window.preview.idle, 30)
        window.canvas.setFocus()
    else:
        annotate(app, window, random.Random(args.seed))
    wait_for(app, 0.5)  # let the last paints land
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = window.frameGeometry()
    screen = window.screen()
    shot = screen.grabWindow(0, frame.x(), frame.y(), frame.width(), frame.height())
    if not shot.save(str(out)):
        raise SystemExit(f"could not write {out}")
    print(
        f"{out}: {shot.width()}x{shot.height()} px on {QGuiApplication.platformName()}, "
        f"LaTeX {window.latex()!r}, preview notice: {window.preview.notice}"
    )
    window.close()


def annotate(app: QApplication, window: MainWindow, rng: random.Random) -> None:
    """Open a picture of a formula with room on its right, then write "+1" there."""
    rendered = render_png(PICTURE_LATEX, fontsize=30, dpi=150, color="black", background="white")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "formula.png"
        formula = Image.open(io.BytesIO(rendered.png)).convert("RGB")
        page = Image.new("RGB", (int(formula.width * 1.7), int(formula.height * 1.6)), "white")
        page.paste(formula, (formula.width // 10, (page.height - formula.height) // 2))
        page.save(path)
        window.open_file(path)
        wait(app, lambda: window.document.picture is not None, 30)
    wait(app, lambda: not window.recognition.busy(), 60)
    view = window.canvas.view()
    width, height = window.document.picture.size
    size = view.m11() * height * 0.42
    start = view.map(QPointF(width * 0.64, height * 0.3))  # where "+" begins (x = 1.5 units)
    origin = (start.x() - 1.5 * size, start.y())
    write_expression(window.canvas, origin, size, rng, glyphs=GLYPHS[3:])
    wait(app, lambda: window.recognition.busy(), 5)
    wait(app, lambda: not window.recognition.busy() and window.preview.idle(), 60)


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


if __name__ == "__main__":
    main()
