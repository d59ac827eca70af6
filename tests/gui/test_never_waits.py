"""The window never waits for the recognizer: switching the variant while the model loads,
or closing then, returns to the event loop at once instead of joining the loading worker;
a reading reaches the window with its text already tidied on the worker.

The first tests hold the loads at a gate (a real Recognizer whose load first waits for an
event), so a join would hold the GUI thread until the gate opens, two seconds later. The
last lets a real load run, graphs derived from scratch, and probes the event loop itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time

import onnxruntime as ort
import pytest
from PySide6.QtCore import QTimer

from mathpad import paths
from mathpad import recognizer as recognizer_module
from mathpad.recognizer import ModelInfo, Recognizer
from mathpad.settings import Settings
from mathpad.ui.app import prepare_process

from .conftest import FIXTURE_MODEL, line

STALL_LIMIT_S = 0.100
# A real load, derivation included, on a machine whose cores other work may hold: the test
# is for the GIL kept by an import or a session build (`import onnx` froze the window for
# about 1 s); stalls of tens of ms are bench_gui_stall's to measure, not a test's to time.
LOAD_STALL_LIMIT_S = 0.300
GATE_S = 2.0


class GatedRecognizer(Recognizer):
    """The real recognizer; its load starts once `gate` is open."""

    gate = threading.Event()

    def _load(self) -> ModelInfo:
        self.gate.wait(10)
        return super()._load()


@pytest.fixture
def gated_window(make_window):
    GatedRecognizer.gate.clear()
    opener = threading.Timer(GATE_S, GatedRecognizer.gate.set)
    opener.start()
    window = make_window(make_recognizer=lambda m, v: GatedRecognizer(m, v))
    yield window
    opener.cancel()
    GatedRecognizer.gate.set()


def _held(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def test_switching_the_variant_during_a_load_never_waits(gated_window, qtbot) -> None:
    window = gated_window
    assert window.recognition.state == "loading"
    held = _held(
        lambda: window.apply_settings(dataclasses.replace(window.settings, variant="fp32"))
    )
    held = max(
        held,
        _held(lambda: window.apply_settings(dataclasses.replace(window.settings, variant="int8"))),
    )
    assert window.recognition.state == "loading"
    assert held < STALL_LIMIT_S, f"switching held the event loop {held * 1000:.0f} ms"
    GatedRecognizer.gate.set()
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=30_000)
    assert window.recognition.info.variant == "int8"  # the last choice won


def test_a_real_load_switched_midway_never_stalls_the_event_loop(
    make_window, qtbot, tmp_path, monkeypatch, interpreter_restored
) -> None:
    if tuple(int(part) for part in ort.__version__.split(".")[:2]) < (1, 32):
        # Measured: onnxruntime 1.28 keeps the GIL while it builds a session (up to 70 ms
        # for a fixture graph, and a load builds several); 1.32 lets go of it.
        pytest.skip(f"onnxruntime {ort.__version__} keeps the GIL while it builds sessions")
    monkeypatch.setattr(paths, "cache_dir", lambda: tmp_path)  # derive the graphs anew
    prepare_process()  # as run_gui does before its window shows
    ticks: list[float] = []
    probe = QTimer(interval=5)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    window = make_window(settings=Settings(model=str(FIXTURE_MODEL), variant="fp32"))
    qtbot.wait(30)
    window.apply_settings(dataclasses.replace(window.settings, variant="int8"))
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=60_000)
    qtbot.wait(30)
    probe.stop()
    longest = max(b - a for a, b in itertools.pairwise(ticks))
    assert window.recognition.info.variant == "int8"
    assert longest < LOAD_STALL_LIMIT_S, f"the event loop stalled {longest * 1000:.0f} ms"


def test_closing_during_a_load_never_waits(gated_window) -> None:
    window = gated_window
    held = _held(window.close)
    assert not window.isVisible()
    assert held < STALL_LIMIT_S, f"closing held the event loop {held * 1000:.0f} ms"
    GatedRecognizer.gate.set()  # the old load ends on its own, after the window has gone


def test_a_reading_arrives_tidied_so_the_window_does_not_tidy_it(
    window, draw, qtbot, monkeypatch
) -> None:
    # Tidying and aligning a reading with its text took ~2 ms of the GUI thread per reading
    # (four times over, by the editor, the marks and the history); the worker does it once.
    tidied_on: list[threading.Thread] = []
    tidy = recognizer_module.tidy

    def watched(text: str) -> str:
        tidied_on.append(threading.current_thread())
        return tidy(text)

    monkeypatch.setattr(recognizer_module, "tidy", watched)
    with qtbot.waitSignal(window.recognition.recognized, timeout=10_000) as got:
        draw(window.canvas, line((60, 60), (260, 160)))
    qtbot.waitUntil(lambda: window.history.current_id is not None, timeout=10_000)
    assert window.source.toPlainText() == got.args[0].text()
    assert tidied_on, "the reading was never tidied"
    assert threading.main_thread() not in tidied_on
