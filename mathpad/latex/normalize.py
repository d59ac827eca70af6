"""Everyday LaTeX rewritten into what matplotlib's mathtext draws, for the preview only.

People and the model write `\\le`, `\\frac {2H} g`, `\\big(`, `$...$` and environments;
mathtext knows a subset of LaTeX and no environments at all. `normalize` splits the text
into lines and environments (which `mathpad.render` lays out itself) and rewrites each run
of plain math into mathtext's dialect. Every piece it writes remembers the characters of
the source it came from, so marks on the source (doubtful symbols) find their glyphs.
What is copied is never this text: it only feeds the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from mathpad.latex.tidy import SPACING
from mathpad.latex.tokens import Token, group_end, tokenize

# Commands mathtext does not know, and the ones it draws the same way.
ALIASES: dict[str, str] = {
    "\\le": "\\leq",
    "\\ge": "\\geq",
    "\\lt": "<",
    "\\gt": ">",
    "\\ne": "\\neq",
    "\\iff": "\\Leftrightarrow",
    "\\implies": "\\Rightarrow",
    "\\impliedby": "\\Leftarrow",
    "\\land": "\\wedge",
    "\\lor": "\\vee",
    "\\lnot": "\\neg",
    "\\lvert": "|",
    "\\rvert": "|",
    "\\vert": "|",
    "\\lVert": "\\Vert",
    "\\rVert": "\\Vert",
    "\\lbrace": "\\{",
    "\\rbrace": "\\}",
    "\\lbrack": "[",
    "\\rbrack": "]",
    "\\colon": ":",
    "\\owns": "\\ni",
    "\\dotsc": "\\ldots",
    "\\dotso": "\\ldots",
    "\\hdots": "\\ldots",
    "\\dotsb": "\\cdots",
    "\\dotsm": "\\cdots",
    "\\dotsi": "\\cdots",
    "\\thinspace": "\\,",
    "\\medspace": "\\:",
    "\\thickspace": "\\;",
    "\\negthinspace": "\\!",
    "\\enskip": "\\enspace",
    "\\Alpha": "A",
    "\\Beta": "B",
    "\\Epsilon": "E",
    "\\Zeta": "Z",
    "\\Eta": "H",
    "\\Iota": "I",
    "\\Kappa": "K",
    "\\Mu": "M",
    "\\Nu": "N",
    "\\Omicron": "O",
    "\\Rho": "P",
    "\\Tau": "T",
    "\\Chi": "X",
    "\\omicron": "o",
    "\\square": "\\boxdot",
    "\\Box": "\\boxdot",
    "\\&": "&",
    "~": "\\ ",
    "%": "\\%",
    "\\\\": " ",
    "&": "",
}

# Size and style commands with nothing mathtext needs: the symbol they precede is drawn as is.
DROPPED = frozenset(
    {"\\limits", "\\nolimits", "\\displaystyle", "\\textstyle", "\\scriptstyle"}
    | {"\\scriptscriptstyle", "\\nonumber", "\\notag", "\\hline", "\\strut", "\\mathstrut"}
    | {"\\allowbreak", "$", "\\[", "\\]", "\\(", "\\)"}
    | {f"\\{size}{kind}" for size in ("big", "Big", "bigg", "Bigg") for kind in ("", "l", "r", "m")}
)

TWO_ARGS: dict[str, str] = {
    "\\frac": "\\frac",
    "\\dfrac": "\\dfrac",
    "\\tfrac": "\\frac",
    "\\cfrac": "\\dfrac",
    "\\binom": "\\binom",
    "\\dbinom": "\\binom",
    "\\tbinom": "\\binom",
    "\\overset": "\\overset",
    "\\underset": "\\underset",
    "\\stackrel": "\\overset",
}

# One argument of math; the value is what mathtext calls it ("" draws the argument plainly).
ONE_ARG: dict[str, str] = {
    **{
        name: name
        for name in [
            "\\hat",
            "\\widehat",
            "\\bar",
            "\\overline",
            "\\tilde",
            "\\widetilde",
            "\\vec",
            "\\overrightarrow",
            "\\overleftarrow",
            "\\dot",
            "\\ddot",
            "\\check",
            "\\breve",
            "\\acute",
            "\\grave",
            "\\mathring",
            "\\underline",
            "\\mathrm",
            "\\mathbf",
            "\\mathit",
            "\\mathsf",
            "\\mathtt",
            "\\mathcal",
            "\\mathbb",
            "\\mathfrak",
            "\\mathscr",
            "\\mathdefault",
            "\\boldsymbol",
            "\\phantom",
            "\\sqrt",
        ]
    },
    "\\bm": "\\boldsymbol",
    "\\pmb": "\\boldsymbol",
    "\\textbf": "\\mathbf",
    "\\textit": "\\mathit",
    "\\textsf": "\\mathsf",
    "\\texttt": "\\mathtt",
    "\\mathnormal": "",
    "\\boxed": "",
    "\\overbrace": "",
    "\\underbrace": "",
    "\\cancel": "",
    "\\mathop": "",
    "\\mathbin": "",
    "\\mathrel": "",
    "\\mathord": "",
    "\\vtop": "",
    "\\vbox": "",
    "\\substack": "\\substack",
}

# One argument of plain text, drawn upright.
TEXT_ARG: dict[str, str] = {
    "\\text": "\\text",
    "\\textrm": "\\text",
    "\\textnormal": "\\text",
    "\\textup": "\\text",
    "\\mbox": "\\text",
    "\\hbox": "\\text",
    "\\operatorname": "\\operatorname",
    "\\operatorname*": "\\operatorname",
}

ARROWS = {"\\xrightarrow": "\\longrightarrow", "\\xleftarrow": "\\longleftarrow"}
NEGATED = {"=": "\\neq", "\\in": "\\notin", "<": "\\nless", ">": "\\ngtr"}
DELIMITERS = {"<": "\\langle", ">": "\\rangle", **ALIASES}
ENVIRONMENTS = frozenset(
    [
        "matrix",
        "pmatrix",
        "bmatrix",
        "Bmatrix",
        "vmatrix",
        "Vmatrix",
        "smallmatrix",
        "cases",
        "dcases",
        "rcases",
        "array",
        "aligned",
        "align",
        "align*",
        "alignat",
        "alignat*",
        "aligned*",
        "split",
        "gathered",
        "gather",
        "gather*",
        "equation",
        "equation*",
        "multline",
        "multline*",
        "eqnarray",
        "eqnarray*",
        "subarray",
    ]
)


@dataclass(frozen=True)
class Out:
    """A piece of mathtext and the source characters it draws (`start == end`: inserted).

    `symbol` is True for a symbol a mark may colour on its own: a character or a command
    without arguments, outside raw text.
    """

    text: str
    start: int
    end: int
    symbol: bool = False


@dataclass(frozen=True)
class Math:
    """A run of mathtext."""

    parts: tuple[Out, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts)

    @property
    def blank(self) -> bool:
        return not self.text.strip()


@dataclass(frozen=True)
class Env:
    """An environment: rows of cells; `columns` holds an `array`'s l/c/r letters."""

    name: str
    rows: tuple[tuple[Seq, ...], ...]
    columns: str = ""
    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class Fenced:
    """`\\left( ... \\right)` around an environment: mathtext cannot size those itself."""

    left: str
    right: str
    body: Seq


Piece = Math | Env | Fenced
Seq = tuple[Piece, ...]


def normalize(latex: str) -> tuple[Seq, ...]:
    """The lines of `latex` (split at newlines and top-level `\\\\`) as runs and environments."""
    tokens = tokenize(latex)
    rows, _ = _structure(tokens, 0, None)
    lines = tuple(_finish([p for cell in cells for p in cell], display=True) for cells in rows)
    return tuple(line for line in lines if any(not _blank(p) for p in line))


def mathtext_of(latex: str) -> str:
    """The whole of `latex` as one mathtext string, when it has no environment (for tests)."""
    lines = normalize(latex)
    return "\n".join("".join(p.text for p in line if isinstance(p, Math)) for line in lines)


def _blank(piece: Piece) -> bool:
    return isinstance(piece, Math) and piece.blank


# A raw cell: runs of tokens and environments already parsed.
_Raw = list  # list[list[Token] | Env]


def _structure(tokens: list[Token], i: int, env: str | None) -> tuple[list[list[_Raw]], int]:
    """Rows of cells from tokens[i:] up to `\\end{env}` (or the end when env is None)."""
    rows: list[list[_Raw]] = [[[]]]
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        cell = rows[-1][-1]
        if tok.text == "\\begin" and (name := _env_name(tokens, i)) is not None:
            parsed, i = _environment(tokens, i, name[0], name[1])
            cell.append(parsed)
            continue
        if tok.text == "\\end" and env is not None and _env_name(tokens, i) is not None:
            return rows, _env_name(tokens, i)[1]  # type: ignore[index]
        if depth == 0 and (tok.text == "\\\\" or (env is None and "\n" in tok.text)):
            rows.append([[]])
            i = _skip_optional(tokens, i + 1) if tok.text == "\\\\" else i + 1
            continue
        if depth == 0 and tok.text == "&" and env is not None:
            rows[-1].append([])
            i += 1
            continue
        depth += {"{": 1, "}": -1}.get(tok.text, 0)
        if not cell or not isinstance(cell[-1], list):
            cell.append([])
        cell[-1].append(tok)
        i += 1
    return rows, i


def _env_name(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """The name of `\\begin{name}` / `\\end{name}` at i and the index after it."""
    j = i + 1
    if j >= len(tokens) or tokens[j].text != "{":
        return None
    k = group_end(tokens, j)
    if k >= len(tokens):
        return None
    name = "".join(t.text for t in tokens[j + 1 : k]).strip()
    return (name, k + 1) if name in ENVIRONMENTS else None


def _environment(tokens: list[Token], i: int, name: str, j: int) -> tuple[Env, int]:
    """The environment whose `\\begin{name}` ends just before j; returns it and the index after."""
    columns = ""
    if name.startswith(("array", "alignat", "subarray")):
        j = _skip_spaces(tokens, j)
        if j < len(tokens) and tokens[j].text == "{":
            k = group_end(tokens, j)
            columns = "".join(t.text for t in tokens[j + 1 : k] if t.text in "lcr")
            j = k + 1
            if name.startswith("alignat"):
                columns = ""
    rows, end = _structure(tokens, j, name)
    while rows and all(not _raw_has_ink(cell) for cell in rows[-1]):
        rows.pop()  # a trailing `\\` adds no row
    env = Env(
        name.rstrip("*"),
        tuple(
            tuple(_finish(cell, display=name.startswith(_DISPLAY)) for cell in row) for row in rows
        ),
        columns,
        tokens[i].start,
        tokens[end - 1].end if end - 1 < len(tokens) else tokens[-1].end,
    )
    return env, end


def _raw_has_ink(cell: _Raw) -> bool:
    return any(isinstance(p, Env) or any(not t.is_space for t in p) for p in cell)


def _skip_spaces(tokens: list[Token], i: int) -> int:
    while i < len(tokens) and tokens[i].is_space:
        i += 1
    return i


def _skip_optional(tokens: list[Token], i: int) -> int:
    """After `\\\\`, skip a spacing argument such as `[2pt]`."""
    j = _skip_spaces(tokens, i)
    if j < len(tokens) and tokens[j].text == "[":
        for k in range(j, len(tokens)):
            if tokens[k].text == "]":
                return k + 1
    return i


# Environments whose cells TeX sets in display style (matrices and cases use text style).
_DISPLAY = ("align", "gather", "split", "equation", "multline")


def _finish(cell: _Raw, *, display: bool) -> Seq:
    """A raw cell as pieces: token runs normalized, `\\left( env \\right)` fenced."""
    return _fence([_normalize_run(p, display) if isinstance(p, list) else p for p in cell])


def _fence(pieces: list[Piece]) -> Seq:
    """Pair an unmatched `\\left` before an environment with an unmatched `\\right` after it."""
    for k, piece in enumerate(pieces):
        if not isinstance(piece, Math):
            continue
        left = _unmatched(piece, "\\left")
        if left is None:
            continue
        for m in range(k + 1, len(pieces)):
            later = pieces[m]
            right = _unmatched(later, "\\right") if isinstance(later, Math) else None
            if right is None:
                continue
            before, left_delim = Math(piece.parts[:left]), piece.parts[left + 1]
            after, right_delim = Math(later.parts[right + 2 :]), later.parts[right + 1]
            body = [Math(piece.parts[left + 2 :]), *pieces[k + 1 : m], Math(later.parts[:right])]
            fenced = Fenced(left_delim.text, right_delim.text, _fence(body))
            return (*_fence(pieces[:k]), before, fenced, *_fence([after, *pieces[m + 1 :]]))
    return tuple(pieces)


def _unmatched(run: Math, word: str) -> int | None:
    """Index in run.parts of the `\\left` (first unmatched) or `\\right` (first unmatched)."""
    depth = 0
    found: list[int] = []
    for n, part in enumerate(run.parts):
        if part.text == "\\left":
            depth += 1
            found.append(n)
        elif part.text == "\\right":
            if found:
                found.pop()
            elif word == "\\right":
                return n
            depth -= 1
    return found[0] if word == "\\left" and found else None


def _normalize_run(tokens: list[Token], display: bool) -> Math:
    parts = _Run(tokens, display).items(0, len(tokens))
    return Math(tuple(_collapse_spaces(parts)))


def _collapse_spaces(parts: list[Out]) -> list[Out]:
    out: list[Out] = []
    for part in parts:
        if part.text == " " and (not out or out[-1].text == " "):
            continue
        out.append(part)
    while out and out[-1].text == " ":
        out.pop()
    return out


class _Run:
    """The rewriting of one run of tokens (no environments in it) into mathtext."""

    def __init__(self, tokens: list[Token], display: bool) -> None:
        self.tokens = tokens
        self.display = display  # a \frac outside any argument is drawn in display size
        self.depth = 0  # arguments we are inside

    def items(self, i: int, j: int) -> list[Out]:
        out: list[Out] = []
        while i < j:
            parts, i = self.item(i, j)
            out += parts
        return out

    def item(self, i: int, j: int) -> tuple[list[Out], int]:
        """One item at i (a token with its arguments) and the index after it."""
        tok = self.tokens[i]
        text = tok.text
        if tok.is_space:
            return [Out(" ", tok.start, tok.end)], i + 1
        if text in DROPPED:
            return [Out(" ", tok.start, tok.end)] if text == "$" else [], i + 1
        if text == "{":
            k = min(group_end(self.tokens, i), j)
            return [_mark("{", tok), *self.items(i + 1, k), *self.closing(k, j)], k + 1
        if text in ("^", "_"):
            if self.next_index(i + 1, j) >= j:
                return [Out(text, tok.start, tok.end)], i + 1
            arg, k = self.argument(i + 1, j)
            return [Out(text, tok.start, tok.end), *arg], k
        if text in TWO_ARGS:
            name = TWO_ARGS[text]
            if name == "\\frac" and text != "\\tfrac" and self.display and not self.depth:
                name = "\\dfrac"
            first, k = self.argument(i + 1, j)
            second, k = self.argument(k, j)
            return [Out(name, tok.start, tok.end), *first, *second], k
        if text in ONE_ARG:
            name = ONE_ARG[text]
            head = [Out(name, tok.start, tok.end)] if name else []
            k = i + 1
            if text == "\\sqrt":
                root, k = self.root(k, j)
                head += root
            arg, k = self.argument(k, j)
            if text == "\\substack":  # the one place mathtext reads `\\\\` itself
                rows = {t.start for t in self.tokens[i:k] if t.text == "\\\\"}
                arg = [Out("\\\\", p.start, p.end) if p.start in rows else p for p in arg]
            return [*head, *arg], k
        if text in TEXT_ARG:
            return self.raw_text(TEXT_ARG[text], i, j)
        if text in ARROWS:
            arg, k = self.argument(i + 1, j)
            return [
                Out("\\overset", tok.start, tok.end),
                *arg,
                _mark("{" + ARROWS[text] + "}", tok),
            ], k
        if text in ("\\left", "\\right"):
            k = self.next_index(i + 1, j)
            if k >= j:
                return [Out(text, tok.start, tok.end)], i + 1
            delim = self.tokens[k]
            return [
                Out(text, tok.start, tok.end),
                Out(DELIMITERS.get(delim.text, delim.text), delim.start, delim.end),
            ], k + 1
        if text == "\\not":
            k = self.next_index(i + 1, j)
            if k < j and self.tokens[k].text in NEGATED:
                return [
                    Out(NEGATED[self.tokens[k].text], tok.start, self.tokens[k].end, True)
                ], k + 1
        if text in ("\\bmod", "\\mod"):
            return [Out("\\ \\mathrm{mod}\\ ", tok.start, tok.end, False)], i + 1
        if text == "\\pmod":
            arg, k = self.argument(i + 1, j)
            return [_mark("\\ (\\mathrm{mod}\\ ", tok), *arg, _mark(")", tok)], k
        if text in ("\\label", "\\tag"):
            _, k = self.argument(i + 1, j)
            return [], k
        replaced = ALIASES.get(text, text)
        symbol = text not in SPACING and text not in "{}"
        return ([Out(replaced, tok.start, tok.end, symbol)] if replaced else []), i + 1

    def next_index(self, i: int, j: int) -> int:
        while i < j and self.tokens[i].is_space:
            i += 1
        return i

    def closing(self, k: int, j: int) -> list[Out]:
        """The `}` at k; none for a group never closed, so the preview says so."""
        return [_mark("}", self.tokens[k])] if k < j else []

    def argument(self, i: int, j: int) -> tuple[list[Out], int]:
        """The argument at i, always braced: `\\frac {2H} g` gives `{2H}` then `{g}`."""
        k = self.next_index(i, j)
        if k >= j:
            return [], j  # missing: mathtext then says what it expected
        self.depth += 1
        try:
            parts, after = self.item(k, j)
        finally:
            self.depth -= 1
        if self.tokens[k].text == "{":
            return parts, after
        at = self.tokens[k]
        return [Out("{", at.start, at.start), *parts, Out("}", at.end, at.end)], after

    def root(self, i: int, j: int) -> tuple[list[Out], int]:
        """`[n]` after `\\sqrt`, its contents drawn but not markable."""
        k = self.next_index(i, j)
        if k >= j or self.tokens[k].text != "[":
            return [], i
        for m in range(k + 1, j):
            if self.tokens[m].text == "]":
                inner = [Out(p.text, p.start, p.end) for p in self.items(k + 1, m)]
                return [_mark("[", self.tokens[k]), *inner, _mark("]", self.tokens[m])], m + 1
        return [], i

    def raw_text(self, name: str, i: int, j: int) -> tuple[list[Out], int]:
        """`\\text{...}`-like: the braced words kept as they are (no spaces in operator names)."""
        tok = self.tokens[i]
        k = self.next_index(i + 1, j)
        if k >= j:
            return [Out(name, tok.start, tok.end)], i + 1
        if self.tokens[k].text == "{":
            end = min(group_end(self.tokens, k), j)
            words = "".join(t.text for t in self.tokens[k + 1 : end])
        else:
            end, words = k, self.tokens[k].text
        if name == "\\operatorname":
            words = "".join(words.split())
        last = self.tokens[min(end, j - 1)].end
        return [Out(f"{name}{{{words}}}", tok.start, last)], end + 1


def _mark(text: str, tok: Token) -> Out:
    return Out(text, tok.start, tok.end)
