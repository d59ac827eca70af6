"""LaTeX to a picture (PNG or SVG) with matplotlib's mathtext, for the preview and the clipboard.

`mathpad.latex.normalize` rewrites everyday LaTeX into mathtext's dialect and splits out
the environments mathtext lacks (matrices, cases, aligned...). Here each run of math is
drawn by mathtext in Computer Modern (chosen through FontProperties, never through global
rcParams), and environments are laid out from the pictures of their cells: rows on common
baselines, columns aligned, delimiters drawn at the block's height and centred on the math
axis as TeX does. When something still cannot be drawn, `RenderError` says why in a
sentence, so the window can show that while the LaTeX itself stays usable. No pyplot: the
shared parser is guarded by a lock, so rendering on a worker thread is safe.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser
from PIL import Image, ImageDraw

from mathpad.errors import InputError
from mathpad.latex.normalize import Env, Fenced, Math, Seq, normalize

_parser = MathTextParser("agg")
_lock = threading.Lock()
# A symbol missing from the font is drawn as a box; that is the notice, not a log line.
logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)


def _knows_phantom() -> bool:
    """Whether this matplotlib's mathtext has `\\phantom` (3.11 and later), which marks need."""
    try:
        _parser.parse("$\\phantom{x}$", dpi=72, prop=FontProperties(math_fontfamily="cm"))
    except ValueError:
        return False
    return True


MARKS_SUPPORTED = _knows_phantom()
_REASON = re.compile(r"Parse\w*Exception: (?P<msg>.*?)(?:, found .*?)?\s+\(at char (?P<at>\d+)\)")
ACCENT = "#d9480f"  # doubtful symbols: an orange that reads on light and dark themes
FONT_FAMILY = "cm"  # mathtext's Computer Modern
_AXIS = 0.25  # height of the math axis above the baseline, in em (TeX's cmsy10: 0.25)
_STRUT = (0.84, 0.36)  # a row's least height and depth in arrays, in em (TeX's \strut)
_BINARY = frozenset("+-*") | {"\\pm", "\\mp", "\\times", "\\cdot", "\\div", "\\circ", "\\cup"}
_RELATION = frozenset("=<>") | {"\\leq", "\\geq", "\\neq", "\\approx", "\\equiv", "\\sim"}
# What mathtext's spacing commands are worth, in em: a run made only of them draws no glyph,
# and a picture ends at its last glyph, so the layout adds their width itself.
_SPACES = {"\\,": 1 / 6, "\\:": 2 / 9, "\\;": 5 / 18, "\\ ": 1 / 3, "\\enspace": 0.5}
_SPACES |= {"\\quad": 1.0, "\\qquad": 2.0, "\\!": -1 / 6, " ": 0.0}
# Extra space between rows, in em: TeX's \jot for displays, \arraystretch 1.2 for cases.
_ROW_GAPS = {name: 0.3 for name in ("aligned", "align", "split", "gathered", "gather", "eqnarray")}
_ROW_GAPS |= {"cases": 0.25, "dcases": 0.25, "rcases": 0.25}
_FENCES = {
    "pmatrix": ("(", ")"),
    "bmatrix": ("[", "]"),
    "Bmatrix": ("\\{", "\\}"),
    "vmatrix": ("|", "|"),
    "Vmatrix": ("\\Vert", "\\Vert"),
    "cases": ("\\{", "."),
    "dcases": ("\\{", "."),
    "rcases": (".", "\\}"),
}


class RenderError(InputError):
    """mathtext cannot draw this LaTeX; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The preview cannot show this LaTeX: {reason}.")
        self.reason = reason


@dataclass(frozen=True)
class Rendered:
    """A PNG and its size in pixels."""

    png: bytes
    width: int
    height: int


@dataclass
class _Block:
    """A laid-out picture: coverage of all ink and of marked ink (0-1), and its baseline row.

    `items` replays the layout as vectors for SVG: ("math", x, baseline, text, size) and
    ("shape", points).
    """

    ink: np.ndarray
    marked: np.ndarray
    baseline: int
    items: list[tuple] = field(default_factory=list)

    @property
    def width(self) -> int:
        return self.ink.shape[1]

    @property
    def depth(self) -> int:
        return self.ink.shape[0] - self.baseline


@dataclass(frozen=True)
class _Style:
    size: float  # font size in points
    dpi: float
    marks: tuple[tuple[int, int], ...]
    source: str = ""  # the LaTeX as written: error messages quote it, not the rewrite

    @property
    def em(self) -> float:
        return self.size * self.dpi / 72

    def px(self, ems: float) -> int:
        return round(ems * self.em)


def render_png(
    latex: str,
    *,
    fontsize: float = 20.0,
    dpi: float = 100.0,
    color: str | tuple[float, ...] = "black",
    background: str | tuple[float, ...] | None = None,
    marks: Sequence[tuple[int, int]] = (),
    accent: str | tuple[float, ...] = ACCENT,
) -> Rendered:
    """Draw `latex` (its lines stacked); `dpi` carries the screen's scale.

    `marks` are (start, end) spans of `latex` whose symbols are drawn in `accent`. The
    method: each run of math is drawn twice by mathtext with the same layout, once whole
    and once with the marked symbols as `\\phantom`s; the difference is the marked ink.
    Its limits: only symbols are marked (characters and commands without arguments, such
    as `x`, `2`, `\\alpha`, `\\sum`); a span over a structure (`\\frac`, `\\sqrt`, a brace
    or `^`) colours the symbols inside it, never fraction bars, radicals or delimiters;
    text inside `\\text{}` and `\\operatorname{}` is coloured whole or not at all; mathtext
    before matplotlib 3.11 has no `\\phantom`, and there (MARKS_SUPPORTED False) the picture
    is drawn without marks.
    `background` None gives a transparent PNG. Raises `RenderError` for what cannot be drawn,
    including empty input.
    """
    block = _page(latex, _Style(fontsize, dpi, tuple(marks), latex))
    image = _colorize(block, color, accent, background)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Rendered(buffer.getvalue(), image.width, image.height)


def render_svg(
    latex: str, *, fontsize: float = 20.0, color: str | tuple[float, ...] = "black"
) -> bytes:
    """The same layout as `render_png` at 72 dpi (1 px = 1 pt), as an SVG with glyph outlines."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.patches import Polygon

    block = _page(latex, _Style(fontsize, 72.0, (), latex))
    height, width = block.ink.shape
    figure = Figure(figsize=(width / 72, height / 72), dpi=72)
    FigureCanvasSVG(figure)
    for item in block.items:
        if item[0] == "math":
            _, x, baseline, text, size = item
            figure.text(
                x / width,
                1 - baseline / height,
                f"${text}$",
                color=color,
                fontproperties=FontProperties(size=size, math_fontfamily=FONT_FAMILY),
                va="baseline",
            )
        else:
            points = [(x / width, 1 - y / height) for x, y in item[1]]
            figure.add_artist(
                Polygon(points, closed=True, color=color, lw=0, transform=figure.transFigure)
            )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", transparent=True)
    return buffer.getvalue()


def _page(latex: str, style: _Style) -> _Block:
    """All lines of `latex` stacked, left-aligned, with a margin."""
    lines = normalize(latex)
    if not lines:
        raise RenderError("there is nothing to render")
    blocks = [_seq(line, style) for line in lines]
    gap, padding = style.px(0.4), style.px(0.2)
    width = max(b.width for b in blocks) + 2 * padding
    height = sum(b.ink.shape[0] for b in blocks) + gap * (len(blocks) - 1) + 2 * padding
    page = _empty(height, width, padding)
    top = padding
    for block in blocks:
        _paste(page, block, padding, top)
        top += block.ink.shape[0] + gap
    return page


def _empty(height: int, width: int, baseline: int) -> _Block:
    zeros = np.zeros((height, width), np.float32)
    return _Block(zeros, zeros.copy(), baseline)


def _paste(into: _Block, block: _Block, x: int, top: int) -> None:
    """Add `block` into `into` with its top-left corner at (x, top)."""
    h, w = block.ink.shape
    region = (slice(top, top + h), slice(x, x + w))
    into.ink[region] = np.maximum(into.ink[region], block.ink)
    into.marked[region] = np.maximum(into.marked[region], block.marked)
    for item in block.items:
        if item[0] == "math":
            into.items.append((item[0], item[1] + x, item[2] + top, *item[3:]))
        else:
            into.items.append(("shape", [(px + x, py + top) for px, py in item[1]]))


def _row(blocks: Sequence[_Block], gaps: Sequence[int]) -> _Block:
    """Blocks side by side on one baseline; gaps[i] pixels before block i."""
    above = max((b.baseline for b in blocks), default=0)
    below = max((b.depth for b in blocks), default=0)
    out = _empty(above + below, sum(b.width for b in blocks) + sum(gaps), above)
    x = 0
    for block, gap in zip(blocks, gaps, strict=True):
        x += gap
        _paste(out, block, x, above - block.baseline)
        x += block.width
    return out


def _seq(seq: Seq, style: _Style) -> _Block:
    """A sequence of runs and environments on one baseline, spaced as TeX would space them."""
    blocks: list[_Block] = []
    gaps: list[int] = []
    previous = None
    for n, piece in enumerate(seq):
        if isinstance(piece, Math) and piece.blank:
            continue
        space = style.px(_trailing_space(previous)) if previous is not None else 0
        if isinstance(piece, Math) and all(p.text in _SPACES for p in piece.parts):
            blocks.append(_empty(0, 0, 0))
            gaps.append(space)
        elif isinstance(piece, Math):
            blocks.append(_math(piece, style, after_block=n > 0))
            relation = previous is not None and _ends(previous, _RELATION)
            gaps.append(space + (style.px(0.17) if relation else 0))
        else:
            blocks.append(_env(piece, style) if isinstance(piece, Env) else _fenced(piece, style))
            spaced = previous is not None and _ends(previous, _RELATION | _BINARY)
            gaps.append(space + (style.px(0.28 if spaced else 0.15) if previous is not None else 0))
        previous = piece
    return _row(blocks, gaps) if blocks else _empty(0, 0, 0)


def _trailing_space(piece: object) -> float:
    """The width in em of the spacing commands a run ends with (its picture stops before them)."""
    if not isinstance(piece, Math):
        return 0.0
    width = 0.0
    for part in reversed(piece.parts):
        if part.text not in _SPACES:
            break
        width += _SPACES[part.text]
    return width


def _ends(piece: object, symbols: frozenset[str]) -> bool:
    """Whether a run ends with one of `symbols` (mathtext drops the space after it)."""
    if not isinstance(piece, Math):
        return False
    texts = [p.text for p in piece.parts if p.text.strip()]
    return bool(texts) and texts[-1] in symbols


def _math(run: Math, style: _Style, *, after_block: bool = False) -> _Block:
    """One run drawn by mathtext; marked symbols found by a second, phantom, drawing."""
    first = next((p.text for p in run.parts if p.text.strip()), "")
    prefix = "{}" if after_block and first in _BINARY else ""  # keep a binary + spaced
    marked = [
        MARKS_SUPPORTED and p.symbol and _overlaps(p.start, p.end, style.marks) for p in run.parts
    ]
    whole = prefix + "".join(
        f"{{{{{{}}{p.text}{{}}}}}}" if m else p.text for p, m in zip(run.parts, marked, strict=True)
    )
    ink, baseline = _mathtext(whole, run, style)
    block = _Block(ink, np.zeros_like(ink), baseline, [("math", 0, baseline, whole, style.size)])
    if any(marked):
        rest = prefix + "".join(
            f"{{\\phantom{{{{}}{p.text}{{}}}}}}" if m else p.text
            for p, m in zip(run.parts, marked, strict=True)
        )
        unmarked, _ = _mathtext(rest, run, style)
        h, w = (min(a, b) for a, b in zip(ink.shape, unmarked.shape, strict=True))
        block.marked = ink.copy()
        block.marked[:h, :w] = np.clip(ink[:h, :w] - unmarked[:h, :w], 0, 1)
    return block


def _overlaps(start: int, end: int, marks: tuple[tuple[int, int], ...]) -> bool:
    return any(s < end and start < e for s, e in marks)


def _mathtext(text: str, run: Math, style: _Style) -> tuple[np.ndarray, int]:
    """mathtext's coverage of `text` (0-1) and its baseline row."""
    prop = FontProperties(size=style.size, math_fontfamily=FONT_FAMILY)
    try:
        with _lock:
            parsed = _parser.parse(f"${text}$", dpi=style.dpi, prop=prop)
    except ValueError as exc:
        raise RenderError(_plain_reason(str(exc), run, style.source)) from None
    image = np.asarray(parsed.image, dtype=np.float32) / 255
    return image, round(image.shape[0] - parsed.depth)


def _plain_reason(message: str, run: Math, source: str) -> str:
    """One short sentence out of pyparsing's multi-line message, placed in the source."""
    line = run.text
    match = _REASON.search(message)
    if match is None:
        return "mathtext does not support it"
    msg, at = match["msg"], int(match["at"])
    for part in run.parts:  # name commands as the user wrote them (\frac, not \dfrac)
        written = source[part.start : part.end]
        if part.text.startswith("\\") and written.startswith("\\") and written != part.text:
            msg = re.sub(re.escape(part.text) + r"(?![A-Za-z])", written.replace("\\", "\\\\"), msg)
    unknown = re.match(r"Unknown symbol: (\S+)", msg)
    if unknown:
        return f"mathtext does not know {unknown[1]}"
    if msg.startswith("Expected end of text"):  # pyparsing lost the place: guess from braces
        braces = re.sub(r"\\[{}]", "", line)
        if braces.count("}") > braces.count("{"):
            return "a } has no opening {"
        if braces.count("{") > braces.count("}"):
            return "a { is never closed"
        return "mathtext cannot read it"
    if msg.startswith("Expected end_group"):
        return "a { is never closed"
    if at >= len(line):
        return "the expression ends before it is complete"
    source_at = _source_position(run, at)
    if len(msg) <= 60:
        return f"{msg[0].lower()}{msg[1:]} at character {source_at + 1}"
    return f"mathtext cannot read it from character {source_at + 1} ({line[at : at + 12]!r})"


def _source_position(run: Math, at: int) -> int:
    """The source offset of character `at` of the run's mathtext."""
    offset = 0
    for part in run.parts:
        if offset + len(part.text) > at:
            return part.start
        offset += len(part.text)
    return run.parts[-1].end if run.parts else 0


def _env(env: Env, style: _Style) -> _Block:
    """An environment laid out from its cells, centred on the math axis."""
    small = env.name in ("smallmatrix", "subarray")
    cell_style = _Style(style.size * 0.7, style.dpi, style.marks, style.source) if small else style
    cells = [[_seq(cell, cell_style) for cell in row] for row in env.rows] or [[_empty(0, 0, 0)]]
    columns = max(len(row) for row in cells)
    for row in cells:
        row += [_empty(0, 0, 0)] * (columns - len(row))
    align, gaps = _columns(env, columns, cell_style)
    widths = [max(row[c].width for row in cells) for c in range(columns)]
    strut_up, strut_down = (cell_style.px(s) for s in _STRUT)
    extra = cell_style.px(_ROW_GAPS.get(env.name, 0.1))
    ups = [max(strut_up, *(b.baseline for b in row)) for row in cells]
    downs = [max(strut_down, *(b.depth for b in row)) for row in cells]
    height = sum(ups) + sum(downs) + extra * (len(cells) - 1)
    width = sum(widths) + sum(gaps)
    body = _empty(height, width, 0)
    top = 0
    for row, up, down in zip(cells, ups, downs, strict=True):
        x = 0
        for c, block in enumerate(row):
            x += gaps[c]
            slack = widths[c] - block.width
            shift = {"l": 0, "r": slack, "c": slack // 2}[align[c]]
            _paste(body, block, x + shift, top + up - block.baseline)
            x += widths[c]
        top += up + down + extra
    body.baseline = round(height / 2 + style.px(_AXIS))
    left, right = _FENCES.get(env.name, (".", "."))
    if left == "." and right == ".":
        return body
    return _delimited(body, left, right, style, pad=style.px(0.12))


def _columns(env: Env, count: int, style: _Style) -> tuple[str, list[int]]:
    """Each column's alignment (l, c, r) and the gap before it, in pixels."""
    name = env.name
    if name.startswith(("align", "split")):
        align = "".join("rl"[c % 2] for c in range(count))
        gaps = [0 if c % 2 or c == 0 else style.px(2.0) for c in range(count)]
        return align, gaps
    if name.startswith("eqnarray"):
        return ("rcl" * count)[:count], [0] + [style.px(0.3)] * (count - 1)
    if name.endswith("cases"):
        return "l" * count, [0] + [style.px(1.0)] * (count - 1)
    if name in ("gathered", "gather", "equation", "multline"):
        return "c" * count, [0] + [style.px(1.0)] * (count - 1)
    spec = (env.columns + "c" * count)[:count]
    return spec, [0] + [style.px(1.0)] * (count - 1)


def _fenced(fenced: Fenced, style: _Style) -> _Block:
    return _delimited(
        _seq(fenced.body, style), fenced.left, fenced.right, style, pad=style.px(0.08)
    )


def _delimited(body: _Block, left: str, right: str, style: _Style, *, pad: int) -> _Block:
    """`body` between delimiters as tall as it is, symmetric about the math axis."""
    axis = style.px(_AXIS)
    half = max(body.baseline - axis, body.depth + axis) + style.px(0.06)
    parts, gaps = [], []
    for n, name in enumerate((left, right)):
        if n == 1:
            parts.append(body)
            gaps.append(pad if left != "." else 0)
        shape = _delimiter(name, 2 * half, style, mirror=n == 1)
        if shape is not None:
            shape.baseline = half + axis
            parts.append(shape)
            gaps.append(pad if n == 1 else 0)
    if len(parts) == 1:
        return body
    if left == ".":
        gaps[0] = 0
    return _row(parts, gaps)


def _delimiter(name: str, height: int, style: _Style, *, mirror: bool) -> _Block | None:
    """A delimiter of `height` pixels, drawn as a polygon; None for the empty one (`.`)."""
    em = style.em
    thin, thick = 0.035 * em, 0.075 * em
    if name in ("(", ")"):
        width = min(0.3 * em + 0.04 * height, 0.6 * em)
        shapes = [_paren(width, height, thin, thick)]
    elif name in ("[", "]"):
        width = 0.3 * em
        rim = thin * 1.2
        shapes = [[(0, 0), (width, 0), (width, rim), (thick, rim)]]
        shapes[0] += [(thick, height - rim), (width, height - rim), (width, height), (0, height)]
    elif name in ("\\{", "\\}"):
        width = 0.45 * em
        shapes = _brace(width, height, thin, thick)
    elif name in ("|", "\\Vert", "\\|"):
        bar = thick * 0.8
        width = bar + (0.2 * em if name != "|" else 0)
        shapes = [[(x, 0), (x + bar, 0), (x + bar, height), (x, height)] for x in {0, width - bar}]
    elif name in ("\\langle", "\\rangle", "<", ">"):
        width = min(0.35 * em + 0.05 * height, 0.6 * em)
        shapes = [[(width, 0), (width + thin, thin), (thick + thin, height / 2)]]
        shapes[0] += [(width + thin, height - thin), (width, height), (0, height / 2)]
    else:
        return None
    return _shapes(shapes, width, height, mirror=mirror)


def _paren(width: float, height: float, thin: float, thick: float) -> list[tuple[float, float]]:
    """A left parenthesis: a crescent between two parabolas, thickest in the middle."""
    s = np.linspace(-1, 1, 41)
    outer = width * 0.85 * s**2
    inner = outer + thin + (thick - thin) * (1 - s**2)
    ys = (s + 1) / 2 * height
    return [*zip(outer, ys, strict=True), *zip(inner[::-1], ys[::-1], strict=True)]


def _brace(
    width: float, height: float, thin: float, thick: float
) -> list[list[tuple[float, float]]]:
    """A left brace: two strokes (upper and lower half), thickest on the stems, thin at the tips."""
    mid, hook, half = width / 2, min(0.45 * width, height / 6), height / 2
    t = np.linspace(0, 1, 16)[:, None]

    def bezier(*points: tuple[float, float]) -> np.ndarray:
        p0, p1, p2, p3 = (np.array(p) for p in points)
        return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3

    line = np.vstack(
        [
            bezier((width, 0), (mid, 0), (mid, 0), (mid, hook)),
            bezier((mid, half - hook), (mid, half), (mid, half), (0, half)),
        ]
    )
    ys = line[:, 1] / half
    thickness = 1.4 * thin + (thick - 1.4 * thin) * np.clip(np.minimum(ys, 1 - ys) * 10, 0, 1)
    tangent = np.gradient(line, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    side = normal * thickness[:, None] / 2
    upper = [*map(tuple, line - side), *map(tuple, (line + side)[::-1])]
    lower = [(x, height - y) for x, y in upper]
    return [upper, lower]


def _shapes(
    shapes: list[list[tuple[float, float]]], width: float, height: int, *, mirror: bool
) -> _Block:
    """Polygons rasterized with 4x supersampling, as a block with a little side margin."""
    scale, margin = 4, 1
    w = int(np.ceil(width)) + 2 * margin
    canvas = Image.new("L", (w * scale, height * scale), 0)
    draw = ImageDraw.Draw(canvas)
    placed = []
    for shape in shapes:
        points = [((width - x if mirror else x) + margin, y) for x, y in shape]
        placed.append(points)
        draw.polygon([(x * scale, y * scale) for x, y in points], fill=255)
    small = canvas.resize((w, height), Image.Resampling.BOX)
    ink = np.asarray(small, dtype=np.float32) / 255
    return _Block(ink, np.zeros_like(ink), 0, [("shape", points) for points in placed])


def _colorize(
    block: _Block,
    color: str | tuple[float, ...],
    accent: str | tuple[float, ...],
    background: str | tuple[float, ...] | None,
) -> Image.Image:
    """Ink of `color` (marked ink of `accent`) with its coverage, over `background` or nothing."""
    cover = block.ink[..., None]
    share = np.divide(block.marked, block.ink, out=np.zeros_like(block.ink), where=block.ink > 0)
    share = np.clip(share, 0, 1)[..., None]
    ink = np.array(to_rgba(color)) * 255 * (1 - share) + np.array(to_rgba(accent)) * 255 * share
    if background is None:
        rgba = np.concatenate([ink[..., :3], cover * ink[..., 3:]], axis=-1)
    else:
        paper = np.array(to_rgba(background)) * 255
        rgba = paper + (ink - paper) * cover
    return Image.fromarray(np.round(rgba).astype(np.uint8), "RGBA")
