"""The questions the window asks the user, behind one replaceable object.

File pickers block in their own event loop and message boxes wait for a click; a test
must never meet either. The window asks through a `Dialogs` instance, and tests pass one
that answers at once and records what it was told.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

INKML_FILTER = "InkML ink (*.inkml)"
OPEN_FILTER = (
    "Pictures and ink (*.png *.jpg *.jpeg *.gif *.bmp *.webp *.tif *.tiff *.inkml);;"
    f"{INKML_FILTER};;All files (*)"
)


class Dialogs:
    """Native file pickers and non-blocking message boxes."""

    def open_path(self, parent: QWidget) -> str | None:
        """A picture or an InkML file to open, or None when cancelled."""
        path, _ = QFileDialog.getOpenFileName(parent, "Open a picture or ink", "", OPEN_FILTER)
        return path or None

    def save_ink_path(self, parent: QWidget) -> str | None:
        """Where to save the ink as InkML, or None when cancelled."""
        path, _ = QFileDialog.getSaveFileName(parent, "Save ink", "ink.inkml", INKML_FILTER)
        return path or None

    def model_folder(self, parent: QWidget) -> str | None:
        """A folder that holds the model files, or None when cancelled."""
        return QFileDialog.getExistingDirectory(parent, "Choose the model folder") or None

    def error(self, parent: QWidget, title: str, text: str) -> None:
        """Tell the user something failed, without stopping the window."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
