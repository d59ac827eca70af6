"""The formats LaTeX is copied in: wrapped for a document, as MathML for Word and the web.

What is copied is the LaTeX the user sees (cleaned of control characters and padding), never
the preview's rewritten text. Several formulas (one per line) are never run into one: the
display formats stack them as rows of `aligned`, the inline one writes one `$...$` a line.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Literal

from mathpad.errors import InputError
from mathpad.latex.check import check
from mathpad.latex.tidy import clean
from mathpad.latex.tokens import group_end, tokenize

CopyFormat = Literal[
    "as_is", "inline", "display_dollars", "display", "equation", "aligned", "mathml"
]
COPY_FORMAT_NAMES: dict[CopyFormat, str] = {
    "as_is": "LaTeX as is",
    "inline": "Inline $…$",
    "display_dollars": "Display $$…$$",
    "display": "Display \\[…\\]",
    "equation": "equation environment",
    "aligned": "Lines as aligned",
    "mathml": "MathML (Word)",
}
COPY_FORMATS: tuple[CopyFormat, ...] = tuple(COPY_FORMAT_NAMES)

_RELATIONS = frozenset("=<>") | {
    "\\le", "\\leq", "\\ge", "\\geq", "\\lt", "\\gt", "\\neq", "\\ne", "\\approx", "\\equiv",
    "\\sim", "\\simeq", "\\cong", "\\propto", "\\Rightarrow", "\\Leftrightarrow", "\\iff",
    "\\implies", "\\to", "\\rightarrow", "\\mapsto",
}  # fmt: skip
# latex2mathml writes `aligned` with a bare & (not even XML); its starred twins come out right.
_MATHML_ENVIRONMENTS = {"aligned": "align*", "align": "align*", "split": "align*"}


def for_copy(latex: str, fmt: CopyFormat) -> str:
    """`latex` cleaned and written in `fmt` (mathml: the `<math>` element)."""
    formulas = split_formulas(clean(latex))
    if fmt == "as_is":
        return "\n".join(formulas)
    if fmt == "inline":
        return "\n".join(f"${f}$" for f in formulas)
    if fmt == "mathml":
        return to_mathml("\n".join(formulas))
    if fmt == "aligned":
        return aligned(formulas)
    body = formulas[0] if len(formulas) == 1 else aligned(formulas)
    several = len(formulas) > 1 or "\n" in body
    if fmt == "display_dollars":
        return f"$$\n{body}\n$$" if several else f"$${body}$$"
    if fmt == "display":
        return f"\\[\n{body}\n\\]" if several else f"\\[{body}\\]"
    if fmt == "equation":
        return f"\\begin{{equation}}\n{body}\n\\end{{equation}}"
    raise ValueError(f"unknown copy format {fmt!r}; use one of {', '.join(COPY_FORMATS)}")


def split_formulas(text: str) -> list[str]:
    """The formulas in `text`, one per line, except that an environment or group spans lines."""
    formulas: list[str] = []
    start = depth = 0
    tokens = tokenize(text)
    for i, tok in enumerate(tokens):
        if tok.text in ("{", "\\begin"):
            depth += 1
        elif tok.text in ("}", "\\end"):
            depth = max(depth - 1, 0)
        elif "\n" in tok.text and depth == 0:
            formulas.append(text[start : tok.start])
            start = tok.end
        del i
    formulas.append(text[start:])
    return [f.strip() for f in formulas if f.strip()]


def aligned(lines: Sequence[str]) -> str:
    """The lines as rows of one `aligned` block, each aligned at its first relation sign."""
    rows = [_align_row(line.strip()) for line in lines if line.strip()]
    return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _align_row(expression: str) -> str:
    """`a = b` -> `a &= b`: the first relation outside braces, as people align derivations."""
    tokens = tokenize(expression)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.text == "{":
            i = group_end(tokens, i) + 1
            continue
        if tok.text in _RELATIONS:
            return f"{expression[: tok.start].rstrip()} &{expression[tok.start :]}"
        i += 1
    return f"&{expression}"


def to_mathml(latex: str) -> str:
    """`latex` as one MathML `<math>` element (several formulas: a table of aligned rows).

    Raises `InputError` when the LaTeX is unbalanced or latex2mathml cannot convert it.
    """
    from latex2mathml.converter import convert

    formulas = split_formulas(clean(latex))
    if not formulas:
        raise InputError("There is no LaTeX to convert to MathML.")
    text = formulas[0] if len(formulas) == 1 else aligned(formulas)
    problems = check(text)
    if problems:
        raise InputError(f"Cannot convert to MathML: {problems[0].message}.")
    for name, replacement in _MATHML_ENVIRONMENTS.items():
        text = text.replace(f"\\begin{{{name}}}", f"\\begin{{{replacement}}}")
        text = text.replace(f"\\end{{{name}}}", f"\\end{{{replacement}}}")
    try:
        mathml = convert(text, display="block")
        ET.fromstring(mathml)
    except Exception as exc:  # latex2mathml raises its own error classes, or writes bad XML
        reason = str(exc) or type(exc).__name__
        raise InputError(f"Cannot convert to MathML: latex2mathml failed ({reason}).") from None
    return mathml


def to_html(latex: str) -> str:
    """An HTML fragment for text/html: the MathML, and the LaTeX as its annotation for readers."""
    mathml = to_mathml(latex)
    return f'<div class="math" title="{html.escape(clean(latex), quote=True)}">{mathml}</div>'
