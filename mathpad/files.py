"""Atomic file writes: a crash or a full disk never leaves half a file behind.

Data goes to a temporary file in the target's folder, is flushed to disk, and only then
replaces the target in one step; on any failure the temporary file is removed.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from mathpad.errors import InputError


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never a mix."""
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot save {path}: folder {path.parent} does not exist")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise InputError(f"cannot save {path}: {error.strerror or error}") from error


def save_image(image: Image.Image, path: str | Path) -> None:
    """Save an image atomically, in the format its file name asks for (PNG by default)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = Image.registered_extensions().get(f".{suffix}", "PNG")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    write_atomic(path, buffer.getvalue())
