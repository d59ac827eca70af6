"""Readings out as files: corrected ink as MathWriting InkML, everything else as it was stored.

A corrected reading (ink whose copied LaTeX differs from what the model said) becomes an
`.inkml` file whose `normalizedLabel` and `label` are the corrected LaTeX, the layout of
MathWriting's training files, so one's own corrections can fine-tune the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mathpad.errors import InputError
from mathpad.files import write_atomic
from mathpad.history.database import Reading
from mathpad.ink.inkml import parse_inkml, to_inkml
from mathpad.ink.strokes import Ink


def export_readings(
    readings: Sequence[Reading], folder: Path, *, corrections_only: bool = False
) -> int:
    """Write each reading into `folder`; return how many readings were written.

    With `corrections_only`, only `reading-<id>.inkml` per corrected ink; otherwise also the
    image the model saw (`reading-<id>.png`) and one JSON line per reading in `readings.jsonl`.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot export into {folder}: {error.strerror or error}") from error
    index, written = [], 0
    for reading in readings:
        if corrections_only and not (reading.corrected and reading.ink_inkml):
            continue
        stem = folder / f"reading-{reading.id}"
        if reading.ink_inkml:
            write_atomic(stem.with_suffix(".inkml"), labelled_inkml(reading).encode("utf-8"))
        if not corrections_only:
            write_atomic(stem.with_suffix(".png"), reading.image_png)
            index.append(_record(reading))
        written += 1
    if not corrections_only:
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in index)
        write_atomic(folder / "readings.jsonl", lines.encode("utf-8"))
    return written


def labelled_inkml(reading: Reading) -> str:
    """The reading's ink with the LaTeX the user kept (copied, else shown) as its label."""
    ink = parse_inkml(reading.ink_inkml or "", f"history reading {reading.id}")
    label = reading.latex_copied if reading.latex_copied is not None else reading.latex_shown
    annotations = {
        **ink.annotations,
        "label": label,
        "normalizedLabel": label,
        "sampleId": f"mathpad-{reading.id}",
        "labelCreationMethod": "mathpad-correction" if reading.corrected else "mathpad-reading",
    }
    return to_inkml(Ink(ink.strokes, annotations))


def _record(reading: Reading) -> dict[str, object]:
    return {
        "id": reading.id,
        "created": reading.created,
        "latex_shown": reading.latex_shown,
        "latex_copied": reading.latex_copied,
        "alternatives": list(reading.alternatives),
        "model": reading.model,
        "variant": reading.variant,
        "ink": f"reading-{reading.id}.inkml" if reading.ink_inkml else None,
        "image": f"reading-{reading.id}.png",
    }
