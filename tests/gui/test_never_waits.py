"""The window never waits for the recognizer: switching the variant while the model loads,
or closing then, returns to the event loop without joining the loading worker.

Two things are checked: the old load is still running when the switch returns (a join
would have waited for it), and the GUI thread's own work in the switch stays under
100 ms. Wall-clock time is not asserted: onnxruntime keeps the GIL while it initializes
a session (microsoft/onnxruntime#27063), which can hold any Python thread, the GUI's
included, for that long whatever the window does.
"""

from __future__ import annotations

import dataclasses
import time

STALL_LIMIT_S = 0.100


def _gui_work(action) -> float:
    """CPU seconds the GUI thread spends in `action` (waiting, for a join or the GIL, is not)."""
    began = time.thread_time()
    action()
    return time.thread_time() - began


def test_switching_the_variant_during_a_load_never_waits(make_window, qtbot) -> None:
    window = make_window()  # the int8 load has just started on the worker
    old_load = window.recognition.loading
    assert window.recognition.state == "loading"
    work = _gui_work(
        lambda: window.apply_settings(dataclasses.replace(window.settings, variant="fp32"))
    )
    assert not old_load.done(), "the switch waited for the old load to finish"
    newer_load = window.recognition.loading
    work += _gui_work(
        lambda: window.apply_settings(dataclasses.replace(window.settings, variant="int8"))
    )
    assert not newer_load.done()
    qtbot.waitUntil(lambda: window.recognition.state == "ready", timeout=30_000)
    assert window.recognition.info.variant == "int8"  # the last choice won
    assert work < STALL_LIMIT_S, f"switching took {work * 1000:.0f} ms of the GUI thread"


def test_closing_during_a_load_never_waits(make_window, qtbot) -> None:
    window = make_window()
    load = window.recognition.loading
    work = _gui_work(window.close)
    assert not window.isVisible()
    assert not load.done(), "closing waited for the load to finish"
    assert work < STALL_LIMIT_S, f"closing took {work * 1000:.0f} ms of the GUI thread"
