"""A writer for the history kill test: `python history_writer.py DB add|raw`.

`add` stores readings with a large image through `History.add` one after another and prints
`added N` after each commit; `raw` opens a transaction by hand, writes 8 MiB into it (more
than SQLite's page cache holds, so pages spill into the write-ahead log before any commit),
prints `mid` and waits to be killed.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from mathpad.history import History

IMAGE = bytes(range(256)) * 2048  # 512 KiB


def main(path: Path, mode: str) -> None:
    history = History(path)
    if mode == "add":
        count = 0
        while True:
            history.add(image_png=IMAGE, latex_shown=f"x^{count}", model="m", variant="int8")
            count += 1
            print(f"added {count}", flush=True)
    history.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA cache_size = 100")
    db.execute("BEGIN IMMEDIATE")
    for index in range(16):
        db.execute(
            "INSERT INTO readings (created, image_png, latex_shown, model, variant, bytes)"
            " VALUES (?, ?, ?, 'm', 'int8', 0)",
            (time.time(), IMAGE, f"uncommitted {index}"),
        )
    print("mid", flush=True)
    time.sleep(60)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
