"""The real pad, drawn on by a robot, for the kill test (`test_autosave_kill.py`).

Run as `python pad_driver.py HOME`: mathpad's three folders go under HOME, the settings
name the fixture model, and then `run_gui` starts the pad exactly as `mathpad` does. A
robot on the event loop answers the restore prompt (Yes) if there is one, prints
`restored N` with the strokes it got back, and then draws one stroke after another with
real mouse events (a 125 Hz mouse), printing `drawn N` after each release, until killed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from support import MODELS

from mathpad import paths
from mathpad.settings import Settings, save_settings
from mathpad.ui.app import run_gui
from mathpad.ui.window import MainWindow

MOUSE_MS = 8
MOVES = 16
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def stroke_points(index: int) -> list[QPoint]:
    """Stroke `index` of the drawing: short slanted lines, row after row."""
    x, y = 30 + (index % 8) * 45, 30 + (index // 8 % 5) * 40
    return [QPoint(x + 2 * k, y + k) for k in range(MOVES + 1)]


class Robot:
    """Draws with one mouse event per timer tick, so the pad handles each in its own turn."""

    def __init__(self) -> None:
        self.window: MainWindow | None = None
        self.drawn = 0
        self.restoring: bool | None = False  # None once the restore is reported
        self.events: list[tuple[str, QPoint]] = []
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(MOUSE_MS)

    def _tick(self) -> None:
        if self.window is None:
            found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
            if not found or not found[0].isVisible():
                return
            prompt = found[0].keeper.prompt
            if prompt is not None and not prompt.isVisible():
                return  # it opens once the window is on the screen
            self.window, self.restoring = found[0], prompt is not None
            if self.restoring:
                prompt.button(QMessageBox.StandardButton.Yes).click()
            return
        if self.restoring is not None:
            # a restored picture is decoded on a worker first: wait for the strokes
            strokes = len(self.window.document.ink.strokes)
            if self.restoring and not strokes:
                return
            self.restoring, self.drawn = None, strokes
            print(f"restored {strokes}", flush=True)
            return
        if not self.events:
            points = stroke_points(self.drawn)
            self.events = [("press", points[0])]
            self.events += [("move", p) for p in points[1:]]
            self.events += [("release", points[-1])] + [("rest", points[-1])] * 6
        kind, point = self.events.pop(0)
        canvas = self.window.canvas
        if kind == "press":
            QTest.mousePress(canvas, LEFT, NONE, point)
        elif kind == "move":
            QTest.mouseMove(canvas, point)
        elif kind == "release":
            QTest.mouseRelease(canvas, LEFT, NONE, point)
            self.drawn += 1
            print(f"drawn {self.drawn}", flush=True)


def main(home: Path) -> int:
    paths.config_dir = lambda: home / "config"
    paths.cache_dir = lambda: home / "cache"
    paths.data_dir = lambda: home / "data"
    save_settings(Settings(model=str(MODELS / "optimum"), variant="int8", delay_ms=100))
    QApplication(sys.argv[:1])
    robot = Robot()  # noqa: F841 (runs on the event loop until the process is killed)
    return run_gui()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
