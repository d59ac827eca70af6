"""Atomic file writes: a crash or a full disk never leaves half a file behind.

Data goes to a temporary file in the target's folder, is flushed to disk, and only then
replaces the target in one step; on any failure the temporary file is removed and the old
file stays as it was.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image

from mathpad.errors import InputError


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see the old file or the new one; raises OSError."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, mode)  # mkstemp's 0600 would hide the file from other users
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes) -> None:
    """`replace_atomically` for a user's file: a failure is an InputError naming the file."""
    path = Path(path)
    try:
        replace_atomically(path, data)
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from error


def save_image(image: Image.Image, path: str | Path) -> None:
    """Save an image atomically, in the format its file name asks for (PNG by default)."""
    suffix = Path(path).suffix.lower()
    fmt = Image.registered_extensions().get(suffix, "PNG")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    write_atomic(path, buffer.getvalue())
