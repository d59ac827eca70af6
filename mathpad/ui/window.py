"""The main window: canvas above, preview and LaTeX source below, toolbar and status bar.

It forwards: pointer events go to the canvas and the ink document, recognition to the
controller, rendering to the preview, files and pictures to the core loaders. What comes
back is shown; nothing is computed here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTabWidget

from mathpad.autosave import Snapshot
from mathpad.errors import MathpadError
from mathpad.imaging.loading import load_image
from mathpad.ink.document import InkDocument
from mathpad.ink.inkml import read_inkml, write_inkml
from mathpad.latex import CopyFormat, clean, for_copy
from mathpad.model.store import DEFAULT_REPO, is_local
from mathpad.recognizer import PageResult
from mathpad.render import render_png
from mathpad.settings import Settings
from mathpad.ui import transfer
from mathpad.ui.actions import build_actions
from mathpad.ui.alternatives import AlternativesPanel
from mathpad.ui.canvas import InkCanvas
from mathpad.ui.correction import CorrectionLoop
from mathpad.ui.dialogs import Dialogs
from mathpad.ui.editor import LatexEditor
from mathpad.ui.focus_click import FocusClick
from mathpad.ui.model_dialog import ModelDialog
from mathpad.ui.preview import Preview
from mathpad.ui.recognition import ModelState, RecognitionController, RecognizerFactory
from mathpad.ui.restore import Keeper, State, picture_of
from mathpad.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)

COPY_DPI = 200.0  # the clipboard picture: sharp when pasted into documents


class MainWindow(QMainWindow):
    """One pad: draw or bring a picture, read the LaTeX, copy it."""

    def __init__(
        self,
        settings: Settings,
        make_recognizer: RecognizerFactory,
        *,
        model: str | None = None,
        variant: str | None = None,
        dialogs: Dialogs | None = None,
        save_settings: Callable[[Settings], None] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("mathpad")
        self.settings = settings
        self.dialogs = dialogs or Dialogs()
        self.model_dialog: ModelDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._save = save_settings
        self.document = InkDocument()
        self.canvas = InkCanvas(self.document, settings.pen_width)
        self.preview = Preview()
        self.source = LatexEditor()
        self.side_panel = QTabWidget()
        self.recognition = RecognitionController(make_recognizer, settings.delay_ms)
        self._build_layout()
        # correct: the correction loop (editor, preview marks, alternatives, replacements)
        self.alternatives = AlternativesPanel()
        self.side_panel.addTab(self.alternatives, "Alternatives")
        self.correction = CorrectionLoop(
            self, self.recognition, self.source, self.preview, self.alternatives
        )
        self.actions = build_actions(self)
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1000, 700)
        # correct: autosave after every change, restore after a crash
        self.keeper = Keeper(self, self._state)
        self.keeper.restore.connect(self._restore)
        self.keeper.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        for changed in (self.canvas.ink_changed, self.source.textChanged):
            changed.connect(self.keeper.changed)
        self.keeper.start()
        FocusClick(self.canvas)
        self.canvas.setFocus()
        self.model = model or settings.model  # what is loaded: the command line wins
        self.variant = variant or settings.variant
        self.recognition.load(self.model, self.variant)

    def _build_layout(self) -> None:
        below = QSplitter(Qt.Orientation.Horizontal)
        below.addWidget(self.preview)
        below.addWidget(self.source)
        below.addWidget(self.side_panel)
        below.setSizes([450, 330, 220])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(self.canvas)
        main.addWidget(below)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([420, 240])
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)
        self.model_label = QLabel("Model: loading…")
        self._timing = ""  # how long the last shown recognition took
        self.time_label = QLabel("")
        self.statusBar().addPermanentWidget(self.time_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _connect(self) -> None:
        self.canvas.stroke_started.connect(self.recognition.pen_down)
        self.canvas.ink_changed.connect(self._ink_changed)
        self.recognition.recognized.connect(self._show_result)
        self.recognition.failed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.recognition.model_changed.connect(self._model_changed)
        self.recognition.busy_changed.connect(self._busy_changed)

    def latex(self) -> str:
        """The LaTeX as the source editor holds it, cleaned for copying."""
        return clean(self.source.toPlainText())

    # --- edits and recognition ------------------------------------------------------

    def _ink_changed(self) -> None:
        self._sync_edit_actions()
        self.recognition.ink_changed(self.document.ink, self.document.revision)
        if not self.document.ink.strokes:
            self.source.show_reading("")

    def _sync_edit_actions(self) -> None:
        self.actions["undo"].setEnabled(self.document.can_undo)
        self.actions["redo"].setEnabled(self.document.can_redo)

    def _show_result(self, result: PageResult) -> None:
        self._timing = f"Recognized in {result.seconds:.2f} s"
        self.time_label.setText(self._timing)

    def _busy_changed(self, busy: bool) -> None:
        self.time_label.setText("Recognizing…" if busy else self._timing)

    def _model_changed(self, state: ModelState, text: str) -> None:
        self.model_label.setText(text)
        error = self.recognition.load_error
        if state in ("missing", "broken") and error is not None:
            self.offer_model(str(error))

    def offer_model(self, reason: str) -> None:
        """Open (without blocking) the dialog that downloads or locates the model."""
        if self.model_dialog is not None and self.model_dialog.isVisible():
            return
        hub_model = self.model if self.model and not is_local(self.model) else DEFAULT_REPO
        self.model_dialog = ModelDialog(
            self,
            reason,
            self.variant,
            self.dialogs.model_folder,
            missing=self.recognition.state == "missing",
            repo=hub_model,
        )
        self.model_dialog.model_chosen.connect(self._model_chosen)
        self.model_dialog.show()  # not open(): that is window-modal, and drawing goes on

    def _model_chosen(self, model: str) -> None:
        self.apply_settings(dataclasses.replace(self.settings, model=model, variant=self.variant))

    def apply_settings(self, settings: Settings) -> None:
        """Use and save `settings`; a different model or variant is loaded again."""
        reload = (settings.model, settings.variant) != (self.model, self.variant)
        self.settings = settings
        self.recognition.set_delay(settings.delay_ms)
        self.canvas.set_pen_width(settings.pen_width)
        self._store_settings()
        if reload or self.recognition.state in ("missing", "broken"):
            self.model, self.variant = settings.model, settings.variant
            self.recognition.load(self.model, self.variant)

    def recognize(self) -> None:
        """Recognize now; without a usable model, offer to get one instead."""
        error = self.recognition.load_error
        if error is not None:
            self.offer_model(str(error))
        else:
            self.recognition.recognize_now()

    def _store_settings(self) -> None:
        if self._save is None:
            return
        try:
            self._save(self.settings)
        except MathpadError as error:
            log.warning("%s", error)
            self.statusBar().showMessage(str(error), 8000)

    def open_settings(self) -> None:
        shown = dataclasses.replace(self.settings, model=self.model, variant=self.variant)
        self.settings_dialog = SettingsDialog(self, shown, self.dialogs.model_folder)
        self.settings_dialog.applied.connect(self.apply_settings)
        self.settings_dialog.open()

    # --- files, clipboard, drops --------------------------------------------------------

    def open_file(self, path: Path | None = None) -> None:
        """Open a picture or an InkML file (asking for one when `path` is None)."""
        if path is None:
            chosen = self.dialogs.open_path(self)
            if chosen is None:
                return
            path = Path(chosen)
        try:
            if path.suffix.lower() == ".inkml":
                self.canvas.load_ink(read_inkml(path))
                self.recognition.recognize_now()
            else:
                self._show_picture(load_image(path), path.name)
        except MathpadError as error:
            self.dialogs.error(self, "Cannot open this file", str(error))

    def save_ink(self) -> None:
        chosen = self.dialogs.save_ink_path(self)
        if chosen is None:
            return
        try:
            write_inkml(self.document.ink, Path(chosen))
        except MathpadError as error:
            self.dialogs.error(self, "Cannot save the ink", str(error))
        else:
            self.keeper.mark_saved()
            self.statusBar().showMessage(f"Saved the ink to {chosen}", 5000)

    def paste(self) -> None:
        """Recognize a picture (or open a file) from the clipboard."""
        mime = transfer.clipboard_mime()
        if not self._take(mime, "the pasted picture"):
            self.statusBar().showMessage("Nothing to paste: the clipboard holds no picture.", 5000)

    def copy(self, fmt: CopyFormat | None = None) -> None:
        """Copy the LaTeX in `fmt` (default: the last format chosen) to the clipboard."""
        if fmt is not None and fmt != self.settings.copy_format:
            self.settings = dataclasses.replace(self.settings, copy_format=fmt)
            self._store_settings()
        if not self.latex():
            self.statusBar().showMessage("Nothing to copy yet.", 3000)
            return
        transfer.copy_text(for_copy(self.latex(), self.settings.copy_format))
        self.statusBar().showMessage("Copied the LaTeX.", 3000)

    def copy_picture(self) -> None:
        """Copy the rendered formula as a PNG (black on white), with the LaTeX as text."""
        latex = self.latex()
        try:
            rendered = render_png(latex, dpi=COPY_DPI, color="black", background="white")
        except MathpadError as error:
            self.statusBar().showMessage(f"Cannot copy a picture. {error}", 8000)
            return
        transfer.copy_picture(rendered, latex)
        self.statusBar().showMessage("Copied the rendered picture.", 3000)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if transfer.dropped_path(mime) is not None or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._take(event.mimeData(), "the dropped picture"):
            event.acceptProposedAction()

    def _take(self, mime: QMimeData, name: str) -> bool:
        """Open the file or recognize the picture that `mime` carries; False if neither."""
        path = transfer.dropped_path(mime)
        if path is not None:
            self.open_file(path)
            return True
        try:
            picture = transfer.carried_picture(mime, name)
        except MathpadError as error:
            self.dialogs.error(self, "Cannot use this picture", str(error))
            return True
        if picture is None:
            return False
        self._show_picture(picture, name)
        return True

    def _show_picture(self, image: Image.Image, name: str) -> None:
        self.canvas.clear()
        self.canvas.set_backdrop(transfer.to_qimage(image))
        self.recognition.picture_loaded(image)
        self.statusBar().showMessage(f"Recognizing {name}…", 3000)

    def _state(self) -> State:
        picture = self.document.page.picture
        image = picture.image if picture is not None else None
        return State(self.document.ink, image, self.source.toPlainText(), self.source.edited)

    def _restore(self, snapshot: Snapshot) -> None:
        picture = picture_of(snapshot)
        if picture is not None:
            self._show_picture(picture, "the restored picture")
        if not snapshot.ink.is_empty:
            self.canvas.load_ink(snapshot.ink)
        self.source.restore(snapshot.latex, snapshot.latex_edited)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about unsaved ink (or keep it), then stop every worker; nothing waits."""
        if self.keeper.unsaved() and self.settings.close_unsaved == "ask":
            event.ignore()
            self.keeper.ask_before_closing(self._close_now)
            return
        self.keeper.finish(keep=self.keeper.unsaved())
        self.shutdown()
        super().closeEvent(event)

    def _close_now(self) -> None:
        self.close()  # answered: nothing is unsaved any more

    def shutdown(self) -> None:
        self.recognition.shutdown()
        self.preview.shutdown()
        for dialog in (self.model_dialog, self.settings_dialog):
            if dialog is not None:
                dialog.close()
