"""Pictures and text crossing the window's edge: clipboard out, paste and drop in.

Qt hands over a `QMimeData` (file URLs, image data or text); the core wants a path or a
validated PIL image. The conversions live here so the window only decides what to do.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData
from PySide6.QtGui import QGuiApplication, QImage

from mathpad.imaging.loading import image_from_bytes
from mathpad.render import Rendered


def copy_text(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def copy_picture(rendered: Rendered, latex: str) -> None:
    """The rendered PNG for image editors and chat apps, the LaTeX for text fields."""
    mime = QMimeData()
    mime.setData("image/png", QByteArray(rendered.png))
    mime.setImageData(QImage.fromData(rendered.png, "PNG"))
    mime.setText(latex)
    QGuiApplication.clipboard().setMimeData(mime)


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
    """`qimage` as a PIL image validated by the core (slow for big pictures: call it off
    the GUI thread). Raises `InputError` when it is not a usable picture."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buffer, "PNG", 0)  # no compression: this PNG only crosses into the core
    return image_from_bytes(bytes(buffer.data()), name)


def to_qimage(image: Image.Image) -> QImage:
    """A copy of a PIL image that Qt can paint (the canvas shows loaded pictures)."""
    rgba = image.convert("RGBA")
    data = rgba.tobytes()
    width, height = rgba.size
    return QImage(data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
