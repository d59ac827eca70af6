"""The decoder runner protocol and the plain runner (sessions: `mathpad.model.sessions`).

A decoder runner turns encoder states into a `DecodeState`: fed tokens after the ones it
holds, it returns their logits. Searches (greedy, draft-verified, forced prefix, beam) are
written against that protocol only. The plain runner feeds the published decoder graph the
whole token matrix at every call, exactly as the reference does without a cache; the derived
runners (see `mathpad.model.derive`) keep state between calls but answer the same question.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import onnxruntime as ort


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
