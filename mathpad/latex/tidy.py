"""Meaning-preserving cleanup of recognized LaTeX.

The model emits tokens joined by spaces, sometimes spells an operator letter by letter
(`\\operatorname{s i n}`), pads with spacing commands, or falls into a loop that repeats a
group until the length limit. `tidy` undoes exactly those artefacts and nothing else, so
the window and the CLI show the same string; applying it twice changes nothing.
"""

from __future__ import annotations

import re

from mathpad.latex.tokens import Token, group_end, tokenize

_SPACES = re.compile(r"[ \t]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # never LaTeX; invisible

# Operators LaTeX names itself: `\operatorname{sin}` is `\sin`.
NAMED_OPERATORS = frozenset(
    [
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "coth",
        "log",
        "ln",
        "lg",
        "exp",
        "lim",
        "limsup",
        "liminf",
        "max",
        "min",
        "sup",
        "inf",
        "det",
        "dim",
        "ker",
        "deg",
        "gcd",
        "hom",
        "arg",
        "Pr",
    ]
)
SPACING = frozenset({"\\,", "\\;", "\\:", "\\!", "\\quad", "\\qquad", "\\ ", "~"})
_LOOP_UNIT = 8  # the longest repeated group (in tokens) taken for a decoding loop
_LOOP_TOKENS = 12  # a loop spans at least this many tokens...
_LOOP_REPEATS = 3  # ...and repeats its group at least this often


def clean(latex: str) -> str:
    """Strip each line, collapse runs of spaces, drop control characters and empty lines.

    Line breaks stay: several expressions are one per line.
    """
    text = _CONTROLS.sub("", latex)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def tidy(latex: str) -> str:
    """`clean`, then per line: spelled-out operators, stray spacing, a trailing decoding loop."""
    lines = []
    for line in clean(latex).splitlines():
        for rule in (_operators, _spacing, _loop):
            line = rule(line)
        lines.append(line)
    return clean("\n".join(lines))


def _join(tokens: list[Token]) -> str:
    return _SPACES.sub(" ", "".join(t.text for t in tokens)).strip()


def _operators(line: str) -> str:
    """`\\operatorname{s i n}` -> `\\sin`; other operator names lose the spaces between letters."""
    tokens = tokenize(line)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        replaced = _operator(tokens, i)
        if replaced is None:
            out.append(tokens[i].text)
            i += 1
        else:
            out.append(replaced[0])
            i = replaced[1]
    return "".join(out)


def _operator(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """The tidy form of an `\\operatorname{...}` of letters at i and the index after it."""
    command = tokens[i].text
    if command not in ("\\operatorname", "\\operatorname*"):
        return None
    j = i + 1
    while j < len(tokens) and tokens[j].is_space:
        j += 1
    if j >= len(tokens) or tokens[j].text != "{" or (end := group_end(tokens, j)) >= len(tokens):
        return None
    word = "".join(t.text for t in tokens[j + 1 : end] if not t.is_space)
    if not word.isalpha():
        return None
    if word in NAMED_OPERATORS and command == "\\operatorname":
        after = tokens[end + 1].text if end + 1 < len(tokens) else ""
        return f"\\{word}" + (" " if after[:1].isalpha() else ""), end + 1
    return f"{command}{{{word}}}", end + 1


def _spacing(line: str) -> str:
    """Spacing commands dropped at the ends of a line; a run of the same one kept once."""
    tokens = tokenize(line)
    kept: list[Token] = []
    for tok in tokens:
        if tok.text in SPACING:
            previous = next((k for k in reversed(kept) if not k.is_space), None)
            if previous is None or previous.text == tok.text:
                continue
        kept.append(tok)
    while kept and (kept[-1].is_space or kept[-1].text in SPACING):
        kept.pop()
    return _join(kept)


def _loop(line: str) -> str:
    """A group repeated over and over at the end (a decoding loop) kept once.

    The run must repeat a brace-balanced group of up to 8 tokens at least 3 times and span at
    least 12 tokens; a cut-off last copy goes too. Repeated digits are a number, never a loop.
    """
    tokens = [t for t in tokenize(line) if not t.is_space]
    texts = [t.text for t in tokens]
    best: tuple[int, int] | None = None  # (tokens removed, unit length)
    for unit in range(1, _LOOP_UNIT + 1):
        for tail in range(unit):  # a partial last copy of `tail` tokens
            end = len(texts) - tail
            group = texts[end - unit : end]
            if len(group) < unit or all(t.isdigit() or t == "." for t in group):
                continue
            if texts[end:] != group[:tail] or group.count("{") != group.count("}"):
                continue
            repeats = 1
            while texts[end - (repeats + 1) * unit : end - repeats * unit] == group:
                repeats += 1
            span = repeats * unit + tail
            if repeats >= _LOOP_REPEATS and span >= _LOOP_TOKENS:
                removed = span - unit
                if best is None or removed > best[0]:
                    best = (removed, unit)
    if best is None:
        return line
    keep = tokens[len(tokens) - best[0] - 1]
    return line[: keep.end].rstrip()
