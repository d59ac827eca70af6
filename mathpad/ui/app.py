"""The GUI entry point: a QApplication, the window, and the model loading behind it.

The CLI imports this module only for the window, so Qt is never imported by anything
outside `mathpad.ui`.
"""

from __future__ import annotations

import gc
import sys
from functools import partial

import PySide6
from PySide6.QtWidgets import QApplication

from mathpad import __version__
from mathpad.errors import MathpadError
from mathpad.recognizer import Recognizer, preload
from mathpad.settings import load_settings, save_settings
from mathpad.ui.window import MainWindow

# A thread waiting for the GIL asks for it after this long (Python's default: 5 ms). Every
# slot Qt calls needs the GIL, so with the workers busy (decoding, mathtext, history) each
# one could wait that long: the longest event-loop stall with the pen resting during
# recognitions fell from a median 30 to 22 ms at 1 ms (bench_gui_stall, 4 runs each; the
# recognitions took as long). The GUI thread is preempted as often, which cost nothing
# measurable while drawing.
SWITCH_INTERVAL_S = 0.001


def prepare_process() -> None:
    """What the pad does before its first window, so that its event loop does not wait.

    The imports a first model load would make are done now (`preload`), the switch interval
    is shortened (SWITCH_INTERVAL_S), and the ~95,000 objects of the imported modules are
    frozen out of the garbage collector: a full collection walks every tracked object while
    it holds the GIL, on whichever thread it falls (a worker's, mostly), and froze the
    window for 60-110 ms; frozen, they are never walked, and a full collection walks the
    ~10,000 made later (9-16 ms measured, on the preview's worker).
    """
    preload()  # an import that keeps the GIL must not freeze a window
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()  # what is garbage now is not kept forever by the freeze
    gc.freeze()


def make_recognizer(model: str | None, variant: str, *, revision: str | None = None) -> Recognizer:
    """The window's recognizer: background worker, cached files only (downloads ask first)."""
    return Recognizer(model, variant, revision=revision, local_files_only=True)


def check_qt(
    version: str = PySide6.__version__, python: tuple[int, int] = sys.version_info[:2]
) -> None:
    """Refuse a PySide6 known to crash the window, with the line that fixes it.

    PySide6 6.12.0 drops a reference to None on every call that returns nothing; from
    Python 3.12 on None is immortal and nothing happens, but on 3.11 the window aborts
    ("deallocating None") after a few thousand paints.
    """
    if version == "6.12.0" and python < (3, 12):
        raise MathpadError(
            f"PySide6 {version} crashes on Python {python[0]}.{python[1]} "
            "(it frees None): run  pip install 'PySide6-Essentials>=6.6,<6.12'  "
            "or use Python 3.12 or newer"
        )


def run_gui(
    model: str | None = None, variant: str | None = None, revision: str | None = None
) -> int:
    """Open the pad and run until it is closed; `model`/`variant` override the settings.

    `revision` pins the hub revision of the model, as on the command line.
    """
    check_qt()
    prepare_process()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("mathpad")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("mathpad")
    window = MainWindow(
        load_settings(),
        partial(make_recognizer, revision=revision),
        model=model,
        variant=variant,
        save_settings=save_settings,
    )
    window.show()
    code = app.exec()
    window.recognition.join(timeout=5.0)  # correct: the only wait, after the window is gone
    return code
