"""The GUI entry point: a QApplication, the window, and the model loading behind it.

The CLI imports this module only for the window, so Qt is never imported by anything
outside `mathpad.ui`.
"""

from __future__ import annotations

import sys
from functools import partial

import PySide6
from PySide6.QtWidgets import QApplication

from mathpad import __version__
from mathpad.errors import MathpadError
from mathpad.recognizer import Recognizer, preload
from mathpad.settings import load_settings, save_settings
from mathpad.ui.window import MainWindow


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
    preload()  # before any window: an import that keeps the GIL must not freeze one
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
