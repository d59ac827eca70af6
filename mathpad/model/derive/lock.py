"""An exclusive lock on a file, held by an open handle: the kernel drops it when a process dies.

So a lock never outlives its holder, which is what tells an abandoned temporary folder (its
lock can be taken) from one that a running derivation is filling (it cannot).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if os.name == "nt":
    import msvcrt
    import time

    def _lock(fd: int, wait: bool) -> bool:
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                if not wait:
                    return False
                time.sleep(0.1)
            else:
                return True

else:
    import fcntl

    def _lock(fd: int, wait: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if missing); yields False if `wait` is False
    and another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield _lock(fd, wait)
    finally:
        os.close(fd)  # releases the lock
