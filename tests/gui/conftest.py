"""GUI test fixtures: offscreen Qt, no leaked threads, no blocking dialogs, no real config.

Like napari's conftest, a test fails if it leaves a QThread or a Python thread running:
a worker outliving its window is how GUI suites crash at exit.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from weakref import WeakKeyDictionary

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before pytest-qt makes the QApplication

from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QWidget
from support import MODELS

from mathpad import autosave as autosave_module
from mathpad import paths
from mathpad import settings as settings_module
from mathpad.history import database as history_database
from mathpad.settings import Settings

FIXTURE_MODEL = MODELS / "optimum"


class FakeDialogs:
    """Answers file pickers at once and records messages instead of showing boxes."""

    def __init__(self) -> None:
        self.open_answer: str | None = None
        self.save_answer: str | None = None
        self.folder_answer: str | None = None
        self.errors: list[tuple[str, str]] = []

    def open_path(self, _parent: QWidget) -> str | None:
        return self.open_answer

    def save_ink_path(self, _parent: QWidget) -> str | None:
        return self.save_answer

    def model_folder(self, _parent: QWidget) -> str | None:
        return self.folder_answer

    def error(self, _parent: QWidget, title: str, text: str) -> None:
        self.errors.append((title, text))


@pytest.fixture(autouse=True)
def _dangling_threads() -> Iterator[None]:
    """Fail a test that leaves a Python thread running (executors included)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    while left and time.monotonic() < deadline:
        time.sleep(0.01)
        left = [t for t in left if t.is_alive()]
    assert not left, f"threads left running: {[t.name for t in left]}"


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test that leaves a QThread running; reports where it was started."""
    started: WeakKeyDictionary[QThread, str] = WeakKeyDictionary()
    base_start = QThread.start

    def start(self: QThread, *args: object) -> None:
        caller = sys._getframe(1)
        started[self] = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = [place for thread, place in started.items() if thread.isRunning()]
    for thread in list(started):
        thread.quit()
        thread.wait(2000)
    assert not running, f"QThreads left running, started at: {running}"


@pytest.fixture(autouse=True)
def _config_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings go to the test's temp dir, never the user's config."""
    folder = tmp_path / "config"
    monkeypatch.setattr(settings_module, "config_dir", lambda: folder)
    return folder


@pytest.fixture(autouse=True)
def _autosave_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pad's autosave goes to the test's temp dir, never the user's data folder."""
    folder = tmp_path / "autosave"
    monkeypatch.setattr(autosave_module, "autosave_dir", lambda: folder)
    return folder


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The readings database goes to the test's temp dir, never the user's data folder."""
    path = tmp_path / "history.sqlite3"
    monkeypatch.setattr(history_database, "history_path", lambda: path)
    return path


@pytest.fixture(scope="session")
def _graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _shared_graph_cache(_graph_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One private cache for the whole GUI run: the fixture model's derived decoder graphs
    are made once, not once per window (still never the user's cache)."""
    monkeypatch.setattr(paths, "cache_dir", lambda: _graph_cache)


@pytest.fixture
def interpreter_restored() -> Iterator[None]:
    """For a test that sets the process up as `run_gui` does (`prepare_process`): the
    switch interval and the collector are given back to the rest of the suite."""
    interval = sys.getswitchinterval()
    yield
    sys.setswitchinterval(interval)
    gc.unfreeze()


@pytest.fixture
def dialogs() -> FakeDialogs:
    return FakeDialogs()


@pytest.fixture
def make_window(
    qtbot, dialogs: FakeDialogs, _dangling_threads: None
) -> Iterator[Callable[..., object]]:
    """Build a shown main window; it is closed, and loads it let go are given time to end
    (as `run_gui` does at exit), before the thread check."""
    from mathpad.recognizer import Recognizer
    from mathpad.ui.window import MainWindow

    made: list[MainWindow] = []

    def build(
        model: str | None = str(FIXTURE_MODEL),
        settings: Settings | None = None,
        make_recognizer: Callable[[str | None, str], Recognizer] | None = None,
        **kwargs: object,
    ) -> MainWindow:
        window = MainWindow(
            settings or Settings(model=model, delay_ms=50, variant="int8", close_unsaved="keep"),
            make_recognizer or (lambda m, v: Recognizer(m, v, local_files_only=True)),
            dialogs=dialogs,
            save_settings=settings_module.save_settings,
            **kwargs,
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        made.append(window)
        return window

    yield build
    for window in made:
        window.close()
        if window.keeper.prompt is not None and window.keeper.prompt.isVisible():
            window.keeper.prompt.button(QMessageBox.StandardButton.Discard).click()
        window.recognition.join(timeout=20.0)  # as the app does at exit: loads let go end


@pytest.fixture
def window(make_window: Callable[..., object], qtbot) -> object:
    """A window with the fixture model loaded."""
    made = make_window()
    qtbot.waitUntil(lambda: made.recognition.state == "ready", timeout=10_000)
    return made


def _draw(canvas: QWidget, points: list[tuple[int, int]]) -> None:
    """One stroke through `points` with real mouse events: press, moves, release."""
    first, *rest = [QPoint(x, y) for x, y in points]
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, first)
    for point in rest:
        QTest.mouseMove(canvas, point)
    last = rest[-1] if rest else first
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, last)


def line(start: tuple[int, int], end: tuple[int, int], steps: int = 8) -> list[tuple[int, int]]:
    """Points along a straight stroke, as a mouse would report them."""
    (x0, y0), (x1, y1) = start, end
    return [(x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps) for i in range(steps + 1)]


@pytest.fixture
def draw() -> Callable[[QWidget, list[tuple[int, int]]], None]:
    return _draw


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A private dbus-daemon, made the session bus for the test; killed after it."""
    pytest.importorskip("jeepney")  # installed with the pad where Wayland runs
    from fake_portal import PrivateBus, dbus_daemon_missing

    if dbus_daemon_missing():
        pytest.skip("dbus-daemon is not installed")
    bus = PrivateBus()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
    yield bus
    bus.close()


@pytest.fixture
def fake_portal(session_bus: object) -> Iterator[Callable[..., object]]:
    """Start a fake screenshot portal on the private bus: `fake_portal(code=1, ...)`."""
    from fake_portal import FakePortal

    made: list[FakePortal] = []

    def start(**behaviour: object) -> FakePortal:
        made.append(FakePortal(session_bus.address, **behaviour))
        return made[-1]

    yield start
    for portal in made:
        portal.close()
