"""ONNX Runtime sessions, the decoder runner protocol and the plain runner.

A decoder runner turns encoder states into a `DecodeState`: fed tokens after the ones it
holds, it returns their logits. Searches (greedy, draft-verified, forced prefix, beam) are
written against that protocol only. The plain runner feeds the published decoder graph the
whole token matrix at every call, exactly as the reference does without a cache; the derived
runners (see `fast_decoder`) keep state between calls but answer the same question.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

SessionFactory = Callable[[Path], ort.InferenceSession]

# Saving the optimized graph halves an int8 decoder's load time; for fp32's 1.2 GB graphs
# the copy would cost more disk than the second it saves.
MAX_OPTIMIZED_COPY = 1 << 30


class DecodeState(Protocol):
    """One decode over a batch of rows; it holds the tokens it has been fed (start token first)."""

    @property
    def length(self) -> int:
        """Tokens held per row (0 right after start)."""
        ...

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        """Feed int64 tokens [rows, T] (T >= 1) after the held ones; return float32 logits
        [rows, T, vocab] for those T positions. The state then holds length + T tokens."""
        ...

    def truncate(self, length: int) -> None:
        """Forget the held tokens after the first `length` (a rejected draft)."""
        ...

    def select(self, rows: np.ndarray) -> None:
        """New row i is old row rows[i] (beam search reorders and duplicates rows)."""
        ...


class DecoderRunner(Protocol):
    """Something that can decode from encoder states: `cached`, `hoisted` or `plain`.

    `batch_invariant` is True when a position's logits depend only on its own row's tokens up
    to that position: neither on the other rows nor on tokens fed after it in the same call.
    Only then may rows share a batch and a draft be checked in one call without changing the
    tokens (dynamically quantized graphs that pick one scale per tensor are not).
    """

    name: str
    reason: str | None
    batch_invariant: bool

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> DecodeState: ...


def make_session(
    path: Path, *, threads: int | None = None, optimized_dir: Path | None = None
) -> ort.InferenceSession:
    """An onnxruntime CPU session tuned for a desktop: no busy-waiting threads while idle.

    With `optimized_dir`, the graph onnxruntime optimized is saved there on first use and
    loaded as is afterwards: a second start skips the optimization passes.
    """
    options = _options(threads)
    stat = path.stat()
    if optimized_dir is None or stat.st_size > MAX_OPTIMIZED_COPY:
        return _session(path, options)
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{ort.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    optimized = optimized_dir / f"{path.stem}.{digest}.onnx"
    if optimized.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return _session(optimized, options)
    optimized_dir.mkdir(parents=True, exist_ok=True)
    partial = optimized.with_suffix(f".{os.getpid()}.part")
    options.optimized_model_filepath = str(partial)
    session = _session(path, options)
    os.replace(partial, optimized)  # whole or absent, whatever happens meanwhile
    return session


def _session(path: Path, options: ort.SessionOptions) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # 0 lets onnxruntime use one thread per physical core: hyper-threads add nothing here.
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning threads burn the cores the GUI and the other session need between runs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class PlainDecoder:
    """The published decoder as is: every call recomputes every position.

    A dynamically quantized published graph picks one activation scale for the whole
    [batch, seq] tensor, so it is not batch invariant; the engine then decodes one image at
    a time and checks no drafts.
    """

    name = "plain"

    def __init__(
        self,
        session: ort.InferenceSession,
        *,
        batch_invariant: bool = True,
        reason: str | None = None,
    ) -> None:
        self._session = session
        self.batch_invariant = batch_invariant
        self.reason = reason
        inputs = session.get_inputs()  # the engine checked: one int64 ids, one float states
        self._ids_name = next(i.name for i in inputs if i.type == "tensor(int64)")
        self._states_name = next(i.name for i in inputs if i.type != "tensor(int64)")
        self._logits_name = session.get_outputs()[0].name

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> DecodeState:
        def run(tokens: np.ndarray, rows: dict[str, np.ndarray]) -> np.ndarray:
            feeds = {self._ids_name: tokens, **rows}
            return self._session.run([self._logits_name], feeds, run_options)[0]

        states = encoder_hidden_states
        return PrefixState(run, {self._states_name: states}, states.shape[0])


class PrefixState:
    """A decode that keeps the whole token matrix and feeds all of it at every call.

    `run(tokens, rows)` returns logits [rows, seq, vocab] for every position; `rows` are the
    per-row inputs (encoder states, or cross-attention K/V) that `select` reorders with them;
    a leading axis of [batch * heads] moves head by head.
    """

    def __init__(
        self,
        run: Callable[[np.ndarray, dict[str, np.ndarray]], np.ndarray],
        rows: dict[str, np.ndarray],
        batch: int,
    ) -> None:
        self._run, self._rows = run, rows
        self._tokens = np.zeros((batch, 0), np.int64)

    @property
    def length(self) -> int:
        return self._tokens.shape[1]

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        self._tokens = np.concatenate([self._tokens, tokens.astype(np.int64)], axis=1)
        logits = self._run(self._tokens, self._rows)
        return logits[:, -tokens.shape[1] :, :]

    def truncate(self, length: int) -> None:
        self._tokens = self._tokens[:, :length]

    def select(self, rows: np.ndarray) -> None:
        batch = self._tokens.shape[0]
        self._tokens = self._tokens[rows]
        self._rows = {name: select_rows(value, rows, batch) for name, value in self._rows.items()}


def select_rows(value: np.ndarray, rows: np.ndarray, batch: int) -> np.ndarray:
    """`value`'s rows for the batch rows `rows`; a leading [batch * heads] axis moves by head."""
    group = value.shape[0] // batch
    if group == 1:
        return value[rows]
    return value[(np.asarray(rows)[:, None] * group + np.arange(group)).ravel()]
