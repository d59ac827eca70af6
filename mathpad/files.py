"""Bounded reads and atomic writes of the user's files.

Reads refuse what is not a regular file (a FIFO would block for ever, `/dev/zero` would
never end) and stop at a size limit before reading anything. Writes go to a temporary file
in the target's folder, are flushed to disk, and only then replace the target in one step;
on any failure the temporary file is removed and the old file stays as it was.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path

from PIL import Image

from mathpad.errors import InputError


def read_limited(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is an InputError."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        handle = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        )
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a {what}") from None
    except OSError as error:
        raise InputError(f"{path} cannot be read: {error.strerror or error}") from None
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        os.close(handle)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path} is a folder, not a {what}")
        raise InputError(
            f"{path} is not a regular file (a device, pipe or socket): open a saved {what}"
        )
    if info.st_size > limit:
        os.close(handle)
        raise InputError(
            f"{path} is {info.st_size / 2**20:,.0f} MiB; mathpad reads a {what} of up to "
            f"{limit // 2**20} MiB"
        )
    with os.fdopen(handle, "rb") as stream:
        try:
            data = stream.read(limit + 1)
        except OSError as error:
            raise InputError(f"{path} cannot be read: {error.strerror or error}") from None
    if len(data) > limit:  # it grew while we read
        raise InputError(f"{path} is larger than {limit // 2**20} MiB")
    return data


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
