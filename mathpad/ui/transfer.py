"""Pictures and text crossing the window's edge: clipboard out, paste and drop in.

Qt hands over a `QMimeData` (file URLs, image data or text); the core wants a path or a
validated PIL image. The conversions live here so the window only decides what to do.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage

from mathpad.imaging.loading import image_from_bytes

# Qt formats whose bytes Pillow reads as they are (little-endian 32-bit words: B, G, R, A).
_RAW_MODES = {
    QImage.Format.Format_RGB32: ("RGB", "BGRX"),
    QImage.Format.Format_ARGB32: ("RGBA", "BGRA"),
    QImage.Format.Format_RGBA8888: ("RGBA", "RGBA"),
    QImage.Format.Format_RGB888: ("RGB", "RGB"),
}


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def clipboard_mime() -> QMimeData:
    """What the clipboard holds (an empty QMimeData when it holds nothing)."""
    return QGuiApplication.clipboard().mimeData() or QMimeData()


def dropped_path(mime: QMimeData) -> Path | None:
    """The first local file among the URLs of a drop or paste."""
    for url in mime.urls():
        if url.isLocalFile():
            return Path(url.toLocalFile())
    return None


def carried_image(mime: QMimeData) -> QImage | None:
    """The image data of a drop or paste (cheap: Qt shares the pixels); None without one."""
    if not mime.hasImage():
        return None
    image = QImage(mime.imageData())
    return None if image.isNull() else image


def picture_from_qimage(qimage: QImage, name: str) -> Image.Image:
    """`qimage` as a PIL image validated by the core. Slow for big pictures: call it off the
    GUI thread (Pillow works on the pixels in chunks and lets the GUI thread run between)."""
    raw = _RAW_MODES.get(qimage.format()) if sys.byteorder == "little" else None
    if raw is None:
        qimage = qimage.convertToFormat(QImage.Format.Format_RGBA8888)
        raw = ("RGBA", "RGBA")
    mode, layout = raw
    size = (qimage.width(), qimage.height())
    stride = qimage.bytesPerLine()
    pixels = Image.frombuffer(mode, size, qimage.constBits(), "raw", layout, stride, 1)
    encoded = io.BytesIO()
    if mode == "RGBA":
        pixels.save(encoded, "PNG", compress_level=0)  # kept whole: alpha and all
    else:
        pixels.save(encoded, "BMP")  # a plain copy of the pixels
    return image_from_bytes(encoded.getvalue(), name)


def to_qimage(image: Image.Image) -> QImage:
    """A copy of a PIL image that Qt can paint (the canvas shows loaded pictures)."""
    rgba = image.convert("RGBA")
    data = rgba.tobytes()
    width, height = rgba.size
    return QImage(data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
