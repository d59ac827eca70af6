"""LaTeX to PNG bytes with matplotlib's mathtext, for the preview and the clipboard.

mathtext is a subset of LaTeX: environments (`\\begin{aligned}`) and many commands are
not in it. When it cannot render, `RenderError` says why in a sentence, so the window can
show that instead of a picture while the LaTeX itself stays usable. No pyplot: the
parser is used directly (its shared parser is guarded by a lock), so rendering on a
worker thread is safe.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties
from matplotlib.mathtext import MathTextParser
from PIL import Image

from mathpad.errors import InputError
from mathpad.latex import clean

_parser = MathTextParser("agg")
_lock = threading.Lock()
# A symbol missing from the font is drawn as a box; that is the notice, not a log line.
logging.getLogger("matplotlib.mathtext").setLevel(logging.ERROR)

_REASON = re.compile(r"Parse\w*Exception: (?P<msg>.*?)(?:, found .*?)?\s+\(at char (?P<at>\d+)\)")


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


def render_png(
    latex: str,
    *,
    fontsize: float = 20.0,
    dpi: float = 100.0,
    color: str | tuple[float, ...] = "black",
    background: str | tuple[float, ...] | None = None,
) -> Rendered:
    """Render each line of `latex` and stack them; `dpi` carries the screen's scale.

    `background` None gives a transparent PNG. Raises `RenderError` for what mathtext
    cannot parse, including empty input.
    """
    lines = clean(latex).splitlines()
    if not lines:
        raise RenderError("there is nothing to render")
    prop = FontProperties(size=fontsize)
    alphas = [_render_line(line, prop, dpi) for line in lines]
    em = fontsize * dpi / 72  # the font size in pixels: margins scale with the picture
    gap, padding = round(0.4 * em), round(0.2 * em)
    width = max(a.shape[1] for a in alphas) + 2 * padding
    height = sum(a.shape[0] for a in alphas) + gap * (len(alphas) - 1) + 2 * padding
    alpha = np.zeros((height, width), np.uint8)
    top = padding
    for line_alpha in alphas:
        h, w = line_alpha.shape
        alpha[top : top + h, padding : padding + w] = line_alpha
        top += h + gap
    image = _colorize(alpha, color, background)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Rendered(buffer.getvalue(), width, height)


def _render_line(line: str, prop: FontProperties, dpi: float) -> np.ndarray:
    """The coverage (0-255) of one line of math, as a 2-D uint8 array."""
    try:
        with _lock:
            parsed = _parser.parse(f"${line}$", dpi=dpi, prop=prop)
    except ValueError as exc:
        raise RenderError(_plain_reason(str(exc), line)) from None
    return np.asarray(parsed.image, dtype=np.uint8)


def _plain_reason(message: str, line: str) -> str:
    """One short sentence out of pyparsing's multi-line message."""
    match = _REASON.search(message)
    if match is None:
        return "mathtext does not support it"
    msg, at = match["msg"], int(match["at"])
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
    if len(msg) <= 60:
        return f"{msg[0].lower()}{msg[1:]} at character {at + 1}"
    return f"mathtext cannot read it from character {at + 1} ({line[at : at + 12]!r})"


def _colorize(
    alpha: np.ndarray, color: str | tuple[float, ...], background: str | tuple[float, ...] | None
) -> Image.Image:
    """Ink of `color` with coverage `alpha`, over `background` or over nothing."""
    ink = np.array(to_rgba(color)) * 255
    rgba = np.empty((*alpha.shape, 4), np.float64)
    cover = alpha[..., None] / 255.0
    if background is None:
        rgba[..., :3] = ink[:3]
        rgba[..., 3] = cover[..., 0] * ink[3]
    else:
        paper = np.array(to_rgba(background)) * 255
        rgba[...] = paper + (ink - paper) * cover
    return Image.fromarray(np.round(rgba).astype(np.uint8), "RGBA")
