"""No model yet: the dialog downloads it on a worker with progress, or takes a folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from mathpad.errors import ModelNotDownloadedError
from mathpad.model.store import DEFAULT_REPO
from mathpad.ui.model_dialog import ModelDialog


def accept_folder(folder: str, variant: str) -> str:
    return variant


def make_dialog(qtbot, download, folder: str | None = None, check=accept_folder) -> ModelDialog:
    dialog = ModelDialog(
        None,
        "The model is not downloaded yet.",
        "int8",
        lambda _p: folder,
        download=download,
        check_folder=check,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_download_reports_progress_and_hands_back_the_repo(qtbot, tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    def download(repo: str, variant: str, *, progress, cancel) -> Path:
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
    def download(repo: str, variant: str, *, progress, cancel) -> Path:
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

    def download(repo: str, variant: str, *, progress, cancel) -> Path:
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


def test_plain_words_and_the_pad_stays_usable(qtbot) -> None:
    dialog = make_dialog(qtbot, download=None)
    words = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "The handwriting model, 0.4 GB, is not on this computer yet." in words
    assert not dialog.isModal() and dialog.windowModality() == Qt.WindowModality.NonModal
    dialog.reject()


def test_progress_never_goes_backwards(qtbot, tmp_path: Path) -> None:
    def download(repo: str, variant: str, *, progress, cancel) -> Path:
        for done in (0, 40, 70, 30, 90, 100):  # a late report of a lower figure
            progress(done, 100)
        return tmp_path

    dialog = make_dialog(qtbot, download)
    seen: list[int] = []
    dialog.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(dialog.model_chosen, timeout=5000):
        dialog.download_button.click()
    assert seen == sorted(seen) and seen[-1] == 1000


def test_a_wrong_folder_is_refused_and_not_handed_on(qtbot, tmp_path: Path) -> None:
    from mathpad.model.store import check_model_folder

    dialog = make_dialog(qtbot, download=None, folder=str(tmp_path), check=check_model_folder)
    chosen: list[str] = []
    dialog.model_chosen.connect(chosen.append)
    dialog.folder_button.click()
    qtbot.waitUntil(dialog.message.isVisible, timeout=5000)
    assert dialog.message.text().startswith("This folder cannot be used: ")
    assert chosen == [] and dialog.isVisible() and dialog.folder_button.isEnabled()
    dialog.reject()
