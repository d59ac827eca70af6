"""Check derived decoder graphs against the published one before anything uses them.

A derived runner must give the logits the plain runner gives on the original graph, step by
step, on random tokens and encoder states. Tolerances (relative to the largest reference
logit):
- float32 compute: 1e-4. A correct rewrite differs only by summation order, measured at
  about 1e-7 (1e-6 at full size); a missing position offset gives ~0.9 and a cache that
  ignores the past ~0.04, so the margin is wide on both sides.
- float16 compute: 2e-3, two float16 ulps, for the same rewrite rounding differently in a
  kernel; still 20 times below the smallest broken-rewrite error.
- dynamic int8: a tolerance cannot tell a broken rewrite from quantization noise, because the
  derived graphs quantize each row with its own scale where the plain graph picks one scale
  for the whole tensor. Every activation quantization (DynamicQuantizeLinear in the source,
  its per-row form in the derived graphs) is therefore replaced, in copies of all three
  graphs, by a QuantizeLinear with the scale the original picked on the probe. The copies
  must then compute exactly alike, but float32 is not associative: onnxruntime's extended
  fusions pick different kernels for different graphs, and its float GEMM has its own kernel
  for a single row, so the cached step's one query row in the attention MatMuls rounds 1 ulp
  away from the same row of the plain graph's product; a later int8 rounding tie turns that
  into 2e-2 at full size. So the copies run with basic optimizations only, and their MatMuls
  between two activations (no weights) run in float64, where the rounding of a float32
  product no longer shows. A correct rewrite is then exact (0.0 at tiny and full size, all
  probe seeds), a broken one 0.1-0.9. The float32 tolerance applies.
Positions are fed in chunks of 1, 1, 2 and 3 tokens, so the multi-token step and its causal
mask are checked as well as single steps. Argmax must match wherever the reference's top two
logits are further apart than the tolerance allows the candidate to move them. Float graphs
are checked with the sessions the runtime uses, so the check covers onnxruntime's fusions of
the rewritten graphs too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from mathpad.model.derive.analysis import DataFlow
from mathpad.model.derive.io import load_model, save_model
from mathpad.model.derive.rewrites import Precision, StepSignature
from mathpad.model.derive.rowquant import row_block
from mathpad.model.derive.runners import build_runner
from mathpad.model.runners import DecoderRunner, PlainDecoder
from mathpad.model.sessions import make_session

# Part of the cache key: a stored verdict of an older verifier is not trusted.
VERIFICATION_VERSION = 2  # 2: float64 activation MatMuls, multi-token chunks
FLOAT32_TOLERANCE = 1e-4
FLOAT16_TOLERANCE = 2e-3
PROBE_SEED = 20240611
_BATCH, _SOURCE = 2, 9  # probe shape: rows, encoder positions
_CHUNKS = (1, 1, 2, 3)  # tokens fed per call
_STEPS = sum(_CHUNKS)


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
    signature: StepSignature,
    work: Path,
    seed: int = PROBE_SEED,
) -> None:
    """Raise VerificationError unless the derived graphs match `source` at every position.

    The reference session is released before the candidate's are made, so a full-size
    decoder is in memory once. `work` (an empty folder) receives the fixed-scale copies.
    """
    open_session, probe = _runtime_session, None
    if precision.dynamic_int8:
        open_session = _unfused_session
        scales, probe = _quantization_scales(source, work / "calibrate.onnx", seed)
        source, prepare, step = (
            _fix_quantization(path, scales, work / f"fixed-{role}.onnx")
            for role, path in (("reference", source), ("prepare", prepare), ("step", step))
        )
    reference = open_session(source)
    probe = probe or _make_probe(reference, seed)
    expected = _logits(PlainDecoder(reference), probe, (_STEPS,))
    del reference
    candidate = build_runner(signature, open_session(prepare), open_session(step))
    try:
        got = _logits(candidate, probe, _CHUNKS)
    except Exception as error:  # onnxruntime has its own exception types
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise VerificationError(f"the derived graphs fail on the probe: {first}") from error
    tolerance = FLOAT16_TOLERANCE if precision.float16 else FLOAT32_TOLERANCE
    for index in range(_STEPS):
        problem = _compare(expected[:, index], got[:, index], tolerance)
        if problem:
            fixed = " with fixed quantization scales" if precision.dynamic_int8 else ""
            raise VerificationError(f"step {index + 1}{fixed}: {problem}")


def _runtime_session(path: Path) -> ort.InferenceSession:
    return make_session(path)


def _inputs(session: ort.InferenceSession) -> tuple[str, str]:
    """The token ids (int64) and encoder states (float) inputs, whatever their order."""
    inputs = session.get_inputs()
    ids = next(i.name for i in inputs if i.type == "tensor(int64)")
    states = next(i.name for i in inputs if i.type != "tensor(int64)")
    return ids, states


def _make_probe(session: ort.InferenceSession, seed: int) -> _Probe:
    """Random tokens over the vocabulary and random encoder states of the declared width."""
    (states_input,) = (i for i in session.get_inputs() if i.type != "tensor(int64)")
    vocab, hidden = session.get_outputs()[0].shape[-1], states_input.shape[-1]
    if not isinstance(vocab, int) or not isinstance(hidden, int):
        raise VerificationError("the decoder does not declare its vocabulary and hidden sizes")
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, (_BATCH, _STEPS), dtype=np.int64)
    states = rng.standard_normal((_BATCH, _SOURCE, hidden)).astype(np.float32)
    return _Probe(ids, states)


def _logits(runner: DecoderRunner, probe: _Probe, chunks: tuple[int, ...]) -> np.ndarray:
    """Logits [rows, steps, vocab] of the probe's tokens, fed `chunks` tokens at a time."""
    state, logits = runner.start(probe.states), []
    for end in np.cumsum(chunks):
        logits.append(state.extend(probe.ids[:, state.length : end]))
    return np.concatenate(logits, axis=1)


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


def _quantization_scales(
    source: Path, path: Path, seed: int
) -> tuple[dict[str, np.ndarray], _Probe]:
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
    probe = _make_probe(session, seed)
    ids, states = _inputs(session)
    values = session.run(names, {ids: probe.ids, states: probe.states})
    return dict(zip(names, values, strict=True)), probe


def _fix_quantization(source: Path, scales: dict[str, np.ndarray], path: Path) -> Path:
    """Save a copy of `source` that quantizes with the calibrated scales, in float64 attention.

    DynamicQuantizeLinear nodes and the per-row blocks of `rowquant` (keyed by the names of
    their outputs) become QuantizeLinear with the scale and zero point the source picked.
    """
    model = load_model(source)
    graph = model.graph
    quantizers: dict[str, dict[str, str]] = {}  # quantized tensor -> source, scale, zero point
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear":
            source_name, (quantized, scale, zero_point) = node.input[0], node.output
            quantizers[quantized] = {
                "source": source_name,
                "scale": scale,
                "zero_point": zero_point,
            }
        elif (quantized := row_block(node)) is not None:
            block = quantizers.setdefault(quantized, {})
            if node.op_type == "ReduceMin":
                block["source"] = node.input[0]
            elif node.op_type == "Where":
                block["scale"] = node.output[0]
            elif node.op_type == "Cast" and node.output[0] != quantized:
                block["zero_point"] = node.output[0]
    constants = {tensor.name for tensor in graph.initializer}
    nodes = []
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLinear" or row_block(node) is not None:
            continue
        if node.op_type == "MatMul" and not constants & set(node.input):
            nodes += _float64_matmul(node)
        else:
            nodes.append(node)
    for quantized, block in quantizers.items():
        for name in (block["scale"], block["zero_point"]):
            graph.initializer.append(numpy_helper.from_array(scales[name], name))
        inputs = [block["source"], block["scale"], block["zero_point"]]
        nodes.append(helper.make_node("QuantizeLinear", inputs, [quantized]))
    copies = [onnx.NodeProto.FromString(node.SerializeToString()) for node in nodes]
    graph.ClearField("node")
    graph.node.extend(copies)
    flow = DataFlow(graph)
    flow.sort()
    graph.ClearField("node")
    graph.node.extend(flow.nodes)
    save_model(model, path)
    return path


def _float64_matmul(node: onnx.NodeProto) -> list[onnx.NodeProto]:
    """The same product computed in float64 and rounded once to float32."""
    wide = [f"{name}/mathpad_float64" for name in node.input]
    product = f"{node.output[0]}/mathpad_float64"
    casts = [
        helper.make_node("Cast", [name], [w], to=onnx.TensorProto.DOUBLE)
        for name, w in zip(node.input, wide, strict=True)
    ]
    matmul = helper.make_node("MatMul", wide, [product])
    back = helper.make_node("Cast", [product], [node.output[0]], to=onnx.TensorProto.FLOAT)
    return [*casts, matmul, back]
