"""Latest only: one job at a time, the newest next, outcomes for superseded jobs dropped."""

from __future__ import annotations

from concurrent.futures import Future

from mathpad.ui.latest import Latest


class Jobs:
    """Futures the test finishes by hand, one per started job."""

    def __init__(self) -> None:
        self.started: list[tuple[str, Future[str]]] = []
        self.results: list[tuple[str, str]] = []
        self.errors: list[tuple[str, str]] = []

    def start(self, job: str) -> Future[str]:
        future: Future[str] = Future()
        self.started.append((job, future))
        return future

    def latest(self, can_start=lambda: True) -> Latest[str]:
        return Latest(
            self.start,
            lambda job, value: self.results.append((job, value)),
            lambda job, error: self.errors.append((job, str(error))),
            can_start=can_start,
        )


def test_one_at_a_time_and_only_the_newest_runs_next(qtbot) -> None:
    jobs = Jobs()
    latest = jobs.latest()
    latest.submit("a")
    latest.submit("b")
    latest.submit("c")
    assert [job for job, _ in jobs.started] == ["a"]
    jobs.started[0][1].set_result("A")
    qtbot.waitUntil(lambda: len(jobs.started) == 2, timeout=1000)
    assert jobs.started[1][0] == "c"  # b was superseded before it started
    assert jobs.results == [] and latest.dropped == 1  # a's answer is stale
    jobs.started[1][1].set_result("C")
    qtbot.waitUntil(lambda: jobs.results == [("c", "C")], timeout=1000)
    assert not latest.running


def test_clear_makes_the_running_outcome_stale(qtbot) -> None:
    jobs = Jobs()
    latest = jobs.latest()
    latest.submit("a")
    latest.clear()
    jobs.started[0][1].set_exception(ValueError("late"))
    qtbot.waitUntil(lambda: not latest.running, timeout=1000)
    assert jobs.errors == [] and latest.dropped == 1 and len(jobs.started) == 1


def test_errors_reach_the_handler_and_the_gate_holds_jobs(qtbot) -> None:
    jobs = Jobs()
    open_gate = False
    latest = jobs.latest(can_start=lambda: open_gate)
    latest.submit("a")
    assert jobs.started == [] and latest.waiting
    open_gate = True
    latest.poke()
    jobs.started[0][1].set_exception(ValueError("broken"))
    qtbot.waitUntil(lambda: jobs.errors == [("a", "broken")], timeout=1000)


def test_a_cancelled_future_frees_the_slot(qtbot) -> None:
    jobs = Jobs()
    latest = jobs.latest()
    with qtbot.waitSignal(latest.running_changed, timeout=1000) as changed:
        latest.submit("a")
        jobs.started[0][1].cancel()
    assert changed.args == [True]
    qtbot.waitUntil(lambda: not latest.running, timeout=1000)
    latest.submit("b")
    assert [job for job, _ in jobs.started] == ["a", "b"]
