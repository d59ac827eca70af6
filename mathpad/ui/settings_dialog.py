"""The settings form: model and variant, recognition, copying, pen, gestures and theme.

It edits a `mathpad.settings.Settings` value and hands back a new one; saving it and
applying it (a new variant reads the page again) are the window's business.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
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

from mathpad.latex import COPY_FORMATS, for_copy
from mathpad.recognizer import DEFAULT_REPO, VARIANTS
from mathpad.settings import THEMES, Settings
from mathpad.ui.model_dialog import ChooseFolder

# Download size, speed and fidelity in words (README's figures, onnxruntime's CPU provider).
VARIANT_WORDS = {
    "fp32": "about 1.5 GB, slowest, exactly the model card's results",
    "fp16": "about 0.75 GB, slower than fp32 on most CPUs, very close to fp32",
    "int8": "about 0.4 GB, 2.3 times as fast as fp32, agrees on about 95% of steps (default)",
    "uint8": "about 0.4 GB, slower than int8, like int8",
    "quantized": "about 0.4 GB, slower than int8, like int8",
    "q4": "smallest (4-bit), agrees with fp32 on only 65-80% of steps",
    "q4f16": "smallest (4-bit), agrees with fp32 on only 65-80% of steps",
    "bnb4": "smallest (4-bit), agrees with fp32 on only 65-80% of steps",
}
THEME_WORDS = {"system": "As the desktop", "light": "Light", "dark": "Dark"}
MODEL_FIELD_MAX = 720  # px: a long folder shows whole up to this width


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
        self.model.textChanged.connect(self._fit_model_field)
        self._fit_model_field()
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._browse)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.variant = QComboBox()
        for name in VARIANTS:
            self.variant.addItem(f"{name}: {VARIANT_WORDS.get(name, '')}", name)
        self.variant.setCurrentIndex(max(self.variant.findData(settings.variant), 0))
        self.auto = QCheckBox("Recognize when the pen rests (else Ctrl+Enter)")
        self.auto.setChecked(settings.auto_recognize)
        self.delay = QSpinBox(minimum=0, maximum=10_000, singleStep=100, suffix=" ms")
        self.delay.setValue(settings.delay_ms)
        self.delay.setToolTip("How long the pen rests before the ink is recognized")
        self.delay.setEnabled(settings.auto_recognize)
        self.auto.toggled.connect(self.delay.setEnabled)
        self.copy_format = QComboBox()
        for fmt in COPY_FORMATS:
            self.copy_format.addItem(f"{fmt}: {for_copy('x^2', fmt)}", fmt)
        self.copy_format.setCurrentIndex(max(self.copy_format.findData(settings.copy_format), 0))
        self.pen_width = QDoubleSpinBox(minimum=0.5, maximum=20.0, singleStep=0.5, suffix=" px")
        self.pen_width.setValue(settings.pen_width)
        self.scratch_out = QCheckBox("A zigzag over strokes erases them")
        self.scratch_out.setChecked(settings.scratch_out)
        self.theme = QComboBox()
        for theme in THEMES:
            self.theme.addItem(THEME_WORDS[theme], theme)
        self.theme.setCurrentIndex(max(self.theme.findData(settings.theme), 0))
        form = QFormLayout(self)
        form.addRow("Model", model_row)
        form.addRow("Variant", self.variant)
        form.addRow("Recognition", self.auto)
        form.addRow("Recognize after", self.delay)
        form.addRow("Copy as", self.copy_format)
        form.addRow("Pen width", self.pen_width)
        form.addRow("Scratch-out", self.scratch_out)
        form.addRow("Theme", self.theme)
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
            variant=self.variant.currentData(),
            auto_recognize=self.auto.isChecked(),
            delay_ms=self.delay.value(),
            copy_format=self.copy_format.currentData(),
            pen_width=self.pen_width.value(),
            scratch_out=self.scratch_out.isChecked(),
            theme=self.theme.currentData(),
        )

    def _fit_model_field(self) -> None:
        """Wide enough for the whole path (up to a limit), never truncated to a stub."""
        text = self.model.text() or self.model.placeholderText()
        wanted = self.model.fontMetrics().horizontalAdvance(text) + 24
        self.model.setMinimumWidth(min(max(wanted, 280), MODEL_FIELD_MAX))

    def _browse(self) -> None:
        folder = self._choose_folder(self)
        if folder:
            self.model.setText(folder)
