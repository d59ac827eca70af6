"""The one facade the CLI and the window call: ink or images in, LaTeX out.

It owns a one-worker executor, so the model loads and recognizes off the caller's thread.
Every submission gets a request id; a newer submission cancels one still waiting, and the
caller drops results whose id (or tag) is no longer the latest. `synchronous=True` runs
everything in the caller's thread, for tests and the CLI. Nothing here imports Qt.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal, TypeVar

from PIL import Image

from mathpad.imaging.loading import to_rgb
from mathpad.ink.strokes import Ink
from mathpad.model.engine import Decode, Engine, Recognition
from mathpad.model.store import DEFAULT_VARIANT, Progress, graph_cache_dir, resolve_model

T = TypeVar("T")
JoinStyle = Literal["lines", "aligned"]


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar shows about the loaded model."""

    name: str
    variant: str
    decoder: str
    load_seconds: float


@dataclass(frozen=True)
class PageResult:
    """One recognition request: one LaTeX string per expression, in reading order."""

    request_id: int
    tag: object
    expressions: tuple[str, ...]
    pieces: tuple[Recognition, ...]
    seconds: float

    def latex(self, style: JoinStyle = "lines") -> str:
        """The expressions as separate lines, or as one `aligned` block."""
        if style == "lines" or len(self.expressions) < 2:
            return "\n".join(self.expressions)
        rows = [_align_row(e) for e in self.expressions]
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def _align_row(expression: str) -> str:
    """Align rows at their first relation sign, as people align derivations."""
    before, sign, after = expression.partition("=")
    return f"{before}&{sign}{after}" if sign else f"&{expression}"


def _pieces() -> ModuleType:
    """The splitting and rendering module, imported on the worker thread.

    It loads matplotlib (half a second), which neither a plain image nor the caller's
    thread (the GUI's) should wait for.
    """
    from mathpad.imaging import pieces

    return pieces


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
        self._loading: Future[ModelInfo] | None = None
        self._pending: Future[PageResult] | None = None
        self._ids = itertools.count(1)
        self._latest = 0
        self._lock = threading.Lock()

    @property
    def latest_request_id(self) -> int:
        """The id of the newest submission; results with other ids are stale."""
        return self._latest

    @property
    def engine(self) -> Engine:
        """The loaded engine, loading it now if needed (in the caller's thread)."""
        if self._engine is None:
            self.load().result()
        assert self._engine is not None  # load() sets it or raises
        return self._engine

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
        return ModelInfo(files.name, files.variant, self._engine.decoder.name, elapsed)

    def submit_ink(self, ink: Ink, *, tag: object = None) -> Future[PageResult]:
        """Recognize a drawing: one result per expression line, long lines in chunks."""
        return self._submit(lambda: _pieces().ink_pieces(ink), tag)

    def submit_image(self, image: Image.Image, *, tag: object = None) -> Future[PageResult]:
        """Recognize a loaded or pasted picture, normalized, split and chunked like ink."""
        return self._submit(lambda: _pieces().image_pieces(to_rgb(image)), tag)

    def recognize_ink(self, ink: Ink) -> PageResult:
        """`submit_ink`, waiting for the result."""
        return self.submit_ink(ink).result()

    def recognize_image(self, image: Image.Image) -> PageResult:
        """`submit_image`, waiting for the result."""
        return self.submit_image(image).result()

    def recognize_images(self, images: Sequence[Image.Image]) -> list[Recognition]:
        """Images as given, exactly as the reference pipeline sees them (no normalizing)."""
        return self.engine.recognize(images, max_length=self._max_length)

    def _submit(
        self, pieces: Callable[[], list[list[Image.Image]]], tag: object
    ) -> Future[PageResult]:
        self.load()
        with self._lock:
            request_id = next(self._ids)
            self._latest = request_id
            if self._pending is not None:
                self._pending.cancel()  # only succeeds while it still waits: superseded
            future = self._executor.submit(self._recognize, request_id, tag, pieces)
            self._pending = future
            return future

    def _recognize(
        self, request_id: int, tag: object, pieces: Callable[[], list[list[Image.Image]]]
    ) -> PageResult:
        began = time.perf_counter()
        groups = pieces()
        flat = [image for group in groups for image in group]
        results = self.recognize_images(flat) if flat else []
        expressions, position = [], 0
        for group in groups:
            chunk = results[position : position + len(group)]
            position += len(group)
            expressions.append(" ".join(r.latex.strip() for r in chunk if r.latex.strip()))
        elapsed = time.perf_counter() - began
        return PageResult(request_id, tag, tuple(expressions), tuple(results), elapsed)

    def shutdown(self) -> None:
        """Cancel waiting work and wait for the running task to finish."""
        self._executor.shutdown(wait=True, cancel_futures=True)
