"""The entry point: a Qt known to crash is refused; otherwise the window opens and closes,
in a process set up so that its event loop does not wait for the workers."""

from __future__ import annotations

import gc
import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from mathpad.errors import MathpadError
from mathpad.settings import Settings, save_settings
from mathpad.ui import app as app_module
from mathpad.ui.window import MainWindow

from .conftest import FIXTURE_MODEL


def test_pyside_6_12_0_is_refused_on_python_3_11() -> None:
    with pytest.raises(MathpadError, match=r"PySide6-Essentials>=6.6,<6.12"):
        app_module.check_qt("6.12.0", (3, 11))
    app_module.check_qt("6.12.0", (3, 12))
    app_module.check_qt("6.11.3", (3, 11))


def test_run_gui_opens_the_window_with_the_saved_settings(qapp, monkeypatch) -> None:
    monkeypatch.setattr(app_module, "check_qt", lambda: None)
    save_settings(Settings(model=str(FIXTURE_MODEL), delay_ms=700))
    seen: list[MainWindow] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows or not windows[0].isVisible():
            QTimer.singleShot(10, close_when_shown)
            return
        seen.extend(windows)
        windows[0].close()

    QTimer.singleShot(0, close_when_shown)
    assert app_module.run_gui() == 0
    (window,) = seen
    assert window.model == str(FIXTURE_MODEL)
    assert window.recognition.delay_ms == 700
    window.deleteLater()


def test_the_window_runs_with_short_gil_hand_offs_and_frozen_startup_objects(
    qapp, monkeypatch, interpreter_restored
) -> None:
    # Python's 5 ms switch interval and full collections over every imported object (60-80
    # ms, on whichever thread) made the window's event loop stall 40-100 ms while recognizing.
    monkeypatch.setattr(app_module, "check_qt", lambda: None)
    save_settings(Settings(model=str(FIXTURE_MODEL)))
    sys.setswitchinterval(0.005)
    gc.unfreeze()
    seen: list[tuple[float, int]] = []

    def close_when_shown() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows or not windows[0].isVisible():
            QTimer.singleShot(10, close_when_shown)
            return
        seen.append((sys.getswitchinterval(), gc.get_freeze_count()))
        windows[0].close()
        windows[0].deleteLater()

    QTimer.singleShot(0, close_when_shown)
    assert app_module.run_gui() == 0
    ((interval, frozen),) = seen
    assert interval <= 0.001
    assert frozen > 10_000  # the imported modules' objects: the collector skips them
