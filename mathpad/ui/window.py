"""The main window: canvas above, preview and LaTeX source below, a side panel at the
right, menus, a toolbar and a status bar.

It forwards: pointer events go to the canvas and the page document, recognition to the
controller, rendering to the preview, files and pictures to the core loaders (on a
worker thread: a 50-megapixel picture or a 200,000-point ink is decoded off the GUI
thread). What comes back is shown; nothing is computed here.

Commands act by intent, wherever the focus is: Paste takes a picture (or a picture's
file) from the clipboard and gives LaTeX text to the editor; a file dropped anywhere,
the editor included, is opened; Undo and Redo follow what the user changed last, the ink
or the text.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QByteArray, QEvent, QMimeData, QObject, QSize, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
)

from mathpad.autosave import Snapshot
from mathpad.errors import MathpadError
from mathpad.imaging.annotate import annotate
from mathpad.imaging.loading import image_from_bytes, load_image
from mathpad.ink.document import InkDocument, Page, Picture
from mathpad.ink.inkml import read_inkml, write_inkml
from mathpad.latex import CopyFormat, clean
from mathpad.recognizer import DEFAULT_REPO, PageResult, is_local
from mathpad.settings import Settings
from mathpad.ui import transfer
from mathpad.ui.actions import build_actions, recolor, shortcut_rows
from mathpad.ui.alternatives import AlternativesPanel
from mathpad.ui.bridge import FutureBridge
from mathpad.ui.canvas import InkCanvas, Tool, screen_copy
from mathpad.ui.clipboard import Copier
from mathpad.ui.correction import CorrectionLoop
from mathpad.ui.dialogs import Dialogs
from mathpad.ui.editor import LatexEditor
from mathpad.ui.focus_click import FocusClick
from mathpad.ui.history_panel import HistoryPanel
from mathpad.ui.model_dialog import ModelDialog
from mathpad.ui.pieces_view import PiecesView
from mathpad.ui.preview import Preview
from mathpad.ui.recognition import ModelState, RecognitionController, RecognizerFactory
from mathpad.ui.restore import Keeper, State
from mathpad.ui.settings_dialog import SettingsDialog
from mathpad.ui.snip import Snipper
from mathpad.ui.theme import apply_theme

log = logging.getLogger(__name__)

FIRST_SIZE = QSize(1000, 700)
SCREEN_SHARE = 0.9  # the first window takes at most this share of the available screen
FOCUS_STYLE = "QPlainTextEdit:focus { border: 2px solid palette(highlight); }"


def first_size(available: QSize) -> QSize:
    """The window's first size: FIRST_SIZE, shrunk to fit the screen's available area."""
    return QSize(
        min(FIRST_SIZE.width(), int(available.width() * SCREEN_SHARE)),
        min(FIRST_SIZE.height(), int(available.height() * SCREEN_SHARE)),
    )


def read_file(path: Path) -> Page | tuple[Picture, QImage]:
    """A page of ink, or a picture with the copy the canvas paints (runs on a worker
    thread: also the ink's bounds, which a 200,000-point ink takes a while to measure)."""
    if path.suffix.lower() == ".inkml":
        page = Page(read_inkml(path))
        page.bounds()
        return page
    image = load_image(path)
    return Picture(image, path.name), screen_copy(image)


def picture_from(qimage: QImage, name: str) -> tuple[Picture, QImage]:
    """A pasted or dropped picture, validated (runs on a worker thread)."""
    image = transfer.picture_from_qimage(qimage, name)
    return Picture(image, name), screen_copy(image)


def restored_picture(png: bytes) -> tuple[Picture, QImage]:
    """The autosaved picture, decoded like any picture the pad opens (on a worker thread)."""
    picture = image_from_bytes(png, "the restored picture")
    return Picture(picture, "the restored picture"), screen_copy(picture)


class SidePanel(QTabWidget):
    """Room beside the page for panels (alternatives, history); shown once it has a tab."""

    def __init__(self) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.setVisible(False)

    def tabInserted(self, index: int) -> None:
        super().tabInserted(index)
        self.setVisible(True)

    def tabRemoved(self, index: int) -> None:
        super().tabRemoved(index)
        self.setVisible(self.count() > 0)


class _Intent(QObject):
    """On the LaTeX editor: the window's Undo, Redo and Paste win over the editor's own
    keys, and a dropped file or picture is opened instead of inserted as a path."""

    def __init__(self, window: MainWindow, keys: set[str]) -> None:
        super().__init__(window)
        self._window = window
        self._keys = keys

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            # consumed but not accepted: Qt then runs the window's shortcut
            return QKeySequence(event.keyCombination()).toString() in self._keys
        if not isinstance(event, QDropEvent):  # drag enter and drag move events are drops too
            return False
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            wanted = self._window.carries_file_or_picture(event.mimeData())
        elif kind == QEvent.Type.Drop:
            wanted = self._window.take(event.mimeData(), "the dropped picture")
        else:
            return False
        if wanted:
            event.acceptProposedAction()
        return wanted  # text drops stay the editor's


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
        self.shortcuts_dialog: QDialog | None = None
        self._save = save_settings
        self._last_edit = "ink"  # what Undo undoes: "ink" or "text"
        self.document = InkDocument()
        self.canvas = InkCanvas(self.document, settings.pen_width, scratch_out=settings.scratch_out)
        self.preview = Preview()
        self.source = LatexEditor()
        self.source.setStyleSheet(FOCUS_STYLE)
        self.side_panel = SidePanel()
        self.recognition = RecognitionController(make_recognizer, settings.delay_ms)
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mathpad-load")
        self._loads = FutureBridge(self)
        self.snipper = Snipper(self)
        self._build_layout()
        self.actions = build_actions(self, self.canvas, self._slots())
        self._connect()
        self.setAcceptDrops(True)
        self._restore_layout()
        self._theme(settings.theme)
        # correct: the correction loop, autosave and restore, the focusing click
        self.alternatives = AlternativesPanel()
        self.side_panel.addTab(self.alternatives, "Alternatives")
        self.correction = CorrectionLoop(
            self, self.recognition, self.source, self.preview, self.alternatives
        )
        self.history = HistoryPanel()
        self.side_panel.addTab(self.history, "History")
        self.history.follow(self.recognition, self.correction, self.canvas.load_ink, self._reopen)
        self.history.copy_requested.connect(transfer.copy_text)
        self.pieces = PiecesView()
        self.side_panel.addTab(self.pieces, "Model saw")
        self.recognition.recognized.connect(self.pieces.show_result)
        self.copier = Copier(
            self,
            self.actions["copy"],
            self.latex,
            self.alternatives.texts,
            lambda: self.settings,
            self._keep_settings,
            lambda text: self.statusBar().showMessage(text, 5000),
            self.history.copied,
        )
        self.copier.attach(self)
        self.recognition.recognized.connect(lambda _result: self.copier.recognized())
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
        self.below = QSplitter(Qt.Orientation.Horizontal)
        self.below.addWidget(self.preview)
        self.below.addWidget(self.source)
        self.below.setSizes([600, 400])
        self.page_splitter = QSplitter(Qt.Orientation.Vertical)
        self.page_splitter.addWidget(self.canvas)
        self.page_splitter.addWidget(self.below)
        self.page_splitter.setStretchFactor(0, 3)
        self.page_splitter.setStretchFactor(1, 2)
        self.page_splitter.setSizes([420, 240])
        self.page_splitter.setChildrenCollapsible(False)
        self.side_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.side_splitter.addWidget(self.page_splitter)
        self.side_splitter.addWidget(self.side_panel)
        self.side_splitter.setStretchFactor(0, 1)
        self.setCentralWidget(self.side_splitter)
        self.model_label = QLabel("Model: loading…")
        self._timing = ""  # how long the last shown recognition took
        self.time_label = QLabel("")
        self.statusBar().addPermanentWidget(self.time_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _slots(self) -> dict[str, Callable[[], object]]:
        canvas = self.canvas
        return {
            "open": lambda: self.open_file(),
            "paste": self.paste,
            "snip": self.snip,
            "save": self.save_ink,
            "copy": lambda: self.copy(),
            "copy_as_is": lambda: self.copy("as_is"),
            "copy_inline": lambda: self.copy("inline"),
            "copy_display": lambda: self.copy("display"),
            "copy_picture": self.copy_picture,
            "settings": self.open_settings,
            "quit": self.close,
            "undo": self.undo,
            "redo": self.redo,
            "delete": self.delete,
            "clear": canvas.clear,
            "remove_picture": canvas.remove_picture,
            "recognize": self.recognize,
            "pen": lambda: self.set_tool("pen"),
            "eraser": lambda: self.set_tool("eraser"),
            "lasso": lambda: self.set_tool("lasso"),
            "canvas": canvas.setFocus,
            "fit": canvas.fit,
            "zoom_in": lambda: canvas.zoom(1.25),
            "zoom_out": lambda: canvas.zoom(0.8),
            "shortcuts": self.show_shortcuts,
        }

    def _connect(self) -> None:
        self.canvas.stroke_started.connect(self.recognition.pen_down)
        self.canvas.ink_changed.connect(self._page_changed)
        text = self.source.document()
        self.source.user_edited.connect(self._text_edited)
        text.undoAvailable.connect(lambda _: self._sync_edit_actions())
        text.redoAvailable.connect(lambda _: self._sync_edit_actions())
        stolen = {"undo", "redo", "paste"}
        keys = {s.toString() for n in stolen for s in self.actions[n].shortcuts()}
        intent = _Intent(self, keys)
        self.source.installEventFilter(intent)
        self.source.viewport().installEventFilter(intent)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._desktop_scheme_changed)
        self.recognition.recognized.connect(self._show_result)
        self.recognition.failed.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.recognition.model_changed.connect(self._model_changed)
        self.recognition.busy_changed.connect(self._busy_changed)
        self._sync_edit_actions()

    def latex(self) -> str:
        """The LaTeX as the source editor holds it, cleaned for copying."""
        return clean(self.source.toPlainText())

    # --- edits and recognition ------------------------------------------------------

    def set_tool(self, tool: Tool) -> None:
        self.canvas.set_tool(tool)
        self.actions[tool].setChecked(True)

    def undo(self) -> None:
        """Undo the last change the user made: to the text, or to the page."""
        text = self.source.document()
        if self._last_edit == "text" and text.isUndoAvailable():
            self.source.undo()
        elif self.document.can_undo:
            self.canvas.undo()
        elif text.isUndoAvailable():
            self.source.undo()

    def redo(self) -> None:
        text = self.source.document()
        if self._last_edit == "text" and text.isRedoAvailable():
            self.source.redo()
        elif self.document.can_redo:
            self.canvas.redo()
        elif text.isRedoAvailable():
            self.source.redo()

    def delete(self) -> None:
        """Delete the selected strokes, or clear the page when none is selected."""
        if not self.canvas.delete_selection():
            self.canvas.clear()

    def _text_edited(self) -> None:
        self._last_edit = "text"
        self._sync_edit_actions()

    def _page_changed(self) -> None:
        self._last_edit = "ink"
        self._sync_edit_actions()
        page, revision = self.document.page, self.document.revision
        if page.picture is None:
            self.recognition.ink_changed(page.ink, revision)
            if not self.settings.auto_recognize:
                self.recognition.pen_down()  # no timer: Ctrl+Enter recognizes
        elif page.ink.is_empty:
            self.recognition.picture_loaded(page.picture.image)
        else:
            self._recognize_annotated(page, revision)
        if page.is_empty:
            self._forget_reading()

    def _recognize_annotated(self, page: Page, revision: int) -> None:
        """The picture and the ink over it, composited off the GUI thread, as one image."""
        assert page.picture is not None
        width = self.canvas.pen_width / max(self.canvas.document_scale(), 1e-9)
        future = self._loader.submit(annotate, page.picture.image, page.ink, width)

        def composited(image: object) -> None:
            if self.document.revision == revision:  # else a newer page is on its way
                self.recognition.picture_loaded(image)

        self._loads.deliver(future, composited, self._failed_to("Cannot read the picture"))

    def _forget_reading(self) -> None:
        """An empty page: the LaTeX, the preview and the timing of the old one go too."""
        self.source.show_reading("")
        self._timing = ""
        self.time_label.setText("")

    def _sync_edit_actions(self) -> None:
        text = self.source.document()
        self.actions["undo"].setEnabled(self.document.can_undo or text.isUndoAvailable())
        self.actions["redo"].setEnabled(self.document.can_redo or text.isRedoAvailable())
        self.actions["remove_picture"].setEnabled(self.document.picture is not None)

    def _show_result(self, result: PageResult) -> None:
        self._sync_edit_actions()
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
        """Use and save `settings`; a different model or variant is loaded again and reads
        the page again."""
        reload = (settings.model, settings.variant) != (self.model, self.variant)
        self.settings = settings
        self.recognition.set_delay(settings.delay_ms)
        self.canvas.set_pen_width(settings.pen_width)
        self.canvas.scratch_out = settings.scratch_out
        self._theme(settings.theme)
        self._store_settings()
        if reload or self.recognition.state in ("missing", "broken"):
            self.model, self.variant = settings.model, settings.variant
            self.recognition.load(self.model, self.variant)
            if not self.document.page.is_empty:
                self._page_changed()  # wanted again: sent once the new model is ready

    def _desktop_scheme_changed(self) -> None:
        if self.settings.theme == "system":
            self._theme("system")

    def _theme(self, theme: str) -> None:
        apply_theme(theme)
        self.source.setStyleSheet("")  # polished again with the new palette
        self.source.setStyleSheet(FOCUS_STYLE)
        recolor(self.actions, self.palette().color(QPalette.ColorRole.ButtonText))

    def recognize(self) -> None:
        """Recognize now; without a usable model, offer to get one instead."""
        error = self.recognition.load_error
        if error is not None:
            self.offer_model(str(error))
        elif self.document.page.is_empty:
            self.statusBar().showMessage("Nothing to recognize yet: write or open something.")
        else:
            self.recognition.recognize_now()

    def _keep_settings(self, settings: Settings) -> None:
        self.settings = settings
        self._store_settings()

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

    def show_shortcuts(self) -> None:
        """Every shortcut, from the table the actions are built from."""
        dialog = QDialog(self, windowTitle="mathpad keyboard shortcuts")
        rows = shortcut_rows()
        table = QTableWidget(len(rows), 2, dialog)
        table.setHorizontalHeaderLabels(["Keys", "Command"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (keys, text) in enumerate(rows):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(dialog)
        layout.addWidget(table)
        dialog.resize(520, 560)
        self.shortcuts_dialog = dialog
        dialog.open()

    # --- files, clipboard, drops, snips -----------------------------------------------

    def open_file(self, path: Path | None = None) -> None:
        """Open a picture or an InkML file (asking for one when `path` is None)."""
        if path is None:
            chosen = self.dialogs.open_path(self)
            if chosen is None:
                return
            path = Path(chosen)
        self.statusBar().showMessage(f"Opening {path.name}…")
        failed = self._failed_to("Cannot open this file")
        self._loads.deliver(self._loader.submit(read_file, path), self._opened, failed)

    def _opened(self, loaded: Page | tuple[Picture, QImage]) -> None:
        self.statusBar().clearMessage()
        if isinstance(loaded, Page):
            self.canvas.load_ink(loaded)
            self.recognition.recognize_now()  # a file is read at once, not after a pause
        else:
            self.canvas.load_picture(*loaded)

    def _failed_to(self, title: str) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            self.statusBar().clearMessage()
            if not isinstance(error, MathpadError):
                log.error("%s", title, exc_info=error)  # a bug: keep the traceback
            self.dialogs.error(self, title, str(error))

        return failed

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
        """A picture (or a picture's file) opens; LaTeX text goes into the editor."""
        mime = transfer.clipboard_mime()
        if self.take(mime, "the pasted picture"):
            return
        if mime.hasText() and mime.text().strip():
            self.source.setFocus()
            self.source.insertPlainText(mime.text())
            return
        self.statusBar().showMessage("Nothing to paste: the clipboard is empty.", 5000)

    def copy(self, fmt: CopyFormat | None = None) -> None:
        """Copy the LaTeX in `fmt` (default: the last format chosen), checked first."""
        self.copier.copy(fmt)

    def copy_picture(self) -> None:
        """Copy the rendered formula as PNG and SVG (black on white), with the LaTeX."""
        self.copier.copy_picture()

    def snip(self) -> None:
        """Hide, let the user drag a region of the frozen screen, recognize it."""
        self.snipper.start()

    def snipped(self, image: QImage) -> None:
        """A region of the screen, at its real pixels, to recognize like a pasted picture."""
        self.show()
        self.activateWindow()
        self._take_picture(image, "the snip")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.carries_file_or_picture(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.take(event.mimeData(), "the dropped picture"):
            event.acceptProposedAction()

    def carries_file_or_picture(self, mime: QMimeData) -> bool:
        return transfer.dropped_path(mime) is not None or mime.hasImage()

    def take(self, mime: QMimeData, name: str) -> bool:
        """Open the file or the picture that `mime` carries; False if neither."""
        path = transfer.dropped_path(mime)
        if path is not None:
            self.open_file(path)
            return True
        image = transfer.carried_image(mime)
        if image is None:
            return False
        self._take_picture(image, name)
        return True

    def _take_picture(self, image: QImage, name: str) -> None:
        self.statusBar().showMessage(f"Opening {name}…")
        future = self._loader.submit(picture_from, image, name)
        self._loads.deliver(future, self._opened, self._failed_to("Cannot use this picture"))

    # --- the window itself --------------------------------------------------------------

    def _restore_layout(self) -> None:
        """The size, place and splitters of the last run; else a size that fits the screen."""
        parts = self.settings.window_layout.split()
        states = [QByteArray.fromBase64(part.encode("ascii")) for part in parts]
        if len(states) == 3 and self.restoreGeometry(states[0]):
            self.page_splitter.restoreState(states[1])
            self.below.restoreState(states[2])
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        self.resize(first_size(screen.availableGeometry().size()))

    def _layout(self) -> str:
        states = (self.saveGeometry(), self.page_splitter.saveState(), self.below.saveState())
        return " ".join(bytes(state.toBase64().data()).decode("ascii") for state in states)

    def _state(self) -> State:
        picture = self.document.page.picture
        image = picture.image if picture is not None else None
        return State(self.document.ink, image, self.source.toPlainText(), self.source.edited)

    def _reopen(self, image: Image.Image) -> None:
        self._take_picture(transfer.to_qimage(image), "the reading's picture")

    def _restore(self, snapshot: Snapshot) -> None:
        """The page a crash left: its picture (decoded on a worker) with the ink on it."""
        self.source.restore(snapshot.latex, snapshot.latex_edited)
        if snapshot.picture_png is None:
            if not snapshot.ink.is_empty:
                self.canvas.load_ink(snapshot.ink)
            return

        def restored(loaded: tuple[Picture, QImage]) -> None:
            self.statusBar().clearMessage()
            self.canvas.load_picture(*loaded, ink=snapshot.ink)

        self.statusBar().showMessage("Opening the restored picture…")
        future = self._loader.submit(restored_picture, snapshot.picture_png)
        self._loads.deliver(future, restored, self._failed_to("Cannot restore the picture"))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.keeper.shown)  # once the window has its place on screen

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about unsaved ink (or keep it), remember the layout, then stop every worker;
        nothing waits for them."""
        if self.keeper.unsaved() and self.settings.close_unsaved == "ask":
            event.ignore()
            self.keeper.ask_before_closing(self.close)
            return
        self.keeper.finish(keep=self.keeper.unsaved())
        self.settings = dataclasses.replace(self.settings, window_layout=self._layout())
        self._store_settings()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.history.shutdown()
        self.recognition.shutdown()
        self.preview.shutdown()
        self.snipper.shutdown()
        self._loads.forget()
        self._loader.shutdown(wait=False, cancel_futures=True)
        for dialog in (self.model_dialog, self.settings_dialog, self.shortcuts_dialog):
            if dialog is not None:
                dialog.close()
