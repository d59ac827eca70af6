"""The one facade the CLI and the window call: ink or images in, LaTeX out.

It owns a one-worker executor, so the model loads and recognizes off the caller's thread,
and what re-recognition reuses: the last reading of each piece (by the piece image's
content, else by its place on the page) is the draft of the next one, which makes a
re-read faster and never different; a token the user corrected stays forced for that piece
while the strokes it was read from stay. `cancel()` ends the running recognition at once.
`synchronous=True` runs everything in the caller's thread, for tests and the CLI. Nothing
here imports Qt.
"""

from __future__ import annotations

import difflib
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Literal, TypeVar

from PIL import Image

from mathpad.errors import InputError
from mathpad.imaging.loading import to_rgb
from mathpad.ink.strokes import Ink
from mathpad.latex import aligned, tidy
from mathpad.model.engine import Cancel, Decode, Engine, Recognition

# `X as X`: re-exported, so the window reaches the model's store through this facade only.
from mathpad.model.store import DEFAULT_REPO as DEFAULT_REPO
from mathpad.model.store import DEFAULT_VARIANT, graph_cache_dir, resolve_model
from mathpad.model.store import VARIANTS as VARIANTS
from mathpad.model.store import Progress as Progress
from mathpad.model.store import check_model_folder as check_model_folder
from mathpad.model.store import download_model as download_model
from mathpad.model.store import is_local as is_local

T = TypeVar("T")
JoinStyle = Literal["lines", "aligned"]
_Opcode = tuple[str, int, int, int, int]  # difflib's: tag, i1, i2, j1, j2

DOUBT_THRESHOLD = 0.5  # a token the model gives less than even odds is worth a second look
MAX_DRAFTS = 256  # pieces whose last reading is kept as a draft


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar shows about the loaded model and how it decodes."""

    name: str
    variant: str
    decoder: str  # "cached", "hoisted" or "plain"
    decoder_reason: str | None  # why not "cached", in words; None when cached
    load_seconds: float


@dataclass(frozen=True)
class Doubt:
    """A span of `PageResult.text()` the model was unsure of, and what else it considered."""

    start: int
    end: int
    piece: int  # index in PageResult.pieces
    token: int  # index in that piece's tokens
    prob: float
    replacements: tuple[str, ...]  # the other top token texts at that step, best first


@dataclass(frozen=True)
class PageResult:
    """One recognition request: one LaTeX string per expression, in reading order.

    What the window shows of it, the tidied text and where each piece's tokens land in it,
    is worked out once, when it is made: on the recognizer's worker, so that the slots a
    reading reaches on the GUI thread (editor, marks, history) only look it up.
    """

    tag: object
    expressions: tuple[str, ...]
    pieces: tuple[Recognition, ...]
    seconds: float
    images: tuple[Image.Image, ...] = ()  # exactly what the model saw for each piece
    groups: tuple[int, ...] = ()  # how many pieces each expression (line) has
    ink: Ink | None = field(default=None, repr=False)  # the drawing it was read from
    _lines: str = field(init=False, repr=False, compare=False)  # text("lines")
    _opcodes: tuple[_Opcode, ...] = field(init=False, repr=False, compare=False)  # raw -> lines
    _offsets: tuple[int | None, ...] = field(init=False, repr=False, compare=False)  # in raw

    def __post_init__(self) -> None:
        lines = _tidied(self.expressions)
        raw, offsets = _joined(self)
        opcodes = difflib.SequenceMatcher(None, raw, lines, autojunk=False).get_opcodes()
        object.__setattr__(self, "_lines", lines)
        object.__setattr__(self, "_opcodes", tuple(opcodes))
        object.__setattr__(self, "_offsets", tuple(offsets))

    def text(self, style: JoinStyle = "lines") -> str:
        """What the editor shows and the CLI prints: tidied lines, or one `aligned` block."""
        lines = self._lines
        return aligned(lines.splitlines()) if style == "aligned" and "\n" in lines else lines

    def doubtful(self, threshold: float = DOUBT_THRESHOLD) -> list[Doubt]:
        """Spans of `text("lines")` whose token's probability is below `threshold`."""
        opcodes, offsets = self._opcodes, self._offsets
        doubts = []
        for index, (piece, offset) in enumerate(zip(self.pieces, offsets, strict=True)):
            if offset is None:
                continue
            for position, token in enumerate(piece.tokens):
                mine = piece.latex[token.start : token.end]
                if token.prob >= threshold or not mine.strip():
                    continue
                first = token.start + len(mine) - len(mine.lstrip())  # its visible characters
                last = token.end - (len(mine) - len(mine.rstrip()))
                start = _map(opcodes, offset + first, end=False)
                end = _map(opcodes, offset + last, end=True)
                if end <= start:
                    continue
                others = tuple(
                    dict.fromkeys(
                        text for i, text, _ in token.top if i != token.id and text.strip()
                    )
                )
                others = tuple(o for o in others if o != mine)
                doubts.append(Doubt(start, end, index, position, token.prob, others))
        return doubts


def _expressions(pieces: Sequence[Recognition], groups: Sequence[int]) -> tuple[str, ...]:
    expressions, position = [], 0
    for count in groups:
        chunk = pieces[position : position + count]
        position += count
        expressions.append(" ".join(r.latex.strip() for r in chunk if r.latex.strip()))
    return tuple(expressions)


def _joined(result: PageResult) -> tuple[str, list[int | None]]:
    """The expressions joined by newlines, and where each piece's latex starts in it."""
    offsets: list[int | None] = []
    lines, cursor, position = [], 0, 0
    for count in result.groups:
        parts = []
        for piece in result.pieces[position : position + count]:
            stripped = piece.latex.strip()
            if not stripped:
                offsets.append(None)
                continue
            line_so_far = sum(len(p) + 1 for p in parts)
            lead = len(piece.latex) - len(piece.latex.lstrip())
            offsets.append(cursor + line_so_far - lead)
            parts.append(stripped)
        position += count
        line = " ".join(parts)
        lines.append(line)
        cursor += len(line) + 1
    return "\n".join(lines), offsets


def _map(opcodes: Sequence[_Opcode], at: int, *, end: bool) -> int:
    """Where position `at` of the raw text lands in the tidied text."""
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 <= at < i2 or (end and at == i2):
            return j1 + (at - i1) if tag == "equal" else (j2 if end else j1)
    return opcodes[-1][4] if opcodes else 0


def _tidied(expressions: Sequence[str]) -> str:
    """The expressions tidied, one per line."""
    return tidy("\n".join(expressions))


def _pieces() -> ModuleType:
    """The splitting and rendering module, imported on the worker thread.

    It loads matplotlib (half a second), which neither a plain image nor the caller's
    thread (the GUI's) should wait for.
    """
    from mathpad.imaging import pieces

    return pieces


def _content_key(image: Image.Image) -> str:
    digest = hashlib.blake2b(f"{image.mode}{image.size}".encode(), digest_size=16)
    digest.update(image.tobytes())
    return digest.hexdigest()


def _stroke_keys(ink: Ink | None) -> frozenset[bytes]:
    return frozenset(s.points.tobytes() for s in ink.strokes) if ink is not None else frozenset()


@dataclass(frozen=True)
class _Forced:
    """A user's correction: the prefix kept for one piece while its strokes stay."""

    prefix: tuple[int, ...]
    strokes: frozenset[bytes]


def preload() -> None:
    """Import now, in the caller's thread, what a first load would import on the worker.

    `import onnx` (needed to derive graphs) keeps the GIL for about a second while its
    extension starts, which would freeze every other thread, a window's included. The pad
    calls this before its window shows, so its event loop never stalls on it.
    """
    import mathpad.model.derive  # noqa: F401  (imports onnx)


class _Inline(Executor):
    """Runs each task at once in the caller's thread: the synchronous seam for tests."""

    def submit(self, fn: Callable[..., T], /, *args: object, **kwargs: object) -> Future[T]:
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


class Recognizer:
    """Loads one model variant in the background and recognizes ink and images."""

    def __init__(
        self,
        model: str | Path | None = None,
        variant: str = DEFAULT_VARIANT,
        *,
        decode: Decode = "auto",
        revision: str | None = None,
        synchronous: bool = False,
        local_files_only: bool = True,
        threads: int | None = None,
        max_length: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._model, self._variant, self._decode = model, variant, decode
        self._revision, self._local_only = revision, local_files_only
        self._threads, self._max_length, self._progress = threads, max_length, progress
        self._executor: Executor = (
            _Inline() if synchronous else ThreadPoolExecutor(1, "mathpad-recognizer")
        )
        self._engine: Engine | None = None
        self._info: ModelInfo | None = None
        self._loading: Future[ModelInfo] | None = None
        self._lock = threading.Lock()
        self._live: set[Cancel] = set()  # switches of submitted work not finished yet
        # Worker-thread state: drafts by piece content and by place, forced prefixes by place.
        self._drafts: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._last_page: list[tuple[int, ...]] = []
        self._forced: dict[int, _Forced] = {}

    @property
    def engine(self) -> Engine:
        """The loaded engine, loading it now if needed (in the caller's thread)."""
        if self._engine is None:
            self.load().result()
        assert self._engine is not None  # load() sets it or raises
        return self._engine

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model and its decoder level; None until loading has finished."""
        return self._info

    def load(self) -> Future[ModelInfo]:
        """Start loading the model; a missing or broken model fails the future with ModelError."""
        with self._lock:
            if self._loading is None:
                self._loading = self._executor.submit(self._load)
            return self._loading

    def _load(self) -> ModelInfo:
        began = time.perf_counter()
        files = resolve_model(
            self._model,
            self._variant,
            revision=self._revision,
            local_files_only=self._local_only,
            progress=self._progress,
        )
        engine = Engine(
            files, decode=self._decode, threads=self._threads, cache_dir=graph_cache_dir()
        )
        engine.generation(self._max_length)  # a bad max_length fails here, before any work
        self._engine = engine
        elapsed = time.perf_counter() - began
        decoder = engine.decoder
        self._info = ModelInfo(files.name, files.variant, decoder.name, decoder.reason, elapsed)
        return self._info

    def submit_ink(self, ink: Ink, *, tag: object = None) -> Future[PageResult]:
        """Recognize a drawing: one result per expression line, long lines in chunks."""
        return self._submit(lambda: _pieces().ink_pieces(ink), tag, ink)

    def submit_image(self, image: Image.Image, *, tag: object = None) -> Future[PageResult]:
        """Recognize a loaded or pasted picture, normalized, split and chunked like ink."""
        return self._submit(lambda: _pieces().image_pieces(to_rgb(image)), tag, None)

    def submit_alternatives(
        self, result: PageResult, k: int = 5, width: int = 4
    ) -> Future[list[str]]:
        """Whole-page alternative texts from beam search, best first, the greedy text excluded."""
        return self._run(
            lambda cancel: [t for t, _ in self._alternatives(result, k, width, cancel)]
        )

    def submit_replacement(
        self, result: PageResult, doubt: Doubt, choice: str
    ) -> Future[PageResult]:
        """Decode `doubt`'s piece again with `choice` forced in place of its token.

        The prefix up to that token plus `choice` is kept for that piece on later
        recognitions of the same drawing, until a stroke it was read from is erased.
        """
        return self._run(lambda cancel: self._replace(result, doubt, choice, cancel))

    def cancel(self) -> None:
        """End the running recognition at once and drop waiting ones: they fail with Cancelled."""
        with self._lock:
            for switch in self._live:
                switch.cancel()

    def recognize_ink(self, ink: Ink) -> PageResult:
        """`submit_ink`, waiting for the result."""
        return self.submit_ink(ink).result()

    def recognize_image(self, image: Image.Image) -> PageResult:
        """`submit_image`, waiting for the result."""
        return self.submit_image(image).result()

    def recognize_images(self, images: Sequence[Image.Image]) -> list[Recognition]:
        """Images as given, exactly as the reference pipeline sees them (no normalizing)."""
        return self._run(lambda cancel: self._read(images, None, cancel)).result()

    def alternatives(
        self, result: PageResult, k: int = 5, width: int = 4
    ) -> list[tuple[str, float]]:
        """`submit_alternatives` with each text's log probability, waiting for them."""
        return self._run(lambda cancel: self._alternatives(result, k, width, cancel)).result()

    def shutdown(self, wait: bool = False) -> None:
        """Cancel running and waiting work; block only when `wait` (at exit)."""
        self.cancel()
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _run(self, task: Callable[[Cancel], T]) -> Future[T]:
        """Submit `task` with its own cancel switch, after the model has loaded."""
        self.load()
        switch = Cancel()
        with self._lock:
            self._live.add(switch)

        def run() -> T:
            try:
                switch.check()
                return task(switch)
            finally:
                with self._lock:
                    self._live.discard(switch)

        return self._executor.submit(run)

    def _submit(
        self, pieces: Callable[[], list[list[Image.Image]]], tag: object, ink: Ink | None
    ) -> Future[PageResult]:
        return self._run(lambda cancel: self._page(tag, pieces, ink, cancel))

    def _page(
        self,
        tag: object,
        pieces: Callable[[], list[list[Image.Image]]],
        ink: Ink | None,
        cancel: Cancel,
    ) -> PageResult:
        began = time.perf_counter()
        groups = pieces()
        flat = [image for group in groups for image in group]
        results = self._read(flat, ink, cancel) if flat else []
        self._last_page = [r.token_ids for r in results]
        return PageResult(
            tag,
            _expressions(results, [len(g) for g in groups]),
            tuple(results),
            time.perf_counter() - began,
            tuple(flat),
            tuple(len(g) for g in groups),
            ink,
        )

    def _read(
        self, images: Sequence[Image.Image], ink: Ink | None, cancel: Cancel
    ) -> list[Recognition]:
        """Greedy readings with the remembered drafts and, for a drawing, forced prefixes."""
        keys = [_content_key(image) for image in images]
        drafts = [
            self._drafts.get(key)
            or (self._last_page[i] if ink and i < len(self._last_page) else None)
            for i, key in enumerate(keys)
        ]
        strokes = _stroke_keys(ink)
        self._forced = {
            i: f for i, f in self._forced.items() if ink is not None and f.strokes <= strokes
        }
        forced = [self._forced[i].prefix if i in self._forced else None for i in range(len(images))]
        results = self.engine.recognize(
            images, max_length=self._max_length, drafts=drafts, forced=forced, cancel=cancel
        )
        for key, result in zip(keys, results, strict=True):
            self._remember(key, result)
        return results

    def _remember(self, key: str, result: Recognition) -> None:
        self._drafts[key] = result.token_ids
        self._drafts.move_to_end(key)
        while len(self._drafts) > MAX_DRAFTS:
            self._drafts.popitem(last=False)

    def _replace(self, result: PageResult, doubt: Doubt, choice: str, cancel: Cancel) -> PageResult:
        piece = result.pieces[doubt.piece]
        token = piece.tokens[doubt.token]
        chosen = next((i for i, text, _ in token.top if text == choice), None)
        if chosen is None:
            offered = ", ".join(repr(t) for _, t, _ in token.top)
            raise InputError(f"{choice!r} is not one of the replacements offered ({offered})")
        prefix = (*piece.token_ids[: doubt.token + 1], chosen)
        began = time.perf_counter()
        image = result.images[doubt.piece]
        (reading,) = self.engine.recognize(
            [image], max_length=self._max_length, forced=[prefix], cancel=cancel
        )
        self._remember(_content_key(image), reading)
        if result.ink is not None:
            self._forced[doubt.piece] = _Forced(prefix, _stroke_keys(result.ink))
        pieces = list(result.pieces)
        pieces[doubt.piece] = reading
        return replace(
            result,
            expressions=_expressions(pieces, result.groups),
            pieces=tuple(pieces),
            seconds=time.perf_counter() - began,
        )

    def _alternatives(
        self, result: PageResult, k: int, width: int, cancel: Cancel
    ) -> list[tuple[str, float]]:
        """Pages that differ from `result` in one piece, by total log probability."""
        total = sum(p.score for p in result.pieces)
        greedy = result.text()
        found: dict[str, float] = {}
        for index, (piece, image) in enumerate(zip(result.pieces, result.images, strict=True)):
            for other in self.engine.beam(
                image, width=width, max_length=self._max_length, cancel=cancel
            ):
                pieces = list(result.pieces)
                pieces[index] = other
                text = _tidied(_expressions(pieces, result.groups))
                score = total - piece.score + other.score
                if text != greedy and score > found.get(text, -float("inf")):
                    found[text] = score
        return sorted(found.items(), key=lambda item: -item[1])[:k]
