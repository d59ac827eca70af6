"""Open image files and clipboard bytes safely, as a photo viewer shows them.

This is the boundary for pictures: every problem a user's file can have becomes one
`InputError` that names the file, and what passes is a fully decoded, upright, 8-bit image.
Only raster formats are decoded (`FORMATS`): Pillow would hand PostScript to Ghostscript, an
external program that runs whatever the file holds, whatever the file is named. Size is
bounded twice before decoding: by the file's bytes and by the memory its pixels take.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import io
import os
import warnings
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps, UnidentifiedImageError

from mathpad.errors import InputError
from mathpad.files import read_limited

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# A phone photo is 12-50 megapixels; more is a bomb or a poster, not a formula.
MAX_PIXELS = 50_000_000
# Decoded bytes (pixels x channels x bytes per sample): a 50-megapixel RGB photo or 16-bit
# scan fits, a 50-megapixel RGBA or 32-bit one does not. Making it RGB adds at most 3/4 again.
MAX_DECODED_BYTES = 160_000_000
MAX_FILE_BYTES = 256 * 2**20  # a 50-megapixel PNG compresses far below this
_SAMPLE_BYTES = {"1": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}

_TRANSPARENT_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


def load_image(path: str | Path) -> Image.Image:
    """Open an image file; raise `InputError` with the file name if it cannot be used."""
    data = read_limited(path, MAX_FILE_BYTES, "picture")
    return image_from_bytes(data, str(path))


def image_from_bytes(data: bytes, name: str) -> Image.Image:
    """Decode image bytes (a file's or the clipboard's) into an upright 8-bit image."""
    if not data:
        raise InputError(f"{name} is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    _quiet_libtiff()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's notes on odd metadata: never stderr lines
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
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
    ImageOps.exif_transpose(image, in_place=True)  # without a copy of a large picture
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
    sample = _SAMPLE_BYTES.get(image.mode, 1)
    decoded = width * height * len(image.getbands()) * sample
    if decoded > MAX_DECODED_BYTES:
        depth = f"{8 * sample}-bit " if sample > 1 else ""
        raise InputError(
            f"{name} is too large ({width}x{height} {depth}{image.mode} pixels take "
            f"{decoded / 1e6:,.0f} MB, more than {MAX_DECODED_BYTES // 1_000_000} MB): "
            "crop or scale it down, or save it with 8 bits per channel"
        )


@functools.lru_cache(maxsize=1)
def _quiet_libtiff() -> None:
    """Silence libtiff's own stderr handlers: a damaged TIFF is reported as one InputError,
    not with extra lines around it. Best effort: where the library is not found, nothing."""
    bundled = Path(PIL.__file__).parent.parent / "pillow.libs"
    candidates = sorted(glob.glob(str(bundled / "libtiff*"))) or [ctypes.util.find_library("tiff")]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            library = ctypes.CDLL(
                candidate, mode=os.RTLD_NOLOAD if hasattr(os, "RTLD_NOLOAD") else 0
            )
        except OSError:
            continue
        for setter in ("TIFFSetWarningHandler", "TIFFSetErrorHandler"):
            function = getattr(library, setter, None)
            if function is not None:
                function.restype = ctypes.c_void_p
                function.argtypes = [ctypes.c_void_p]
                function(None)


def _unreadable(name: str, error: Exception) -> InputError:
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return InputError(f"{name} is too large to open safely: crop or scale it down")
    return InputError(
        f"{name} is not an image mathpad can read: use PNG, JPEG, GIF, BMP, WebP or TIFF"
    )


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and float images scaled to 8 bits, as viewers show them (PIL would clip).

    Whole-number images are scaled in integers, a row block at a time, so a large 16-bit
    picture never becomes a float64 copy eight times its 8-bit size.
    """
    if image.mode not in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        return image
    values = np.asarray(image)
    peak = float(values.max(initial=0))
    if image.mode == "F":
        top = 1.0 if peak <= 1.0 else 65535.0
        scaled = np.clip(np.rint(values * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, mode="L")
    top = 255 if peak <= 255 else 65535
    out = np.empty(values.shape, dtype=np.uint8)
    step = max(1, (1 << 22) // max(1, values.shape[1]))
    for row in range(0, values.shape[0], step):
        block = np.clip(values[row : row + step].astype(np.int64), 0, 65535)
        # round(v * 255 / top) exactly: top is odd, so no value falls on a half.
        out[row : row + step] = (block * 510 + top) // (2 * top)
    return Image.fromarray(out, mode="L")


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
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")  # no needless copy
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba)
        return white
    return image if image.mode == "RGB" else image.convert("RGB")
