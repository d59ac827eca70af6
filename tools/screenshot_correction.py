"""Screenshots of the correction loop: doubtful symbols marked with their replacement
menu, the alternatives list, the history panel, what the model saw.

Everything on screen is the real window; but the fixture model has random weights and
writes unreadable LaTeX, so the readable example is put in by this script: the LaTeX
`\\frac{d}{dx} x^{2} = 2x` as a reading whose `d` and `2` are marked doubtful, with
replacements and alternatives a real model could give. The history panel shows real
readings of handwriting drawn with mouse events. Run under Xvfb:

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshot_correction.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot import FIXTURE_MODEL, ROOT, wait, wait_for, write_expression

from mathpad.settings import Settings
from mathpad.ui.alternatives import replacement_menu
from mathpad.ui.app import make_recognizer
from mathpad.ui.editor import Span
from mathpad.ui.window import MainWindow

OUT = ROOT / "resources"
LATEX = r"\frac{d}{dx} x^{2} = 2x"
DOUBTS = [(6, 7, ("a", "\\partial", "o")), (21, 22, ("z", "3", "\\alpha"))]
ALTERNATIVES = [r"\frac{d}{dx} x^{2} = 2 x", r"\frac{a}{dx} x^{2} = 2x", r"\frac{d}{dx} x^{2} = zx"]


def with_popup(window: QWidget, popup: QWidget) -> QPixmap:
    """The window's grab with a popup (its own top-level) painted where it shows."""
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(popup.pos()), popup.grab())
    painter.end()
    return shot


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    window = MainWindow(Settings(model=str(FIXTURE_MODEL), delay_ms=300), make_recognizer)
    window.resize(1200, 760)
    window.show()
    wait(app, lambda: window.recognition.state != "loading", 60)
    for seed in (3, 4):  # two real readings for the history
        write_expression(window.canvas, (120, 110), 80, random.Random(seed))
        wait(app, lambda: not window.recognition.busy() and window.preview.idle(), 60)
        wait_for(app, 0.8)
        window.canvas.clear()
    wait_for(app, 0.5)
    window.side_panel.setCurrentWidget(window.history)
    wait_for(app, 0.5)
    window.history.list.setCurrentRow(0)
    window.grab().save(str(OUT / "correction-history.png"))
    # the readable example: marks in the editor and the preview, then the menu
    spans = [Span(start, end, choices) for start, end, choices in DOUBTS]
    window.source.show_reading(LATEX, spans)
    window.preview.set_latex(LATEX, marks=[(s.start, s.end) for s in spans], debounce=False)
    window.alternatives.show_alternatives(ALTERNATIVES)
    window.side_panel.setCurrentWidget(window.alternatives)
    wait(app, window.preview.idle, 10)
    wait_for(app, 0.5)
    window.grab().save(str(OUT / "correction-alternatives.png"))
    editor = window.source
    cursor = editor.textCursor()
    cursor.setPosition(DOUBTS[0][0])
    at = editor.viewport().mapToGlobal(editor.cursorRect(cursor).bottomLeft() + QPoint(0, 4))
    menu = replacement_menu(editor, DOUBTS[0][2], lambda _c: None, at)
    wait_for(app, 0.5)
    with_popup(window, menu).save(str(OUT / "correction-doubtful.png"))
    menu.close()
    window.side_panel.setCurrentWidget(window.pieces)
    wait_for(app, 0.3)
    print("wrote", *(OUT / f"correction-{n}.png" for n in ("history", "alternatives", "doubtful")))
    window.close()
    window.recognition.join(timeout=10)


if __name__ == "__main__":
    main()
