"""Structural checks before copying: braces, `\\left`/`\\right` pairs and environments.

A document that receives unbalanced LaTeX fails to compile far from where the mistake is;
each `Problem` names the mistake and the characters it is at, so the window can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathpad.latex.tokens import Token, group_end, tokenize


@dataclass(frozen=True)
class Problem:
    """What is wrong, in a sentence, and the span of the source it is about."""

    message: str
    start: int
    end: int


@dataclass
class _Open:
    kind: str  # "{", "\\left" or "\\begin"
    name: str  # how the message quotes it: `{`, `\left(`, `\begin{cases}`
    start: int
    end: int
    env: str = ""


def check(latex: str) -> list[Problem]:
    """Every unbalanced brace, `\\left`/`\\right` and `\\begin`/`\\end` in `latex`, in order."""
    tokens = tokenize(latex)
    problems: list[Problem] = []
    stack: list[_Open] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.text == "{":
            stack.append(_Open("{", "{", tok.start, tok.end))
        elif tok.text == "}":
            _close(stack, "{", Problem("This } has no opening {", tok.start, tok.end), problems)
        elif tok.text in ("\\left", "\\right"):
            j, delim = _delimiter(tokens, i)
            name = latex[tok.start : delim.end] if delim else tok.text
            end = delim.end if delim else tok.end
            if tok.text == "\\left":
                stack.append(_Open("\\left", name, tok.start, end))
            else:
                problem = Problem(f"{name} has no \\left before it", tok.start, end)
                _close(stack, "\\left", problem, problems)
            i = j
            continue
        elif tok.text in ("\\begin", "\\end"):
            env, j = _env(tokens, i)
            if env is not None:
                span = (tok.start, tokens[j - 1].end)
                if tok.text == "\\begin":
                    stack.append(_Open("\\begin", f"\\begin{{{env}}}", *span, env=env))
                else:
                    _end(stack, env, span, problems)
                i = j
                continue
        i += 1
    for left in stack:
        problems.append(Problem(_unclosed(left), left.start, left.end))
    return sorted(problems, key=lambda p: (p.start, p.end))


def _unclosed(left: _Open) -> str:
    if left.kind == "{":
        return "This { is never closed"
    if left.kind == "\\left":
        return f"{left.name} has no \\right after it"
    return f"{left.name} has no \\end{{{left.env}}}"


def _close(stack: list[_Open], kind: str, stray: Problem, problems: list[Problem]) -> None:
    """Close the innermost opener of `kind`; openers of other kinds inside it are unclosed."""
    if not any(o.kind == kind for o in stack):
        problems.append(stray)
        return
    while stack[-1].kind != kind:
        inner = stack.pop()
        problems.append(Problem(_unclosed(inner), inner.start, inner.end))
    stack.pop()


def _end(stack: list[_Open], env: str, span: tuple[int, int], problems: list[Problem]) -> None:
    """`\\end{env}`: it must close the innermost `\\begin`, and with the same name."""
    begins = [o for o in stack if o.kind == "\\begin"]
    if not begins:
        problems.append(Problem(f"\\end{{{env}}} has no \\begin{{{env}}}", *span))
        return
    while stack[-1].kind != "\\begin":
        inner = stack.pop()
        problems.append(Problem(_unclosed(inner), inner.start, inner.end))
    opened = stack.pop()
    if opened.env != env:
        problems.append(Problem(f"\\end{{{env}}} closes {opened.name}", *span))


def _delimiter(tokens: list[Token], i: int) -> tuple[int, Token | None]:
    """The delimiter after `\\left`/`\\right` at i, and the index after it."""
    j = i + 1
    while j < len(tokens) and tokens[j].is_space:
        j += 1
    return (j + 1, tokens[j]) if j < len(tokens) else (j, None)


def _env(tokens: list[Token], i: int) -> tuple[str | None, int]:
    """The name in `\\begin{name}` at i and the index after the closing brace."""
    j = i + 1
    if j < len(tokens) and tokens[j].text == "{":
        k = group_end(tokens, j)
        if k < len(tokens):
            return "".join(t.text for t in tokens[j + 1 : k]).strip(), k + 1
    return None, i + 1
