"""What the model saw: each piece of the last reading as the model's input image, with
the text it read from it, so a user can see why a reading went wrong (a line split in
two, a symbol cut at a chunk's edge, a faint stroke lost in the cleanup)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from mathpad.recognizer import PageResult
from mathpad.ui import transfer

SHOWN_HEIGHT = 96  # pixels per piece: enough to see strokes, small enough for a long page


class PiecesView(QScrollArea):
    """The images of `PageResult.images`, top to bottom, each captioned with its reading."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._rows = QVBoxLayout(self._inner)
        self._rows.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.setWidget(self._inner)
        self.captions: list[str] = []
        self._placeholder()

    def show_result(self, result: PageResult) -> None:
        self._clear()
        self.captions = []
        for number, (image, piece) in enumerate(zip(result.images, result.pieces, strict=True), 1):
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(transfer.to_qimage(_shown_size(image))))
            picture.setToolTip(f"{image.width} by {image.height} pixels, as the model got it")
            caption = f"Piece {number}: {piece.latex.strip() or '(nothing read)'}"
            text = QLabel(caption, wordWrap=True)
            text.setTextFormat(Qt.TextFormat.PlainText)
            self._rows.addWidget(picture)
            self._rows.addWidget(text)
            self.captions.append(caption)
        if not result.images:
            self._placeholder()

    def _placeholder(self) -> None:
        self._rows.addWidget(
            QLabel("What the model saw appears here after a recognition.", wordWrap=True)
        )

    def _clear(self) -> None:
        while self._rows.count():
            item = self._rows.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()


def _shown_size(image: Image.Image) -> Image.Image:
    """`image` scaled to SHOWN_HEIGHT before Qt gets it: converting a full-size piece (about
    860 by 570) for Qt took 5-7 ms of the GUI thread per reading, scaling it first 1.5 ms."""
    width = max(1, round(image.width * SHOWN_HEIGHT / image.height))
    return image.resize((width, SHOWN_HEIGHT), Image.Resampling.BILINEAR)
