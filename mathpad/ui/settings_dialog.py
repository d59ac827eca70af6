"""The settings form: model, variant, recognition delay and pen width.

It edits a `mathpad.settings.Settings` value and hands back a new one; saving it and
applying it are the window's business.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from mathpad.model.store import DEFAULT_REPO, VARIANTS
from mathpad.settings import Settings
from mathpad.ui.model_dialog import ChooseFolder


class SettingsDialog(QDialog):
    """Opened with `open()`; emits `applied` with the edited settings on OK."""

    applied = Signal(object)  # Settings

    def __init__(self, parent: QWidget, settings: Settings, choose_folder: ChooseFolder) -> None:
        super().__init__(parent)
        self.setWindowTitle("mathpad settings")
        self._settings = settings
        self._choose_folder = choose_folder
        self.model = QLineEdit(settings.model or "", placeholderText=DEFAULT_REPO)
        self.model.setToolTip("A hub repo id or a local folder in the same layout")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.variant = QComboBox()
        self.variant.addItems(list(VARIANTS))
        self.variant.setCurrentText(settings.variant)
        self.delay = QSpinBox(minimum=0, maximum=10_000, singleStep=100, suffix=" ms")
        self.delay.setValue(settings.delay_ms)
        self.delay.setToolTip("How long the pen rests before the ink is recognized")
        self.pen_width = QDoubleSpinBox(minimum=0.5, maximum=20.0, singleStep=0.5, suffix=" px")
        self.pen_width.setValue(settings.pen_width)
        form = QFormLayout(self)
        form.addRow("Model", model_row)
        form.addRow("Variant", self.variant)
        form.addRow("Recognize after", self.delay)
        form.addRow("Pen width", self.pen_width)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.applied.emit(self.edited())
        super().accept()

    def edited(self) -> Settings:
        """The settings as the form shows them."""
        return dataclasses.replace(
            self._settings,
            model=self.model.text().strip() or None,
            variant=self.variant.currentText(),
            delay_ms=self.delay.value(),
            pen_width=self.pen_width.value(),
        )

    def _browse(self) -> None:
        folder = self._choose_folder(self)
        if folder:
            self.model.setText(folder)
