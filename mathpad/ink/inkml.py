"""InkML as MathWriting stores it: the one place ink files are validated.

    <ink xmlns="http://www.w3.org/2003/InkML">
      <annotation type="normalizedLabel">x^{2}</annotation>
      <traceFormat><channel name="X"/><channel name="Y"/><channel name="T"/></traceFormat>
      <trace>901.7 479.2 0,900.5 482.8 12, ...</trace>
    </ink>

Points are separated by commas and their values by whitespace. Without a `traceFormat`
a point is `x y t` or `x y`; with one, the channels X and Y are required and T (time) and
F (force, i.e. pressure) are read when present. Traces nested in trace groups (CROHME) are
read too; only the root's own annotations are kept. The parser is expat driven by hand:
it streams, so a million-point file needs no element tree, and it refuses entity
declarations, the one XML feature that can make a small file expand without bound.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from mathpad.errors import InputError
from mathpad.files import write_atomic
from mathpad.ink.strokes import Ink, Stroke

INKML_NAMESPACE = "http://www.w3.org/2003/InkML"
MAX_INKML_BYTES = 128 * 2**20  # ~5 million points; a handwritten formula is a few KiB
MAX_TRACES = 100_000  # a page of handwriting has hundreds
MAX_MAGNITUDE = 1e15  # beyond any device's units or millisecond clock; keeps extents finite
_WHOLE_NUMBER_TAIL = re.compile(r"\.0(?=[ ,]|$)")


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
        elif tag == "channel" and self._in_format and self.channels is not None:
            self.channels.append(attributes.get("name", ""))

    def _end(self, name: str) -> None:
        tag = self._path.pop()
        if tag == "traceFormat":
            self._in_format = False
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
    try:
        size = path.stat().st_size
        if size > MAX_INKML_BYTES:
            raise InputError(
                f"{path} is {size / 2**20:.0f} MiB; mathpad reads ink files up to "
                f"{MAX_INKML_BYTES // 2**20} MiB (a handwritten formula is a few KiB)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the file name") from None
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
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
    except _Malformed as error:
        raise InputError(f"{source} cannot be read as ink: {error}") from None
    if not reader.traces:
        raise InputError(f"{source} has no <trace> elements, so there is no ink to read")
    if reader.channels is not None and not {"X", "Y"} <= set(reader.channels):
        raise InputError(f"{source}: its <traceFormat> lacks the X and Y channels")
    try:
        strokes = tuple(_stroke(i, text, reader.channels) for i, text in enumerate(reader.traces))
    except _Malformed as error:
        raise InputError(f"{source}: {error}") from None
    return Ink(strokes, reader.annotations)


def _stroke(index: int, text: str, channels: list[str] | None) -> Stroke:
    """One trace's text to a stroke; `index` only names the trace in messages."""
    where = f"trace {index + 1}"
    counts = list(map(len, map(str.split, text.split(","))))
    width = counts[0]
    if width == 0 or any(count != width for count in counts):
        bad = next(i for i, count in enumerate(counts) if count == 0 or count != width)
        if counts[bad] == 0:
            raise _Malformed(f"{where} has an empty point (point {bad + 1} of {len(counts)})")
        raise _Malformed(f"{where}, point {bad + 1} has {counts[bad]} values, point 1 has {width}")
    names = channels if channels is not None else ["X", "Y", "T"][:width]
    if width != len(names) or (channels is None and width < 2):
        expected = f"{len(names)} channels of its <traceFormat>" if channels else "'x y t' or 'x y'"
        raise _Malformed(f"{where} has {width} values per point; expected {expected}")
    values = _numbers(text, len(counts) * width, where).reshape(-1, width)
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
        np.fromstring(token, sep=" ")
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
