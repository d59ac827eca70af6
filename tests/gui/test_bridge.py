"""Core futures reach the GUI thread as handler calls; superseded work is dropped."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from mathpad.ui.bridge import FutureBridge


@pytest.fixture
def worker() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True)


def test_results_and_errors_arrive_on_the_gui_thread(qtbot, worker: ThreadPoolExecutor) -> None:
    bridge = FutureBridge()
    seen: list[tuple[str, object, threading.Thread]] = []

    def fail() -> None:
        raise ValueError("broken")

    bridge.deliver(
        worker.submit(lambda: 42),
        lambda v: seen.append(("ok", v, threading.current_thread())),
        print,
    )
    bridge.deliver(
        worker.submit(fail), print, lambda e: seen.append(("error", e, threading.current_thread()))
    )
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=2000)
    assert seen[0][:2] == ("ok", 42)
    assert seen[1][0] == "error" and str(seen[1][1]) == "broken"
    assert all(thread is threading.main_thread() for *_, thread in seen)
    assert bridge.pending() == 0


def test_a_done_future_is_still_delivered_later(qtbot) -> None:
    bridge = FutureBridge()
    done: Future[int] = Future()
    done.set_result(1)
    seen: list[int] = []
    bridge.deliver(done, seen.append, print)
    assert seen == []  # not inside deliver(): the caller finishes its setup first
    qtbot.waitUntil(lambda: seen == [1], timeout=1000)


def test_cancelled_futures_say_so_and_forgotten_ones_are_dropped(qtbot) -> None:
    bridge = FutureBridge()
    seen: list[object] = []
    cancelled: Future[int] = Future()
    bridge.deliver(cancelled, seen.append, seen.append, lambda: seen.append("cancelled"))
    cancelled.cancel()
    qtbot.waitUntil(lambda: seen == ["cancelled"], timeout=1000)
    late: Future[int] = Future()
    bridge.deliver(late, seen.append, seen.append)
    bridge.forget()
    late.set_result(2)
    qtbot.wait(20)
    assert seen == ["cancelled"]
    assert bridge.pending() == 0
