"""Open image files and clipboard bytes safely, as a photo viewer shows them.

This is the boundary for pictures: every problem a user's file can have becomes one
`InputError` that names the file, and what passes is a fully decoded, upright, 8-bit image.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mathpad.errors import InputError

# Screenshots and phone photos are far below this; a 40000 x 40000 "image" is a bomb.
MAX_PIXELS = 100_000_000

_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def load_image(path: str | Path) -> Image.Image:
    """Open an image file; raise `InputError` with the file name if it cannot be used."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an image")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path} cannot be read: {error.strerror or error}") from error
    return image_from_bytes(data, str(path))


def image_from_bytes(data: bytes, name: str) -> Image.Image:
    """Decode image bytes (a file's or the clipboard's) into an upright 8-bit image."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            _check_size(image, name)
            image.seek(0)  # the first frame of an animation
            image.load()
        except (
            UnidentifiedImageError,
            Image.DecompressionBombError,
            Image.DecompressionBombWarning,
        ) as error:
            raise _unreadable(name, error) from error
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise InputError(
                f"{name} is damaged or truncated ({error}): save or export it again"
            ) from error
    image = ImageOps.exif_transpose(image) or image
    return to_8bit(image)


def _check_size(image: Image.Image, name: str) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise InputError(f"{name} has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise InputError(
            f"{name} is too large ({width}x{height} pixels, more than "
            f"{MAX_PIXELS // 1_000_000} megapixels): crop or scale it down"
        )


def _unreadable(name: str, error: Exception) -> InputError:
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return InputError(f"{name} is too large to open safely: crop or scale it down")
    return InputError(
        f"{name} is not an image mathpad can read: use PNG, JPEG, GIF, BMP, WebP or TIFF"
    )


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float images scaled to 8 bits, as viewers show them (PIL would clip)."""
    if image.mode not in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        return image
    values = np.asarray(image, dtype=np.float64)
    top = 1.0 if image.mode == "F" and values.max(initial=0) <= 1.0 else 65535.0
    if image.mode not in {"F"} and values.max(initial=0) <= 255:
        top = 255.0
    scaled = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def has_transparency(image: Image.Image) -> bool:
    """True for images whose alpha must be composited (not used as a mask for all pixels)."""
    return image.mode in _TRANSPARENT_MODES or (image.mode == "P" and "transparency" in image.info)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB with any transparency pasted onto white through its alpha, as the model card does.

    Pillow's masked paste is the card's `Image.composite(png, white, png)`, so pixels match the
    reference exactly; images without transparency are only converted (the card's version
    would use their own colours as the mask and whiten the ink).
    """
    if has_transparency(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba)
        return white
    return image if image.mode == "RGB" else image.convert("RGB")
