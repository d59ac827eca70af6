"""ONNX Runtime sessions and the plain decoder runner.

A decoder runner turns encoder states into a step function: given the whole token sequence so
far it returns the logits of the last position. The plain runner feeds the published decoder
graph the whole prefix at every step, exactly as the reference does without a cache; faster
runners (see `fast_decoder`) keep state between calls but answer the same question.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

log = logging.getLogger(__name__)

SessionFactory = Callable[[Path], ort.InferenceSession]


class StepFunction(Protocol):
    """Logits of the last position, float32 [batch, vocab], for int64 tokens [batch, seq]."""

    def __call__(self, tokens: np.ndarray) -> np.ndarray: ...


class DecoderRunner(Protocol):
    """Something that can decode from encoder states: `plain`, `hoisted` or `cached`."""

    name: str

    def start(self, encoder_hidden_states: np.ndarray) -> StepFunction: ...


def physical_cores() -> int:
    """Cores to use: onnxruntime gains nothing from hyper-threads and a GUI needs headroom."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        count = os.cpu_count() or 1
    return max(1, count)


def make_session(path: Path, *, threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime CPU session tuned for a desktop: no busy-waiting threads while idle."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Spinning threads burn the cores the GUI and the other session need between runs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class PlainDecoder:
    """The published decoder as is: every step recomputes every position."""

    name = "plain"

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        inputs = session.get_inputs()  # the engine checked: one int64 ids, one float states
        self._ids_name = next(i.name for i in inputs if i.type == "tensor(int64)")
        self._states_name = next(i.name for i in inputs if i.type != "tensor(int64)")
        self._logits_name = session.get_outputs()[0].name

    def start(self, encoder_hidden_states: np.ndarray) -> StepFunction:
        def step(tokens: np.ndarray) -> np.ndarray:
            feeds = {self._ids_name: tokens, self._states_name: encoder_hidden_states}
            (logits,) = self._session.run([self._logits_name], feeds)
            return logits[:, -1, :]

        return step
