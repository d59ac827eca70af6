"""First start without a model: download it (with progress) or pick a local folder.

The download is the core store's `download_model`, run on a one-worker thread; progress
and the outcome come back through the bridge. The dialog is opened with `open()`, never
`exec()`, so the canvas keeps working behind it and tests never block on it.
"""

from __future__ import annotations

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

from mathpad.errors import ModelError, ModelNotDownloadedError
from mathpad.model.store import DEFAULT_REPO, Progress, download_model
from mathpad.ui.bridge import FutureBridge, ProgressRelay

Download = Callable[..., Path]
ChooseFolder = Callable[[QWidget], str | None]

MB = 1_000_000


class ModelDialog(QDialog):
    """Explains why there is no model and offers the two ways to get one."""

    model_chosen = Signal(str)  # a downloaded hub repo id or a local folder, ready to load

    def __init__(
        self,
        parent: QWidget | None,
        reason: str,
        variant: str,
        choose_folder: ChooseFolder,
        *,
        repo: str = DEFAULT_REPO,
        download: Download = download_model,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("mathpad needs its model")
        self._variant, self._repo, self._download = variant, repo, download
        self._choose_folder = choose_folder
        self._executor: ThreadPoolExecutor | None = None
        self._relay: ProgressRelay | None = None
        self._bridge = FutureBridge(self)
        intro = QLabel(
            f"{reason}\n\nThe recognition model ({repo}, variant {variant}) is downloaded "
            "once from Hugging Face and then works offline. If you already have it, choose "
            "its folder instead. You can keep drawing meanwhile."
        )
        intro.setWordWrap(True)
        self.message = QLabel(wordWrap=True)
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
        self.setMinimumWidth(460)

    def downloading(self) -> bool:
        return self._executor is not None

    def done(self, result: int) -> None:
        """Closing while downloading cancels the download at its next progress report."""
        if self._relay is not None:
            self._relay.cancel()
        self._stop_worker(wait=False)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.done(QDialog.DialogCode.Rejected)
        event.accept()

    def _start_download(self) -> None:
        self._relay = ProgressRelay(self)
        self._relay.progressed.connect(self._show_progress)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-download")
        progress: Progress = self._relay
        future = self._executor.submit(self._download, self._repo, self._variant, progress=progress)
        self._bridge.deliver(future, self._downloaded, self._download_failed)
        self._set_busy(True)
        self.progress.setRange(0, 0)  # busy until the first report gives a size
        self.progress.setFormat("Starting the download…")
        self.progress.show()

    def _show_progress(self, done: int, total: int) -> None:
        if total <= 0:
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(1000 * done / total))
        self.progress.setFormat(f"{done / MB:.0f} of {total / MB:.0f} MB")

    def _downloaded(self, _folder: Path) -> None:
        self._stop_worker(wait=True)
        self.model_chosen.emit(self._repo)
        self.accept()

    def _download_failed(self, error: BaseException) -> None:
        self._stop_worker(wait=True)
        self._set_busy(False)
        self.progress.hide()
        if isinstance(error, ProgressRelay.Cancelled):
            return
        if not isinstance(error, ModelError):
            raise error  # a bug, keep the traceback
        hint = (
            "You seem to be offline. "
            if isinstance(error, ModelNotDownloadedError) or "connect" in str(error).lower()
            else ""
        )
        self.message.setText(
            f"The download did not finish: {error}\n\n{hint}Try again later or choose a folder."
        )
        self.message.show()

    def _pick_folder(self) -> None:
        folder = self._choose_folder(self)
        if folder:
            self.model_chosen.emit(folder)
            self.accept()

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.folder_button.setEnabled(not busy)
        self.close_button.setText("Cancel" if busy else "Not now")
        self.setCursor(Qt.CursorShape.BusyCursor if busy else Qt.CursorShape.ArrowCursor)

    def _stop_worker(self, *, wait: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
