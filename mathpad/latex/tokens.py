"""LaTeX split into tokens that remember where they came from.

Every later step (the preview's normalizer, `check`, `tidy`) works on these tokens, so a
position in what they produce can always be traced back to the text the user sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\\$|\s+|.", re.DOTALL)


@dataclass(frozen=True)
class Token:
    """One command (`\\frac`), escaped character (`\\{`), run of spaces, or character."""

    text: str
    start: int
    end: int

    @property
    def is_space(self) -> bool:
        return self.text.isspace()

    @property
    def is_command(self) -> bool:
        return self.text.startswith("\\") and len(self.text) > 1


def tokenize(latex: str) -> list[Token]:
    """`latex` as tokens; their texts joined give `latex` back exactly."""
    return [Token(m[0], m.start(), m.end()) for m in _TOKEN.finditer(latex)]


def group_end(tokens: list[Token], i: int) -> int:
    """The index of the `}` closing the `{` at `tokens[i]`, or len(tokens) if never closed."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == "{":
            depth += 1
        elif tokens[j].text == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(tokens)
