"""Cleanup of recognized LaTeX and the formats it is copied in.

The model emits tokens joined by spaces and sometimes pads them; people paste the result
into documents, so the text is tidied once here and both the window and the CLI show the
same string.
"""

from __future__ import annotations

import re
from typing import Literal

CopyFormat = Literal["as_is", "inline", "display"]
COPY_FORMATS: tuple[CopyFormat, ...] = ("as_is", "inline", "display")

_SPACES = re.compile(r"[ \t]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # never LaTeX; invisible


def clean(latex: str) -> str:
    """Strip each line, collapse runs of spaces, drop control characters and empty lines.

    Line breaks stay: several expressions are one per line.
    """
    text = _CONTROLS.sub("", latex)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def for_copy(latex: str, fmt: CopyFormat) -> str:
    """`latex` cleaned and wrapped as asked: as is, inline `$...$` or display `\\[...\\]`."""
    text = clean(latex)
    if fmt == "as_is":
        return text
    if fmt == "inline":
        return f"${text}$"
    if fmt == "display":
        return f"\\[\n{text}\n\\]" if "\n" in text else f"\\[{text}\\]"
    raise ValueError(f"unknown copy format {fmt!r}; use one of {', '.join(COPY_FORMATS)}")
