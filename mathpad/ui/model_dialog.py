"""First start without a model: download it (with progress) or pick a local folder.

The download is the core store's `download_model`, run on a one-worker thread; progress
(one total over all files that never goes backwards) and the outcome come back through
the bridge. The dialog is shown without any modality (`show()`, not `open()` or `exec()`):
the user really can keep drawing behind it. Cancel sets the store's cancel flag and
never waits for the worker. A chosen folder is checked (`check_model_folder`, off the GUI
thread) before it is handed on and saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mathpad.errors import Cancelled, ModelError, ModelNotDownloadedError
from mathpad.recognizer import DEFAULT_REPO, Progress, check_model_folder, download_model
from mathpad.ui.bridge import FutureBridge, ProgressRelay

Download = Callable[..., Path]
ChooseFolder = Callable[[QWidget], str | None]
CheckFolder = Callable[[str, str], str]

MB = 1_000_000
# What each variant costs to download, in the words of the first sentence a new user reads.
DOWNLOAD_SIZE = {"fp32": "1.5 GB", "fp16": "0.8 GB", "int8": "0.4 GB", "uint8": "0.4 GB"}


def missing_words(variant: str) -> str:
    size = DOWNLOAD_SIZE.get(variant)
    sized = f", {size}," if size else ""
    return f"The handwriting model{sized} is not on this computer yet."


class ModelDialog(QDialog):
    """Explains why there is no model and offers the two ways to get one."""

    model_chosen = Signal(str)  # a downloaded hub repo id or a checked local folder

    def __init__(
        self,
        parent: QWidget | None,
        reason: str,
        variant: str,
        choose_folder: ChooseFolder,
        *,
        missing: bool = True,
        repo: str = DEFAULT_REPO,
        download: Download = download_model,
        check_folder: CheckFolder = check_model_folder,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("mathpad needs its model")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self._variant, self._repo, self._download = variant, repo, download
        self._choose_folder, self._check_folder = choose_folder, check_folder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-download")
        self._cancel: threading.Event | None = None
        self._relay: ProgressRelay | None = None
        self._bridge = FutureBridge(self)
        self._shown = 0  # the furthest progress shown, in thousandths
        first = (
            missing_words(variant) if missing else f"The handwriting model cannot be used: {reason}"
        )
        intro = QLabel(
            f"{first}\n\nmathpad downloads it once from Hugging Face ({repo}, variant "
            f"{variant}); after that it works offline. If you already have it, choose its "
            "folder instead. You can keep drawing meanwhile: the drawing is read as soon "
            "as the model is there."
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.message = QLabel(wordWrap=True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()
        self.progress = QProgressBar(textVisible=True)
        self.progress.hide()
        buttons = QDialogButtonBox()
        self.download_button = buttons.addButton("Download", QDialogButtonBox.ButtonRole.AcceptRole)
        self.folder_button = buttons.addButton(
            "Choose folder…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.close_button: QPushButton = buttons.addButton(
            "Not now", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.download_button.clicked.connect(self._start_download)
        self.folder_button.clicked.connect(self._pick_folder)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.message, self.progress, buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(480)

    def downloading(self) -> bool:
        return self._cancel is not None

    def done(self, result: int) -> None:
        """Closing while downloading cancels the download; nothing waits for the worker."""
        self._stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.done(QDialog.DialogCode.Rejected)
        event.accept()

    def _start_download(self) -> None:
        self._cancel = threading.Event()
        self._relay = ProgressRelay(self)
        self._relay.progressed.connect(self._show_progress)
        progress: Progress = self._relay
        future = self._executor.submit(
            self._download, self._repo, self._variant, progress=progress, cancel=self._cancel
        )
        self._bridge.deliver(future, self._downloaded, self._download_failed)
        self._set_busy(True)
        self.message.hide()
        self._shown = 0
        self.progress.setRange(0, 0)  # busy until the first report gives the total
        self.progress.setFormat("Asking Hugging Face for the files…")
        self.progress.show()

    def _show_progress(self, done: int, total: int) -> None:
        if total <= 0:
            return
        self._shown = max(self._shown, min(1000, round(1000 * done / total)))
        self.progress.setRange(0, 1000)
        self.progress.setValue(self._shown)
        self.progress.setFormat(f"{done / MB:.0f} of {total / MB:.0f} MB")

    def _downloaded(self, _folder: Path) -> None:
        self._stop()
        self.model_chosen.emit(self._repo)
        self.accept()

    def _download_failed(self, error: BaseException) -> None:
        self._stop()
        self._set_busy(False)
        self.progress.hide()
        if isinstance(error, (Cancelled, ProgressRelay.Cancelled)):
            return
        if not isinstance(error, ModelError):
            raise error  # a bug, keep the traceback
        hint = "You seem to be offline. " if isinstance(error, ModelNotDownloadedError) else ""
        self._say(
            f"The download did not finish: {error}\n\n{hint}Try again later or choose a folder."
        )

    def _pick_folder(self) -> None:
        folder = self._choose_folder(self)
        if not folder:
            return
        self._set_busy(True)
        self._bridge.deliver(
            self._executor.submit(self._check_folder, folder, self._variant),
            lambda _variant: self._folder_ok(folder),
            self._folder_refused,
        )

    def _folder_ok(self, folder: str) -> None:
        self._set_busy(False)
        self.model_chosen.emit(folder)
        self.accept()

    def _folder_refused(self, error: BaseException) -> None:
        self._set_busy(False)
        if not isinstance(error, ModelError):
            raise error
        self._say(f"This folder cannot be used: {error}")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)
        self.close_button.setText("Cancel" if busy else "Not now")
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _stop(self) -> None:
        """Tell a running download to stop (at its next progress report)."""
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        if self._relay is not None:
            self._relay.cancel()
            self._relay = None
