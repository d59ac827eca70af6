"""Derive fast decoder graphs from the published decoder, which has no key/value cache.

The published decoder takes the whole token prefix and the encoder states at every step, so
each step recomputes every position and the cross-attention keys and values of every encoder
state. The rewrites below split that graph into a one-off `prepare` graph (everything that
depends only on the encoder states, down to the cross-attention heads) and a per-step `step`
graph, which at the "cached" level takes the self-attention keys and values of the earlier
tokens and processes only the newest one. They match data-flow structure only: node names
differ between exporters (optimum under transformers 4, torch.onnx.export under transformers
5) and carry no meaning. Whether a rewrite is right is decided by `graph_verify`, never
assumed.
"""

from __future__ import annotations

import mmap
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DERIVATION_VERSION = 1
LEVELS = ("cached", "hoisted")  # fastest first

_LAYOUT_OPS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity"}
_MATMUL_OPS = {"MatMul", "MatMulInteger", "MatMulNBits", "MatMulBnb4"}
_INDEX_OPS = {"Expand", "Unsqueeze", "Squeeze", "Reshape", "Cast"}
_BOOL_OPS = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or"}
_PREFIX = "mathpad/"  # no exporter names a tensor like this

_Message = TypeVar("_Message", onnx.ModelProto, onnx.GraphProto)


class DerivationError(Exception):
    """The graph does not have the structure a rewrite relies on."""


@dataclass(frozen=True)
class StepSignature:
    """The names that tie derived graphs to their runner; stored with them in the cache."""

    ids: str
    states: str
    logits: str
    cross: tuple[str, ...]  # outputs of `prepare`, inputs of `step`
    past: tuple[str, ...]  # cache inputs of `step`; empty when only hoisted
    present: tuple[str, ...]  # cache outputs of `step`, in the order of `past`
    max_length: int  # longest token sequence the position table can embed


@dataclass(frozen=True)
class Precision:
    """How the source computes, which decides how a rewrite can be verified."""

    float16: bool  # float16 weights and activations
    dynamic_int8: bool  # DynamicQuantizeLinear picks activation scales per run


@dataclass
class DerivedGraphs:
    level: str
    prepare: onnx.ModelProto
    step: onnx.ModelProto
    signature: StepSignature
    precision: Precision


def load_model(path: Path) -> onnx.ModelProto:
    """Parse from a memory map: a 1.2 GB decoder must not also sit in memory as bytes."""
    model = onnx.ModelProto()
    with (
        path.open("rb") as file,
        mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view,
        memoryview(view) as buffer,
    ):
        model.ParseFromString(buffer)
    onnx.load_external_data_for_model(model, str(path.parent))
    return model


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Write one self-contained file, one tensor at a time.

    `onnx.save` serializes the whole model first, two transient copies of a 1.1 GB step
    graph (3.5 GB peak at full size); external data would tie the graph to a side file that
    a session cache copying the .onnx alone would lose. Protobuf lets fields come in any
    order, so the graph's other fields go first and its initializers follow one by one.
    """
    graph = model.graph
    model_rest, graph_rest = _without(model, "graph"), _without(graph, "initializer")
    head = graph_rest.SerializeToString()
    sizes = [tensor.ByteSize() for tensor in graph.initializer]
    length = len(head) + sum(1 + len(_varint(size)) + size for size in sizes)
    if length >= 2**31:
        raise DerivationError(f"{path.name} would exceed protobuf's 2 GB limit")
    with path.open("wb") as file:
        file.write(model_rest.SerializeToString())
        file.write(_GRAPH_TAG + _varint(length) + head)
        for tensor, size in zip(graph.initializer, sizes, strict=True):
            file.write(_INITIALIZER_TAG + _varint(size) + tensor.SerializeToString())


_GRAPH_TAG = bytes([7 << 3 | 2])  # ModelProto.graph: field 7, length-delimited
_INITIALIZER_TAG = bytes([5 << 3 | 2])  # GraphProto.initializer: field 5, length-delimited


def _without(message: _Message, skipped: str) -> _Message:
    """A copy of `message` without the field `skipped`, which is never copied."""
    copy = type(message)()
    for field, value in message.ListFields():
        if field.name == skipped:
            continue
        if isinstance(value, str | bytes | int | float):
            setattr(copy, field.name, value)
        elif hasattr(value, "CopyFrom"):
            getattr(copy, field.name).CopyFrom(value)
        else:
            getattr(copy, field.name).extend(value)
    return copy


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


class DataFlow:
    """Producers, consumers and constant values of one graph's tensors."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes = list(graph.node)
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in self.nodes:
            self.producer.update((name, node) for name in node.output if name)
            for name in node.input:
                self.consumers[name].append(node)
        self.initializers = {tensor.name: tensor for tensor in graph.initializer}
        self.inputs = {value.name: value for value in graph.input}

    def downstream(self, sources: Iterable[str]) -> set[str]:
        """Every tensor computed from `sources` (graph nodes are in topological order)."""
        reached = set(sources)
        for node in self.nodes:
            if any(name in reached for name in node.input):
                reached.update(node.output)
        return reached

    def sort(self) -> None:
        """Reorder nodes so each follows the producers of its inputs, otherwise as they were."""
        producer = {name: node for node in self.nodes for name in node.output}
        order: list[onnx.NodeProto] = []
        seen: set[int] = set()
        for root in self.nodes:
            stack = [(root, False)]
            while stack:  # depth-first post-order: inputs first
                node, expanded = stack.pop()
                if expanded:
                    order.append(node)
                elif id(node) not in seen:
                    seen.add(id(node))
                    stack.append((node, True))
                    stack += [(producer[n], False) for n in reversed(node.input) if n in producer]
        self.nodes = order

    def upstream(self, targets: Iterable[str]) -> list[onnx.NodeProto]:
        """The nodes `targets` need, in graph order."""
        needed = set(targets)
        kept = []
        for node in reversed(self.nodes):
            if any(name in needed for name in node.output):
                kept.append(node)
                needed.update(name for name in node.input if name)
        return kept[::-1]

    def constant(self, name: str) -> np.ndarray | None:
        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant" and node.attribute[0].name == "value":
            return numpy_helper.to_array(node.attribute[0].t)
        return None

    def elem_type(self, name: str) -> int:
        """ONNX element type of a tensor, following the ops these decoders use."""
        while True:
            if name in self.initializers:
                return self.initializers[name].data_type
            if name in self.inputs:
                return self.inputs[name].type.tensor_type.elem_type
            node = self.producer[name]
            op, index = node.op_type, list(node.output).index(name)
            attributes = {a.name: a for a in node.attribute}
            if op == "Cast":
                return attributes["to"].i
            if op in {"Constant", "ConstantOfShape"}:
                value = attributes.get("value")
                return value.t.data_type if value is not None else TensorProto.FLOAT
            if op == "DynamicQuantizeLinear":
                return (TensorProto.UINT8, TensorProto.FLOAT, TensorProto.UINT8)[index]
            if op in {"Shape", "Size"}:
                return TensorProto.INT64
            if op == "MatMulInteger":
                return TensorProto.INT32
            if op in _BOOL_OPS:
                return TensorProto.BOOL
            name = node.input[1] if op in {"Where", "DequantizeLinear"} else node.input[0]


@dataclass(frozen=True)
class _Attention:
    key: str  # projection output [batch, source, d_model], before the head split
    value: str
    head_split: tuple[onnx.NodeProto, ...]  # layout ops from key and value to the MatMuls


@dataclass(frozen=True)
class _Layout:
    """What the rewrites need to know about a decoder graph."""

    ids: str
    states: str
    logits: str
    self_attention: tuple[_Attention, ...]
    cross_attention: tuple[_Attention, ...]
    position_range: str  # Range output counting 0..seq-1 for the learned positions
    max_length: int
    width: int  # d_model
    lm_head: onnx.NodeProto


def analyse(flow: DataFlow) -> _Layout:
    graph = flow.graph
    if len(graph.input) != 2 or len(graph.output) != 1:
        raise DerivationError("expected inputs (input_ids, encoder_hidden_states) -> logits")
    by_type = {value.type.tensor_type.elem_type: value.name for value in graph.input}
    if TensorProto.INT64 not in by_type or len(by_type) != 2:
        raise DerivationError("expected one int64 and one float input")
    ids = by_type.pop(TensorProto.INT64)
    (states,) = by_type.values()
    from_ids = flow.downstream([ids])
    attention = [_attention_block(flow, node) for node in flow.nodes if node.op_type == "Softmax"]
    self_attention = tuple(block for block in attention if block.key in from_ids)
    cross_attention = tuple(block for block in attention if block.key not in from_ids)
    if not self_attention or len(self_attention) != len(cross_attention):
        raise DerivationError(f"found {len(attention)} attention blocks, not self/cross pairs")
    position_range, max_length, width = _positions(flow, from_ids)
    logits = graph.output[0].name
    return _Layout(
        ids=ids,
        states=states,
        logits=logits,
        self_attention=self_attention,
        cross_attention=cross_attention,
        position_range=position_range,
        max_length=max_length,
        width=width,
        lm_head=_nearest(flow, logits, _MATMUL_OPS),
    )


def _attention_block(flow: DataFlow, softmax: onnx.NodeProto) -> _Attention:
    """From a Softmax: the scores MatMul above (Q times K) and the context MatMul below (V)."""
    scores = _nearest(flow, softmax.input[0], {"MatMul"})
    context = _nearest(flow, softmax.output[0], {"MatMul"}, downward=True)
    key, key_split = _projection(flow, scores.input[1])
    value, value_split = _projection(flow, context.input[1])
    return _Attention(key, value, key_split + value_split)


def _nearest(flow: DataFlow, name: str, ops: set[str], *, downward: bool = False) -> onnx.NodeProto:
    """The closest node of type `ops` above (or below) `name`, breadth first.

    The scores MatMul is a few reshapes and the mask Add above its Softmax (the mask has no
    MatMul above it), the context MatMul reads the Softmax, the LM head is a cast, scale or
    bias above the logits.
    """
    queue, seen = deque([name]), {name}
    while queue:
        tensor = queue.popleft()
        producer = flow.producer.get(tensor)
        nodes = flow.consumers.get(tensor, []) if downward else [producer] if producer else []
        for node in nodes:
            if node.op_type in ops:
                return node
            for step in node.output if downward else node.input:
                if step and step not in seen:
                    seen.add(step)
                    queue.append(step)
    raise DerivationError(f"no {'/'.join(sorted(ops))} near {name!r}")


def _projection(flow: DataFlow, name: str) -> tuple[str, tuple[onnx.NodeProto, ...]]:
    """Walk a K or V operand back through layout-only ops to the projection output."""
    chain = []
    while (node := flow.producer.get(name)) is not None and node.op_type in _LAYOUT_OPS:
        chain.append(node)
        name = node.input[0]
    return name, tuple(chain)


def _positions(flow: DataFlow, from_ids: set[str]) -> tuple[str, int, int]:
    """The learned-position lookup: Range -> (+ offset) -> Gather on a [rows, d_model] table.

    Returns the Range output, the longest sequence the table embeds and d_model.
    """
    ranges = {node.output[0] for node in flow.nodes if node.op_type == "Range"} & from_ids
    from_ranges = flow.downstream(ranges)
    for node in flow.nodes:
        table = flow.initializers.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or len(table.dims) != 2 or node.input[1] not in from_ranges:
            continue
        offset, name = 0, node.input[1]
        while name not in ranges:
            step = flow.producer[name]
            constants = [flow.constant(i) for i in step.input]
            if step.op_type == "Add" and sum(c is not None for c in constants) == 1:
                offset += int(next(c for c in constants if c is not None).reshape(-1)[0])
                name = next(i for i, c in zip(step.input, constants, strict=True) if c is None)
            elif step.op_type in _INDEX_OPS:
                name = step.input[0]
            else:
                raise DerivationError(f"unexpected {step.op_type} between Range and positions")
        return name, int(table.dims[0]) - offset, int(table.dims[1])
    raise DerivationError("no learned position table fed by a Range over input_ids")


def derive(model: onnx.ModelProto, level: str) -> DerivedGraphs:
    """Rewrite `model` in place into the step graph of `level`; returns it with `prepare`.

    In place, so that a full-size decoder's weights exist once in memory.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    flow = DataFlow(model.graph)
    layout = analyse(flow)
    _split_heads_by_encoder_batch(flow, layout)
    flow.sort()
    precision = Precision(
        float16=any(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer),
        dynamic_int8=any(node.op_type == "DynamicQuantizeLinear" for node in flow.nodes),
    )
    from_ids = flow.downstream([layout.ids])
    encoder_only = flow.downstream([layout.states]) - from_ids
    per_step = [node for node in flow.nodes if not set(node.output) <= encoder_only]
    cross = list(
        dict.fromkeys(name for node in per_step for name in node.input if name in encoder_only)
    )
    if not cross:
        raise DerivationError("no per-token node reads anything computed from the encoder")
    prepare = _prepare_model(model, flow, layout.states, cross)
    flow.nodes = per_step
    if level == "hoisted":  # a cached step has one position; unsliced, int8 keeps its fusion
        _slice_last_position(flow, layout.lm_head)
    inputs = [flow.inputs[layout.ids], *(_value_info(flow, name) for name in cross)]
    outputs = [model.graph.output[0]]
    past: list[str] = []
    present: list[str] = []
    if level == "cached":
        past, present = _add_self_attention_cache(flow, layout)
        key_type = flow.elem_type(layout.self_attention[0].key)
        shape = ["batch", "past_sequence", layout.width]
        inputs += [helper.make_tensor_value_info(name, key_type, shape) for name in past]
        outputs += [helper.make_tensor_value_info(name, key_type, shape) for name in present]
    _replace_nodes(model.graph, flow, inputs, outputs)
    signature = StepSignature(
        ids=layout.ids,
        states=layout.states,
        logits=layout.logits,
        cross=tuple(cross),
        past=tuple(past),
        present=tuple(present),
        max_length=layout.max_length,
    )
    return DerivedGraphs(level, prepare, model, signature, precision)


def _split_heads_by_encoder_batch(flow: DataFlow, layout: _Layout) -> None:
    """Let the cross-attention head splits take the batch size from the encoder states.

    Their Reshape shapes read the batch size from the decoder's hidden states, which would
    keep the split and the transposes of every encoder row in each step. Rebuilt from
    Shape(encoder_hidden_states), they depend on the encoder alone and move to `prepare`.
    A shape that needs any other per-token value is left as it is. Call `flow.sort()` after.
    """
    from_ids = flow.downstream([layout.ids])
    encoder_shape = f"{_PREFIX}encoder_shape"
    flow.nodes.append(helper.make_node("Shape", [layout.states], [encoder_shape]))
    rebuilt: dict[str, str | None] = {}

    def rebuild(name: str) -> str | None:
        if name not in from_ids or name in rebuilt:
            return rebuilt.get(name, name)
        rebuilt[name] = None
        node = flow.producer.get(name)
        if node is None:
            return None
        if _is_batch_size(flow, node):
            inputs: list[str | None] = [encoder_shape, node.input[1]]
        else:
            inputs = [rebuild(source) if source else source for source in node.input]
            if None in inputs:
                return None
        outputs = [f"{_PREFIX}encoder/{output}" for output in node.output]
        clone = helper.make_node(node.op_type, inputs, outputs, domain=node.domain)
        clone.attribute.extend(node.attribute)
        flow.nodes.append(clone)
        rebuilt.update(zip(node.output, outputs, strict=True))
        return rebuilt[name]

    for block in layout.cross_attention:
        for reshape in block.head_split:
            if reshape.op_type == "Reshape" and (shape := rebuild(reshape.input[1])) is not None:
                reshape.input[1] = shape


def _is_batch_size(flow: DataFlow, node: onnx.NodeProto) -> bool:
    """Gather(Shape(x), 0): the batch size, whichever tensor x it is read from."""
    source = flow.producer.get(node.input[0]) if node.op_type == "Gather" else None
    if source is None or source.op_type != "Shape" or len(source.attribute) > 0:
        return False
    index = flow.constant(node.input[1])
    return index is not None and index.size == 1 and int(index.reshape(-1)[0]) == 0


def _prepare_model(
    model: onnx.ModelProto, flow: DataFlow, states: str, cross: list[str]
) -> onnx.ModelProto:
    """The one-off graph: encoder states in, everything per-token nodes read from them out."""
    nodes = flow.upstream(cross)
    used = {name for node in nodes for name in node.input}
    graph = helper.make_graph(
        nodes,
        "prepare",
        [flow.inputs[states]],
        [_value_info(flow, name) for name in cross],
        [tensor for name, tensor in flow.initializers.items() if name in used],
    )
    return helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)


def _value_info(flow: DataFlow, name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, flow.elem_type(name), None)


def _rewire(flow: DataFlow, old: str, new: str, keep: onnx.NodeProto) -> None:
    """Make every reader of `old` except `keep` read `new`."""
    for node in flow.nodes:
        if node is not keep:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new


def _slice_last_position(flow: DataFlow, lm_head: onnx.NodeProto) -> None:
    """Only the last row reaches the vocabulary projection.

    The slice goes on the head's own activation input: in int8 that is the already
    quantized tensor, so its scale still comes from every row, as in the original.
    """
    source, sliced = lm_head.input[0], f"{_PREFIX}last_position"
    bounds = {"starts": -1, "ends": np.iinfo(np.int64).max, "axes": 1}
    for key, value in bounds.items():
        flow.graph.initializer.append(
            numpy_helper.from_array(np.array([value], np.int64), f"{_PREFIX}{key}")
        )
    lm_head.input[0] = sliced
    flow.nodes.append(
        helper.make_node("Slice", [source, *(f"{_PREFIX}{k}" for k in bounds)], [sliced])
    )


def _add_self_attention_cache(flow: DataFlow, layout: _Layout) -> tuple[list[str], list[str]]:
    """Feed past K/V per layer, process the newest token, return the grown K/V.

    Past rows are concatenated onto the [batch, seq, d_model] projection outputs; the head
    split reshapes use -1 and the scores take the source length from K, so nothing else
    needs rewiring. With one new token the causal mask collapses to a single zero. The
    position Range (int64 in every export) is shifted by the past length, read from the
    first past tensor.
    """
    past, present = [], []
    for layer, block in enumerate(layout.self_attention):
        for kind, name in (("key", block.key), ("value", block.value)):
            past_name = f"{_PREFIX}past.{layer}.{kind}"
            grown = f"{_PREFIX}present.{layer}.{kind}"
            concat = helper.make_node("Concat", [past_name, name], [grown], axis=1)
            _rewire(flow, name, grown, keep=concat)
            flow.nodes.append(concat)
            past.append(past_name)
            present.append(grown)
    length = f"{_PREFIX}past_length"
    flow.graph.initializer.append(numpy_helper.from_array(np.array(1, np.int64), f"{length}/axis"))
    shape = helper.make_node("Shape", [past[0]], [f"{length}/shape"])
    gather = helper.make_node("Gather", [f"{length}/shape", f"{length}/axis"], [length])
    flow.nodes += [shape, gather]
    shifted = f"{_PREFIX}positions"
    add = helper.make_node("Add", [layout.position_range, length], [shifted])
    _rewire(flow, layout.position_range, shifted, keep=add)
    flow.nodes.append(add)
    return past, present


def _replace_nodes(
    graph: onnx.GraphProto,
    flow: DataFlow,
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
) -> None:
    """Install the edited nodes in topological order and drop what the outputs no longer use."""
    flow.sort()
    order = flow.upstream(value.name for value in outputs)
    used = {name for node in order for name in node.input}
    copies = [onnx.NodeProto.FromString(node.SerializeToString()) for node in order]
    graph.ClearField("node")
    graph.node.extend(copies)
    graph.ClearField("value_info")
    for field, values in (("input", inputs), ("output", outputs)):
        copied = [onnx.ValueInfoProto.FromString(v.SerializeToString()) for v in values]
        graph.ClearField(field)
        getattr(graph, field).extend(copied)
    for index in reversed(range(len(graph.initializer))):
        if graph.initializer[index].name not in used:
            del graph.initializer[index]
