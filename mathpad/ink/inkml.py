"""InkML as MathWriting, CROHME, Windows Ink and OneNote write it: the one place ink files
are validated.

    <ink xmlns="http://www.w3.org/2003/InkML">
      <annotation type="normalizedLabel">x^{2}</annotation>
      <traceFormat><channel name="X"/><channel name="Y"/><channel name="T"/></traceFormat>
      <trace>901.7 479.2 0,900.5 482.8 12, ...</trace>
    </ink>

Points are separated by commas and their values by whitespace. Without a `traceFormat`
a point is `x y t` or `x y`; with one (the first in the file, also inside `definitions` /
`context` / `inkSource`, as OneNote and Office write it), its channels may come in any
order; X and Y are required and T (time) and F (force, i.e. pressure) are read when
present, other channels skipped. Values may carry InkML's qualifiers, as Windows Ink and
OneNote write them: `!` an explicit value, `'` a first difference (from the channel's
previous value), `"` a second difference (from its previous first difference); a value
without one is read as the channel's previous value was, and qualifiers and signs may run
numbers together (`10'5-3"2`); `#1F` is a hexadecimal value. Not read, and named in the
error: intermittent channels, and the values `T`, `F`, `*` and `?`.
Traces nested in trace groups (CROHME) are read too; only the root's own annotations are
kept. The parser is expat driven by hand: it streams, so a million-point file needs no
element tree, and it refuses entity declarations, the one XML feature that can make a
small file expand without bound.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from mathpad.errors import InputError
from mathpad.files import read_limited, write_atomic
from mathpad.ink.strokes import Ink, Stroke

INKML_NAMESPACE = "http://www.w3.org/2003/InkML"
MAX_INKML_BYTES = 128 * 2**20  # ~5 million points; a handwritten formula is a few KiB
MAX_TRACES = 100_000  # a page of handwriting has hundreds
MAX_MAGNITUDE = 1e15  # beyond any device's units or millisecond clock; keeps extents finite
MIN_EXTENT = 1e-6  # units: a drawing less wide and high than this (but not a dot) is not ink
_WHOLE_NUMBER_TAIL = re.compile(r"\.0(?=[ ,]|$)")
_MARKS = "!'\"#*?TF"  # qualifiers and non-numbers: a trace holding any needs `_qualified`
_RUN_TOGETHER = re.compile(r"[0-9.][+-]")  # '7-2': looked for only when the plain read fails
_VALUE = re.compile(
    r"\s*(?P<qualifier>[!'\"]?)\s*(?P<value>[+-]?\s*(?:#[0-9A-Fa-f]+|(?:\d+\.?\d*|\.\d+)"
    r"(?:[eE][+-]?\d+)?)|[TF*?])\s*"
)


class _Malformed(Exception):
    """Raised inside the expat handlers; turned into an InputError naming the source."""


class _Reader:
    """Collects annotations, the channel list and the text of every trace."""

    def __init__(self) -> None:
        self.annotations: dict[str, str] = {}
        self.channels: list[str] | None = None
        self.traces: list[str] = []
        self._path: list[str] = []
        self._text: list[str] | None = None
        self._annotation_type = ""
        self._in_format = False  # inside the first traceFormat, the one that counts
        self.intermittent: list[str] = []
        self._in_intermittent = False

    def feed(self, data: str | bytes) -> None:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        parser.EntityDeclHandler = self._entity
        parser.buffer_text = True
        parser.Parse(data, True)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = name.rpartition(" ")[2]
        if not self._path and tag != "ink":
            raise _Malformed(f"the root element is <{tag}>, not InkML's <ink>")
        self._path.append(tag)
        if tag == "trace":
            if len(self.traces) >= MAX_TRACES:
                raise _Malformed(f"it has more than {MAX_TRACES:,} traces")
            self._text = []
        elif tag == "annotation" and len(self._path) == 2:
            self._annotation_type = attributes.get("type", "")
            self._text = []
        elif tag == "traceFormat" and self.channels is None:
            self.channels, self._in_format = [], True
        elif tag == "intermittentChannels" and self._in_format:
            self._in_intermittent = True
        elif tag == "channel" and self._in_format and self.channels is not None:
            name = attributes.get("name", "")
            (self.intermittent if self._in_intermittent else self.channels).append(name)

    def _end(self, name: str) -> None:
        tag = self._path.pop()
        if tag == "traceFormat":
            self._in_format = False
        elif tag == "intermittentChannels":
            self._in_intermittent = False
        if self._text is not None and tag in ("trace", "annotation"):
            text = "".join(self._text)
            if tag == "trace":
                self.traces.append(text)
            else:
                self.annotations[self._annotation_type] = text
            self._text = None

    def _characters(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def _entity(self, name: str, *_: object) -> None:
        raise _Malformed(f"it declares the XML entity {name!r}, which ink files never need")


def read_inkml(path: str | os.PathLike[str]) -> Ink:
    """Read an ink file, refusing oversized files before reading them into memory."""
    path = Path(path)
    data = read_limited(path, MAX_INKML_BYTES, "drawing (InkML)")  # no FIFO, device or huge file
    return parse_inkml(data, source=str(path))


def parse_inkml(data: str | bytes, source: str = "<memory>") -> Ink:
    """Parse InkML text; every problem becomes an InputError naming `source`."""
    if len(data) > MAX_INKML_BYTES:
        raise InputError(f"{source} is larger than {MAX_INKML_BYTES // 2**20} MiB of InkML")
    reader = _Reader()
    try:
        reader.feed(data)
    except expat.ExpatError as error:
        message = f"{source} is not well-formed XML ({error}); is it an InkML file?"
        raise InputError(message) from None
    except LookupError as error:  # an encoding Python does not know
        raise InputError(
            f"{source} declares a text encoding Python does not know ({error}): "
            "save it again as UTF-8"
        ) from None
    except _Malformed as error:
        raise InputError(f"{source} cannot be read as ink: {error}") from None
    if not reader.traces:
        raise InputError(f"{source} has no <trace> elements, so there is no ink to read")
    if reader.channels is not None and not {"X", "Y"} <= set(reader.channels):
        raise InputError(f"{source}: its <traceFormat> lacks the X and Y channels")
    try:
        strokes = tuple(
            _stroke(i, text, reader.channels, reader.intermittent)
            for i, text in enumerate(reader.traces)
        )
    except _Malformed as error:
        raise InputError(f"{source}: {error}") from None
    ink = Ink(strokes, reader.annotations)
    xmin, ymin, xmax, ymax = ink.bounds()
    if 0 < max(xmax - xmin, ymax - ymin) < MIN_EXTENT:
        raise InputError(
            f"{source}: the drawing is only {max(xmax - xmin, ymax - ymin):.3g} units across, "
            f"too small to draw (at least {MIN_EXTENT:g} is needed): export it again in "
            "device or pixel units"
        )
    return ink


def _stroke(index: int, text: str, channels: list[str] | None, intermittent: list[str]) -> Stroke:
    """One trace's text to a stroke; `index` only names the trace in messages."""
    where = f"trace {index + 1}"
    qualified = any(mark in text for mark in _MARKS)
    try:
        return _read_stroke(where, text, channels, intermittent, qualified)
    except _Malformed:
        if qualified or not _RUN_TOGETHER.search(text):
            raise
    return _read_stroke(where, text, channels, intermittent, qualified=True)


def _read_stroke(
    where: str, text: str, channels: list[str] | None, intermittent: list[str], qualified: bool
) -> Stroke:
    """`_stroke`, reading plain numbers with NumPy unless `qualified`."""
    points = _qualified(text, where) if qualified else None
    counts = list(map(len, points or map(str.split, text.split(","))))
    width = counts[0]
    if intermittent and channels is not None and max(counts) > len(channels):
        raise _Malformed(
            f"{where} uses the intermittent channels {', '.join(intermittent)}, "
            "which mathpad does not read"
        )
    if width == 0 or any(count != width for count in counts):
        bad = next(i for i, count in enumerate(counts) if count == 0 or count != width)
        if counts[bad] == 0:
            raise _Malformed(f"{where} has an empty point (point {bad + 1} of {len(counts)})")
        raise _Malformed(f"{where}, point {bad + 1} has {counts[bad]} values, point 1 has {width}")
    names = channels if channels is not None else ["X", "Y", "T"][:width]
    if width != len(names) or (channels is None and width < 2):
        expected = f"{len(names)} channels of its <traceFormat>" if channels else "'x y t' or 'x y'"
        raise _Malformed(f"{where} has {width} values per point; expected {expected}")
    if points is None:
        values = _numbers(text, len(counts) * width, where).reshape(-1, width)
    else:
        values = _decoded(points, where)
    wanted = [name for name in ("X", "Y", "T", "F") if name in names]
    used = values[:, [names.index(name) for name in wanted]]
    valid = np.abs(used) <= MAX_MAGNITUDE  # false for NaN too
    if not valid.all():
        point, column = np.argwhere(~valid)[0]
        raise _Malformed(
            f"{where}, point {point + 1}: {wanted[column]} is {used[point, column]}; "
            f"coordinates must be finite numbers below {MAX_MAGNITUDE:g}"
        )
    column = dict(zip(wanted, used.T, strict=True))
    t = column.get("T", np.zeros(len(values)))
    return Stroke(np.column_stack([column["X"], column["Y"], t]), column.get("F"))


def _qualified(text: str, where: str) -> list[list[tuple[str, str]]]:
    """Each point's (qualifier, value) pairs, values run together or not (see the doc)."""
    points = []
    for number, point in enumerate(text.split(",")):
        pairs, end = [], 0
        for match in _VALUE.finditer(point):
            if match.start() != end:
                break
            pairs.append((match["qualifier"], match["value"].replace(" ", "")))
            end = match.end()
        if end != len(point):
            bad = point[end:].split()[0] if point[end:].split() else point[end:]
            raise _Malformed(f"{where}, point {number + 1}: {bad!r} is not a number")
        points.append(pairs)
    return points


def _decoded(points: list[list[tuple[str, str]]], where: str) -> np.ndarray:
    """Explicit values from qualified ones: each channel keeps its qualifier, its previous
    value and its previous first difference (zero before it has one)."""
    width = len(points[0])
    modes, previous, step = ["!"] * width, [0.0] * width, [0.0] * width
    values = np.empty((len(points), width))
    for row, point in enumerate(points):
        for channel, (qualifier, text) in enumerate(point):
            if text in ("T", "F", "*", "?"):
                raise _Malformed(
                    f"{where}, point {row + 1} has the value {text!r}; mathpad reads numbers only"
                )
            number = float(int(text.lstrip("+-#"), 16)) if "#" in text else float(text)
            if "#" in text and text.startswith("-"):
                number = -number
            mode = modes[channel] = qualifier or modes[channel]
            if mode != "!" and row == 0:
                raise _Malformed(f"{where} begins with a difference ({mode}{text}), not a value")
            if mode == '"':
                step[channel] += number
                number = previous[channel] + step[channel]
            elif mode == "'":
                number = previous[channel] + number
            if row:
                step[channel] = number - previous[channel]
            previous[channel] = values[row, channel] = number
    return values


def _numbers(text: str, count: int, where: str) -> np.ndarray:
    """All values of a trace, parsed in C (a million points take a fraction of a second)."""
    flat = text.replace(",", " ")
    try:
        values = np.fromstring(flat, sep=" ")
    except ValueError:  # NumPy 2 raises on a bad token; NumPy 1 stops short (checked below)
        values = np.empty(0)
    if len(values) != count:
        bad = next((token for token in flat.split() if not _is_number(token)), "a value")
        raise _Malformed(f"{where}: {bad!r} is not a number")
    return values


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def write_inkml(ink: Ink, path: str | os.PathLike[str]) -> None:
    """Write `ink` atomically: a temporary file in the same folder, then a rename, so a
    crash or a full disk never leaves a half-written drawing in place of a good one."""
    path = Path(path)
    if ink.is_empty:
        raise InputError(f"nothing to save to {path}: the drawing is empty")
    write_atomic(path, to_inkml(ink).encode("utf-8"))


def to_inkml(ink: Ink) -> str:
    """The InkML text for `ink`, in MathWriting's layout; pressure is written as channel F
    when every stroke has it (a drawing mixing pen and mouse strokes drops it)."""
    with_pressure = all(stroke.pressure is not None for stroke in ink.strokes)
    channels = ["X", "Y", "T", "F"] if with_pressure else ["X", "Y", "T"]
    lines = [f'<ink xmlns="{INKML_NAMESPACE}">']
    lines += [
        f"<annotation type={quoteattr(key)}>{escape(value)}</annotation>"
        for key, value in ink.annotations.items()
    ]
    lines.append("<traceFormat>")
    lines += [f'<channel name="{name}" type="decimal"/>' for name in channels]
    lines.append("</traceFormat>")
    for index, stroke in enumerate(ink.strokes):
        values = stroke.points
        if with_pressure:
            values = np.column_stack([values, stroke.pressure])
        lines.append(f'<trace id="{index}">{_trace_text(values)}</trace>')
    lines.append("</ink>\n")
    return "\n".join(lines)


def _trace_text(values: np.ndarray) -> str:
    """Shortest round-trip decimals, integers without '.0', as MathWriting writes them."""
    words = iter(map(repr, values.ravel().tolist()))
    points = map(" ".join, zip(*[words] * values.shape[1], strict=True))
    return _WHOLE_NUMBER_TAIL.sub("", ",".join(points))
