"""The history database: SQLite in WAL mode, with a schema version and a size bound.

One row per reading. A kill at any moment (the pad's, or the machine's) leaves the last
committed state: SQLite's write-ahead log is replayed or dropped on the next open. A file
that is not a database of ours, is damaged, or was written by a newer mathpad is never
written to: it is renamed aside with a message (`History.notice`) and a new one is started.
The oldest readings are dropped when the stored bytes pass `max_bytes`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mathpad import paths
from mathpad.errors import InputError

FILE_NAME = "history.sqlite3"
MAX_BYTES = 256 * 2**20  # some 20,000 readings of a few KiB of ink and a small PNG each

# Schema steps, applied in order: step i takes a database from user_version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE readings (
        id INTEGER PRIMARY KEY,
        created REAL NOT NULL,
        ink_inkml TEXT,
        image_png BLOB NOT NULL,
        latex_shown TEXT NOT NULL,
        latex_copied TEXT,
        model TEXT NOT NULL,
        variant TEXT NOT NULL
    );
    CREATE INDEX readings_created ON readings (created);
    """,
    # 2: the alternatives beam search offers, and each row's size for the bound.
    """
    ALTER TABLE readings ADD COLUMN alternatives TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE readings ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
    UPDATE readings SET bytes = length(image_png) + length(coalesce(ink_inkml, ''));
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = (
    "id, created, ink_inkml, image_png, latex_shown, latex_copied, alternatives, model, variant"
)


@dataclass(frozen=True)
class Reading:
    """One recognition as the user saw it; `latex_copied` is None until something is copied."""

    id: int
    created: float  # seconds since the epoch
    ink_inkml: str | None
    image_png: bytes
    latex_shown: str
    latex_copied: str | None
    alternatives: tuple[str, ...]
    model: str
    variant: str

    @property
    def corrected(self) -> bool:
        """The user copied something other than the reading: a correction worth keeping."""
        return self.latex_copied is not None and self.latex_copied != self.latex_shown


def history_path() -> Path:
    """The database in the per-user data folder (`~/.local/share/mathpad` on Linux)."""
    return paths.data_dir() / FILE_NAME


class History:
    """The readings database; every method is safe to call from any one thread at a time."""

    def __init__(self, path: Path | None = None, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = path or history_path()
        self.max_bytes = max_bytes
        self.notice: str | None = None  # set when a database had to be set aside
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"cannot keep the history in {self.path.parent}: {error.strerror or error}"
            ) from error
        self._db = self._open()

    def add(
        self,
        *,
        image_png: bytes,
        latex_shown: str,
        model: str,
        variant: str,
        ink_inkml: str | None = None,
        alternatives: Sequence[str] = (),
        latex_copied: str | None = None,
        created: float | None = None,
    ) -> int:
        """Store one reading and return its id; the oldest go when the bound is passed."""
        size = len(image_png) + len(ink_inkml or "") + len(latex_shown)
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO readings (created, ink_inkml, image_png, latex_shown, latex_copied,"
                " alternatives, model, variant, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time() if created is None else created,
                    ink_inkml,
                    image_png,
                    latex_shown,
                    latex_copied,
                    json.dumps(list(alternatives)),
                    model,
                    variant,
                    size,
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            self._drop_oldest(db, keep=new_id)
        return new_id

    def mark_copied(self, reading_id: int, latex: str) -> None:
        """Remember what the user copied for a reading (a correction when it differs)."""
        with self._write() as db:
            db.execute("UPDATE readings SET latex_copied = ? WHERE id = ?", (latex, reading_id))

    def set_alternatives(self, reading_id: int, alternatives: Sequence[str]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE readings SET alternatives = ? WHERE id = ?",
                (json.dumps(list(alternatives)), reading_id),
            )

    def search(self, text: str = "", limit: int = 200) -> list[Reading]:
        """The newest readings whose shown or copied LaTeX contains `text` (case-insensitive)."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._read(
            f"SELECT {_COLUMNS} FROM readings WHERE latex_shown LIKE ?1 ESCAPE '\\'"
            " OR latex_copied LIKE ?1 ESCAPE '\\' ORDER BY created DESC, id DESC LIMIT ?2",
            (pattern, limit),
        )
        return [_reading(row) for row in rows]

    def get(self, reading_id: int) -> Reading | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM readings WHERE id = ?", (reading_id,))
        return _reading(rows[0]) if rows else None

    def corrections(self) -> list[Reading]:
        """Readings of ink whose copied LaTeX differs from the reading, oldest first."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM readings WHERE ink_inkml IS NOT NULL AND latex_copied"
            " IS NOT NULL AND latex_copied != latex_shown ORDER BY created, id",
            (),
        )
        return [_reading(row) for row in rows]

    def delete(self, reading_id: int) -> None:
        with self._write() as db:
            db.execute("DELETE FROM readings WHERE id = ?", (reading_id,))

    def clear(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM readings")
        self._vacuum()

    def export(self, folder: Path, *, corrections_only: bool = False) -> int:
        """Write readings as files into `folder` (see `mathpad.history.export`)."""
        from mathpad.history.export import export_readings

        readings = self.corrections() if corrections_only else self.search(limit=-1)[::-1]
        return export_readings(readings, folder, corrections_only=corrections_only)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- opening, checking, setting aside

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except _Unusable as unusable:
            aside = self.path.with_name(f"{self.path.name}.{unusable.tag}-{int(time.time())}")
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    source.replace(f"{aside}{suffix}")
            self.notice = f"the history {self.path} {unusable}; it was moved to {aside}"
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as error:
            raise InputError(f"cannot open the history {self.path}: {error}") from error
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _Unusable(
                    "newer",
                    f"was written by a newer mathpad (schema {version}, this one knows "
                    f"{SCHEMA_VERSION})",
                )
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _Unusable("damaged", "is damaged")
            if version == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise _Unusable("foreign", "is not a mathpad history")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a power cut loses at most the last
            if version == 0:
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            for step in range(version, SCHEMA_VERSION):
                db.executescript(
                    f"BEGIN; {MIGRATIONS[step]}; PRAGMA user_version = {step + 1}; COMMIT;"
                )
        except sqlite3.DatabaseError as error:
            db.close()
            raise _Unusable("damaged", f"is damaged ({error})") from error
        except BaseException:
            db.close()
            raise
        return db

    # -- helpers

    def _write(self) -> _Transaction:
        return _Transaction(self._db, self._lock, self.path)

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise InputError(f"cannot read the history {self.path}: {error}") from error

    def _drop_oldest(self, db: sqlite3.Connection, keep: int) -> None:
        total = db.execute("SELECT coalesce(sum(bytes), 0) FROM readings").fetchone()[0]
        if total <= self.max_bytes:
            return
        rows = db.execute(
            "SELECT id, bytes FROM readings WHERE id != ? ORDER BY created, id", (keep,)
        )
        doomed = []
        for row_id, size in rows:
            if total <= self.max_bytes:
                break
            doomed.append((row_id,))
            total -= size
        db.executemany("DELETE FROM readings WHERE id = ?", doomed)

    def _vacuum(self) -> None:
        with self._lock:
            self._db.execute("PRAGMA incremental_vacuum")


class _Unusable(Exception):
    """A database file that must be set aside; `tag` goes into the new name."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag


class _Transaction:
    """`with`: one IMMEDIATE transaction under the lock; an SQLite error is an InputError."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock, path: Path) -> None:
        self._db, self._lock, self._path = db, lock, path

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            self._lock.release()
            raise InputError(f"cannot write the history {self._path}: {error}") from error
        return self._db

    def __exit__(self, kind: type[BaseException] | None, error: object, _tb: object) -> None:
        try:
            if kind is None:
                self._db.execute("COMMIT")
            else:
                self._db.execute("ROLLBACK")
        except sqlite3.Error as failure:
            if kind is None:
                self._db.execute("ROLLBACK")
                raise InputError(f"cannot write the history {self._path}: {failure}") from failure
        finally:
            self._lock.release()
        if isinstance(error, sqlite3.Error):
            raise InputError(f"cannot write the history {self._path}: {error}") from error


def _reading(row: tuple[object, ...]) -> Reading:
    rid, created, ink, image, shown, copied, alternatives, model, variant = row
    return Reading(
        id=int(rid),  # type: ignore[arg-type]
        created=float(created),  # type: ignore[arg-type]
        ink_inkml=ink,  # type: ignore[arg-type]
        image_png=bytes(image),  # type: ignore[arg-type]
        latex_shown=str(shown),
        latex_copied=copied,  # type: ignore[arg-type]
        alternatives=tuple(json.loads(str(alternatives))),
        model=str(model),
        variant=str(variant),
    )
