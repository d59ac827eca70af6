"""LaTeX in mathpad: tidy what the model writes, check it, copy it, and feed the preview.

`tidy` and `clean` (tidy.py) clean recognized text, `check` (check.py) finds what would not
compile, copy.py writes the copy formats, and normalize.py rewrites LaTeX for the preview.
"""

from mathpad.latex.check import Problem, check
from mathpad.latex.copy import (
    COPY_FORMAT_NAMES,
    COPY_FORMATS,
    CopyFormat,
    aligned,
    for_copy,
    split_formulas,
    to_html,
    to_mathml,
)
from mathpad.latex.tidy import clean, tidy

__all__ = [
    "COPY_FORMATS",
    "COPY_FORMAT_NAMES",
    "CopyFormat",
    "Problem",
    "aligned",
    "check",
    "clean",
    "for_copy",
    "split_formulas",
    "tidy",
    "to_html",
    "to_mathml",
]
