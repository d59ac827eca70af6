"""No model yet: the dialog downloads it on a worker with progress, or takes a folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mathpad.errors import ModelNotDownloadedError
from mathpad.model.store import DEFAULT_REPO
from mathpad.ui.model_dialog import ModelDialog


def make_dialog(qtbot, download, folder: str | None = None) -> ModelDialog:
    dialog = ModelDialog(
        None, "The model is not downloaded yet.", "int8", lambda _p: folder, download=download
    )
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def test_download_reports_progress_and_hands_back_the_repo(qtbot, tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    def download(repo: str, variant: str, *, progress) -> Path:
        calls.append((repo, variant))
        for done in (0, 50_000_000, 100_000_000):
            progress(done, 100_000_000)
        return tmp_path

    dialog = make_dialog(qtbot, download)
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.model_chosen, timeout=5000) as chosen:
        dialog.download_button.click()
    assert chosen.args == [DEFAULT_REPO]
    assert calls == [(DEFAULT_REPO, "int8")]
    assert seen[-1] == 1000
    assert not dialog.isVisible()
    assert not dialog.downloading()


def test_offline_says_so_and_lets_the_user_go_on(qtbot) -> None:
    def download(repo: str, variant: str, *, progress) -> Path:
        raise ModelNotDownloadedError(f"{repo} is not in the local cache (offline)")

    dialog = make_dialog(qtbot, download)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.message.isVisible(), timeout=5000)
    assert "You seem to be offline." in dialog.message.text()
    assert dialog.download_button.isEnabled() and dialog.folder_button.isEnabled()
    assert dialog.isVisible()
    dialog.reject()


def test_choosing_a_folder_hands_it_back(qtbot) -> None:
    dialog = make_dialog(qtbot, download=None, folder="/models/mine")
    with qtbot.waitSignal(dialog.model_chosen, timeout=1000) as chosen:
        dialog.folder_button.click()
    assert chosen.args == ["/models/mine"]


def test_a_cancelled_folder_choice_keeps_the_dialog(qtbot) -> None:
    dialog = make_dialog(qtbot, download=None, folder=None)
    dialog.folder_button.click()
    assert dialog.isVisible()
    dialog.reject()


@pytest.mark.parametrize("closing", ["cancel", "close"])
def test_cancel_stops_a_running_download(qtbot, closing: str) -> None:
    started = threading.Event()
    stopped = threading.Event()

    def download(repo: str, variant: str, *, progress) -> Path:
        started.set()
        try:
            for done in range(1000):
                progress(done, 1000)
                threading.Event().wait(0.005)
        finally:
            stopped.set()
        raise AssertionError("the download should have been cancelled")

    dialog = make_dialog(qtbot, download)
    dialog.download_button.click()
    assert started.wait(5)
    assert dialog.close_button.text() == "Cancel"
    if closing == "cancel":
        dialog.close_button.click()
    else:
        dialog.close()
    assert stopped.wait(5)
    assert not dialog.isVisible()
