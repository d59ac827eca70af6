"""A stand-in for the pad in the autosave kill test: it draws through the same `Autosave` API.

Run as `python autosave_driver.py FOLDER`: it claims the folder, continues from what the last
run left, and then adds one stroke after another, saving after every change as the window
does, and prints `saving N` before and `saved N` after each save until it is killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mathpad.autosave import Autosave, Snapshot
from mathpad.ink.strokes import Ink, Stroke

POINTS = 300  # per stroke: the snapshot grows to a few hundred KiB, so a save takes a while
PICTURE_AT = 3  # the picture is loaded with the third stroke
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64  # stored as bytes, never decoded


def stroke(index: int) -> Stroke:
    k = np.arange(POINTS, dtype=np.float64)
    return Stroke(np.column_stack([index * 3 + k / 7, (index * 11 + k) % 97, k * 8]))


def snapshot(count: int) -> Snapshot:
    """What the pad holds after `count` strokes: the ink, the picture and the edited LaTeX."""
    ink = Ink(tuple(stroke(i) for i in range(count)))
    picture = PICTURE if count >= PICTURE_AT else None
    return Snapshot(ink, picture, f"x_{{{count}}}", latex_edited=count % 2 == 0)


def main(folder: Path) -> None:
    autosave = Autosave(folder)
    claim = autosave.claim()
    restored = autosave.load() if claim == "crashed" else None
    count = len(restored.ink.strokes) if restored else 0
    print(f"{claim} {count}", flush=True)
    while True:
        count += 1
        print(f"saving {count}", flush=True)
        autosave.save(snapshot(count))
        print(f"saved {count}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
