"""The runners on derived graphs: "cached" and "hoisted" (see `mathpad.model.runners`).

Both compute the cross-attention keys and values once per image (`prepare`). The cached step
takes the self-attention keys and values of the tokens it holds and feeds only the new ones;
the hoisted step feeds the whole prefix and projects only the new positions onto the
vocabulary. Every run of one decode passes the caller's run options, so setting `terminate`
ends it at once.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from mathpad.model.derive.rewrites import StepSignature
from mathpad.model.runners import select_rows

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _cross_attention(
    prepare: ort.InferenceSession,
    signature: StepSignature,
    states: np.ndarray,
    run_options: ort.RunOptions | None,
) -> dict[str, np.ndarray]:
    """What the step graph reads from the encoder, computed once per image."""
    values = prepare.run(list(signature.cross), {signature.states: states}, run_options)
    return dict(zip(signature.cross, values, strict=True))


def _check(tokens: np.ndarray, rows: int, held: int, max_length: int) -> None:
    if tokens.ndim != 2 or tokens.shape[0] != rows or tokens.shape[1] < 1:
        raise ValueError(f"expected new tokens of shape [{rows}, T >= 1], got {tokens.shape}")
    if held + tokens.shape[1] > max_length:
        raise ValueError(
            f"{held + tokens.shape[1]} tokens exceed the decoder's {max_length} learned positions"
        )


class DerivedDecoder:
    """Runners on a `prepare` and a `step` graph; `reason` says why not "cached" (if so)."""

    name = "cached"
    batch_invariant = True  # every derived graph quantizes per row, if at all

    def __init__(
        self,
        prepare: ort.InferenceSession,
        step: ort.InferenceSession,
        signature: StepSignature,
        reason: str | None = None,
    ) -> None:
        self._prepare, self._step, self._signature = prepare, step, signature
        self.reason = reason


class CachedDecoder(DerivedDecoder):
    """Cross-attention K/V once per image and a self-attention cache: only new tokens run."""

    name = "cached"

    def __init__(
        self,
        prepare: ort.InferenceSession,
        step: ort.InferenceSession,
        signature: StepSignature,
        reason: str | None = None,
    ) -> None:
        super().__init__(prepare, step, signature, reason)
        inputs = {i.name: i for i in step.get_inputs()}
        self._past = [
            (name, inputs[name].shape[-1], _DTYPES[inputs[name].type]) for name in signature.past
        ]

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> CachedState:
        cross = _cross_attention(self._prepare, self._signature, encoder_hidden_states, run_options)
        rows = encoder_hidden_states.shape[0]
        past = {name: np.zeros((rows, 0, width), dtype) for name, width, dtype in self._past}
        return CachedState(self._step, self._signature, cross, past, run_options)


class CachedState:
    """One decode on the cached step: the cache holds K/V of `length` tokens per row."""

    def __init__(
        self,
        session: ort.InferenceSession,
        signature: StepSignature,
        cross: dict[str, np.ndarray],
        past: dict[str, np.ndarray],
        run_options: ort.RunOptions | None,
    ) -> None:
        self._session, self._signature, self._options = session, signature, run_options
        self._cross, self._past = cross, past
        self._rows = next(iter(past.values())).shape[0]
        self._outputs = [signature.logits, *signature.present]

    @property
    def length(self) -> int:
        return next(iter(self._past.values())).shape[1]

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        _check(tokens, self._rows, self.length, self._signature.max_length)
        feeds = {self._signature.ids: tokens.astype(np.int64, copy=False)}
        logits, *present = self._session.run(
            self._outputs, {**feeds, **self._cross, **self._past}, self._options
        )
        self._past = dict(zip(self._signature.past, present, strict=True))
        return logits

    def truncate(self, length: int) -> None:
        self._past = {name: value[:, :length] for name, value in self._past.items()}

    def select(self, rows: np.ndarray) -> None:
        self._past = {name: value[rows] for name, value in self._past.items()}
        self._cross = {n: select_rows(v, rows, self._rows) for n, v in self._cross.items()}
        self._rows = len(rows)


class HoistedDecoder(DerivedDecoder):
    """Cross-attention K/V once per image; each call still feeds the whole prefix."""

    name = "hoisted"

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> HoistedState:
        cross = _cross_attention(self._prepare, self._signature, encoder_hidden_states, run_options)
        rows = encoder_hidden_states.shape[0]
        return HoistedState(self._step, self._signature, cross, rows, run_options)


class HoistedState:
    """One decode on the hoisted step: the whole token matrix, fed again at every call."""

    def __init__(
        self,
        session: ort.InferenceSession,
        signature: StepSignature,
        cross: dict[str, np.ndarray],
        rows: int,
        run_options: ort.RunOptions | None,
    ) -> None:
        self._session, self._signature, self._options = session, signature, run_options
        self._cross = cross
        self._tokens = np.zeros((rows, 0), np.int64)

    @property
    def length(self) -> int:
        return self._tokens.shape[1]

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        signature = self._signature
        _check(tokens, self._tokens.shape[0], self.length, signature.max_length)
        held = np.concatenate([self._tokens, tokens.astype(np.int64)], axis=1)
        count = np.array([tokens.shape[1]], np.int64)
        feeds = {signature.ids: held, signature.new_tokens: count, **self._cross}
        (logits,) = self._session.run([signature.logits], feeds, self._options)
        self._tokens = held
        return logits

    def truncate(self, length: int) -> None:
        self._tokens = self._tokens[:, :length]

    def select(self, rows: np.ndarray) -> None:
        held = self._tokens.shape[0]
        self._cross = {n: select_rows(v, rows, held) for n, v in self._cross.items()}
        self._tokens = self._tokens[rows]


def build_runner(
    signature: StepSignature,
    prepare: ort.InferenceSession,
    step: ort.InferenceSession,
    reason: str | None = None,
) -> DerivedDecoder:
    """The runner for graphs of `signature`: cached when the step takes a cache."""
    runner = CachedDecoder if signature.past else HoistedDecoder
    return runner(prepare, step, signature, reason)
