"""The drawing's crash-safe snapshot, and the lock file that tells a crash from a second pad.

After every change the window hands the whole state (ink, a loaded picture, the LaTeX as
edited) to `Autosave.save`, which replaces one small JSON file atomically: a kill at any
moment leaves the previous snapshot or the new one, never a mix. A picture is stored once
under its SHA-256 and only referenced by the snapshot, so saving after every stroke never
rewrites megabytes. `discard` on a clean close removes the snapshot: what a later start
finds was left by a run that did not end cleanly.

The lock is an advisory kernel lock (flock on POSIX, a locked byte on Windows) on a file in
the same folder. The kernel drops it when its process dies, kill -9 and power loss included,
so no stale PID is ever trusted: a lock that cannot be taken means a pad is running now.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from mathpad import paths
from mathpad.errors import InputError
from mathpad.files import replace_atomically
from mathpad.ink.inkml import parse_inkml, to_inkml
from mathpad.ink.strokes import Ink

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "drawing.json"
LOCK_NAME = "pad.lock"
_FORMAT = 1

Claim = Literal["fresh", "crashed", "running"]


@dataclass(frozen=True)
class Snapshot:
    """Everything the user made in the pad that a crash must not take away."""

    ink: Ink
    picture_png: bytes | None
    latex: str
    latex_edited: bool

    @property
    def is_empty(self) -> bool:
        return self.ink.is_empty and self.picture_png is None and not self.latex


def autosave_dir() -> Path:
    """Where the snapshot lives: the per-user data folder (`~/.local/share/mathpad`)."""
    return paths.data_dir() / "autosave"


class Autosave:
    """One pad's snapshot folder; `claim` first, then `save` after every change."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or autosave_dir()
        self._lock: IO[bytes] | None = None
        self._picture: str | None = None  # the file name of the picture last saved

    @property
    def snapshot_path(self) -> Path:
        return self.folder / SNAPSHOT_NAME

    def claim(self) -> Claim:
        """Take the lock: "running" when another pad holds it (then save nothing), else
        "crashed" when the last run left a snapshot behind, "fresh" otherwise."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stream = open(self.folder / LOCK_NAME, "a+b")  # noqa: SIM115 (held until release)
        except OSError as error:
            raise InputError(
                f"cannot use the autosave folder {self.folder}: {error.strerror or error}"
            ) from error
        if not _try_lock(stream):
            stream.close()
            return "running"
        stream.truncate(0)
        stream.write(f"{os.getpid()}\n".encode())
        stream.flush()
        self._lock = stream
        for partial in self.folder.glob(".*.part"):  # a save cut short by a kill
            partial.unlink(missing_ok=True)
        return "crashed" if self.snapshot_path.is_file() else "fresh"

    def save(self, snapshot: Snapshot) -> None:
        """Replace the snapshot atomically; raises `InputError` (disk full, read-only)."""
        self._require_lock()
        if snapshot.is_empty:
            self.discard()
            return
        picture = None
        try:
            if snapshot.picture_png is not None:
                picture = f"picture-{hashlib.sha256(snapshot.picture_png).hexdigest()}.png"
                if not (self.folder / picture).is_file():
                    replace_atomically(self.folder / picture, snapshot.picture_png)
            record = {
                "format": _FORMAT,
                "ink": "" if snapshot.ink.is_empty else to_inkml(snapshot.ink),
                "picture": picture,
                "latex": snapshot.latex,
                "latex_edited": snapshot.latex_edited,
            }
            replace_atomically(self.snapshot_path, json.dumps(record).encode("utf-8"))
        except OSError as error:
            raise InputError(
                f"cannot autosave the drawing in {self.folder}: {error.strerror or error}"
            ) from error
        if picture != self._picture:
            self._remove_pictures(keep=picture)
            self._picture = picture

    def load(self) -> Snapshot | None:
        """The snapshot on disk, or None; a damaged one is set aside (renamed), not lost."""
        try:
            record = json.loads(self.snapshot_path.read_bytes())
            ink_text = record["ink"]
            ink = parse_inkml(ink_text, str(self.snapshot_path)) if ink_text else Ink(())
            picture = record["picture"]
            picture_png = (self.folder / picture).read_bytes() if picture else None
            if picture and hashlib.sha256(picture_png).hexdigest() not in picture:
                raise ValueError(f"{picture} does not match its hash")
            snapshot = Snapshot(ink, picture_png, str(record["latex"]), record["latex_edited"])
        except FileNotFoundError:
            if self.snapshot_path.is_file():  # the snapshot names a picture that is gone
                return self._set_aside("its picture is missing")
            return None
        except (OSError, ValueError, KeyError, TypeError, InputError) as error:
            return self._set_aside(str(error))
        self._picture = picture
        return snapshot

    def discard(self) -> None:
        """Forget the snapshot (a clean close, or a restore the user declined)."""
        self.snapshot_path.unlink(missing_ok=True)
        self._remove_pictures(keep=None)
        self._picture = None

    def release(self) -> None:
        """Drop the lock; the snapshot stays unless `discard` was called first."""
        if self._lock is not None:
            self._lock.close()  # closing the file drops the kernel lock
            self._lock = None

    def _require_lock(self) -> None:
        if self._lock is None:
            raise RuntimeError("Autosave.save before a successful claim()")

    def _remove_pictures(self, keep: str | None) -> None:
        for path in self.folder.glob("picture-*.png"):
            if path.name != keep:
                path.unlink(missing_ok=True)

    def _set_aside(self, why: str) -> None:
        target = self.snapshot_path.with_name(f"{SNAPSHOT_NAME}.damaged")
        os.replace(self.snapshot_path, target)
        log.warning(
            "the autosaved drawing cannot be restored (%s); it was moved to %s", why, target
        )


def _try_lock(stream: IO[bytes]) -> bool:
    """Take an exclusive lock on `stream` without waiting; False when someone holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            stream.seek(0)
            msvcrt.locking(stream.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
