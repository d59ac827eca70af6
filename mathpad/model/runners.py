"""ONNX Runtime sessions and the plain decoder runner.

A decoder runner turns encoder states into a step function: given the whole token sequence so
far it returns the logits of the last position. The plain runner feeds the published decoder
graph the whole prefix at every step, exactly as the reference does without a cache; faster
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


class StepFunction(Protocol):
    """Logits of the last position, float32 [batch, vocab], for int64 tokens [batch, seq]."""

    def __call__(self, tokens: np.ndarray) -> np.ndarray: ...


class DecoderRunner(Protocol):
    """Something that can decode from encoder states: `plain`, `hoisted` or `cached`."""

    name: str

    def start(self, encoder_hidden_states: np.ndarray) -> StepFunction: ...


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
