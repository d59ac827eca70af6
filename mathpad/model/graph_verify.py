"""Check derived decoder graphs against the published one before anything uses them.

A derived runner must give the logits the plain runner gives on the original graph, step by
step, on random tokens and encoder states. Tolerances (relative to the largest reference
logit):
- float32 compute: 1e-4. A correct rewrite differs only by summation order, measured at
  about 1e-7 (1e-6 at full size); a missing position offset gives ~0.9 and a cache that
  ignores the past ~0.04, so the margin is wide on both sides.
- float16 compute: 2e-3, two float16 ulps, for the same rewrite rounding differently in a
  kernel; still 20 times below the smallest broken-rewrite error.
- dynamic int8: a tolerance cannot tell a broken rewrite from quantization noise, because a
  cache quantizes each new row with its own scale where the plain graph picks one scale for
  the whole prefix. Every DynamicQuantizeLinear is therefore replaced, in copies of both
  graphs, by a QuantizeLinear with the scale the original picked on the probe. There a
  correct rewrite is exact (measured 0.0 at tiny and full size) provided both graphs run the
  same kernels: onnxruntime's extended fusions pick different fused kernels for the two
  graphs, whose float rounding flips some quantized values (2e-2 at full size), so these
  copies run with basic optimizations only. The float32 tolerance applies.
Argmax must match wherever the reference's top two logits are further apart than the
tolerance allows the candidate to move them. Float graphs are checked with the sessions the
runtime uses, so the check covers onnxruntime's fusions of the rewritten graphs too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from mathpad.model.graph_io import load_model, save_model
from mathpad.model.graphs import Precision
from mathpad.model.runners import DecoderRunner, PlainDecoder, make_session

FLOAT32_TOLERANCE = 1e-4
FLOAT16_TOLERANCE = 2e-3
_BATCH, _STEPS, _SOURCE = 2, 6, 9  # probe shape: rows, tokens, encoder positions

RunnerFactory = Callable[[ort.InferenceSession, ort.InferenceSession], DecoderRunner]


class VerificationError(Exception):
    """A derived graph does not reproduce the original's logits."""


@dataclass(frozen=True)
class _Probe:
    ids: np.ndarray  # int64 [batch, steps]
    states: np.ndarray  # float32 [batch, source, hidden]


def verify(
    source: Path,
    prepare: Path,
    step: Path,
    *,
    precision: Precision,
    work: Path,
    build_runner: RunnerFactory,
) -> None:
    """Raise VerificationError unless the derived graphs match `source` at every step.

    The reference session is released before the candidate's are made, so a full-size
    decoder is in memory once. `work` (an empty folder) receives the fixed-scale copies.
    """
    open_session, probe = make_session, None
    if precision.dynamic_int8:
        open_session = _unfused_session
        scales, probe = _quantization_scales(source, work / "calibrate.onnx")
        source, prepare, step = (
            _fix_quantization(path, scales, work / f"fixed-{role}.onnx")
            for role, path in (("reference", source), ("prepare", prepare), ("step", step))
        )
    reference = open_session(source)
    probe = probe or _make_probe(reference)
    expected = _logits(PlainDecoder(reference), probe)
    del reference
    got = _logits(build_runner(open_session(prepare), open_session(step)), probe)
    tolerance = FLOAT16_TOLERANCE if precision.float16 else FLOAT32_TOLERANCE
    for index, (want, have) in enumerate(zip(expected, got, strict=True), start=1):
        problem = _compare(want, have, tolerance)
        if problem:
            fixed = " with fixed quantization scales" if precision.dynamic_int8 else ""
            raise VerificationError(f"step {index}{fixed}: {problem}")


def _make_probe(session: ort.InferenceSession) -> _Probe:
    """Random tokens over the vocabulary and random encoder states of the declared width."""
    (states_input,) = (i for i in session.get_inputs() if i.type != "tensor(int64)")
    vocab, hidden = session.get_outputs()[0].shape[-1], states_input.shape[-1]
    if not isinstance(vocab, int) or not isinstance(hidden, int):
        raise VerificationError("the decoder does not declare its vocabulary and hidden sizes")
    rng = np.random.default_rng(20240611)
    ids = rng.integers(0, vocab, (_BATCH, _STEPS), dtype=np.int64)
    states = rng.standard_normal((_BATCH, _SOURCE, hidden)).astype(np.float32)
    return _Probe(ids, states)


def _logits(runner: DecoderRunner, probe: _Probe) -> list[np.ndarray]:
    state = runner.start(probe.states)
    return [state.extend(probe.ids[:, index : index + 1])[:, -1] for index in range(_STEPS)]


def _compare(want: np.ndarray, have: np.ndarray, tolerance: float) -> str | None:
    scale = float(np.abs(want).max()) or 1.0
    error = float(np.abs(have - want).max()) / scale
    if not error <= tolerance:  # also catches NaN
        return f"relative error {error:.2e} exceeds {tolerance:.0e}"
    top2 = np.sort(want, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * tolerance * scale
    if np.any(clear & (want.argmax(-1) != have.argmax(-1))):
        return "a clear top-1 token differs"
    return None


def _unfused_session(path: Path) -> ort.InferenceSession:
    """Basic optimizations only: no fused kernel that one graph gets and the other not."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _quantization_scales(source: Path, path: Path) -> tuple[dict[str, np.ndarray], _Probe]:
    """Scale and zero point each DynamicQuantizeLinear picks on the whole probe sequence.

    Keyed by tensor name: the derived graphs keep the original names.
    """
    model = load_model(source)
    names = [
        name
        for node in model.graph.node
        if node.op_type == "DynamicQuantizeLinear"
        for name in node.output[1:]
    ]
    model.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in names)
    save_model(model, path)
    del model
    session = _unfused_session(path)
    probe = _make_probe(session)
    ids, states = (i.name for i in session.get_inputs())
    values = session.run(names, {ids: probe.ids, states: probe.states})
    return dict(zip(names, values, strict=True)), probe


def _fix_quantization(source: Path, scales: dict[str, np.ndarray], path: Path) -> Path:
    """Save a copy of `source` whose DynamicQuantizeLinear nodes use the calibrated scales."""
    model = load_model(source)
    nodes = []
    for node in model.graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        quantized, scale, zero_point = node.output
        for name in (scale, zero_point):
            model.graph.initializer.append(numpy_helper.from_array(scales[name], name))
        inputs = [node.input[0], scale, zero_point]
        nodes.append(helper.make_node("QuantizeLinear", inputs, [quantized]))
    copies = [onnx.NodeProto.FromString(node.SerializeToString()) for node in nodes]
    model.graph.ClearField("node")
    model.graph.node.extend(copies)
    save_model(model, path)
    return path
