"""Find the parts of a decoder graph that the rewrites in `graphs` change.

Kept apart from the rewrites because it only reads: `DataFlow` indexes a graph's tensors
and `analyse` locates the inputs, the self- and cross-attention blocks, the learned position
lookup and the LM head. It matches data-flow structure only: node names differ between
exporters (optimum under transformers 4, torch.onnx.export under transformers 5) and carry
no meaning.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

_LAYOUT_OPS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity"}
_MATMUL_OPS = {"MatMul", "MatMulInteger", "MatMulNBits", "MatMulBnb4"}
_INDEX_OPS = {"Expand", "Unsqueeze", "Squeeze", "Reshape", "Cast"}
# Constant's scalar and list attributes: numpy type and AttributeProto field.
_CONSTANT_FORMS = {
    "value_int": (np.int64, "i"),
    "value_ints": (np.int64, "ints"),
    "value_float": (np.float32, "f"),
    "value_floats": (np.float32, "floats"),
}
_BOOL_OPS = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or"}


class DerivationError(Exception):
    """The graph does not have the structure a rewrite relies on."""


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

    def add(self, *nodes: onnx.NodeProto) -> None:
        """Append new nodes (call `sort` before relying on the order)."""
        for node in nodes:
            self.nodes.append(node)
            self.producer.update((name, node) for name in node.output if name)
            for name in node.input:
                self.consumers[name].append(node)

    def add_initializer(self, value: np.ndarray, name: str) -> str:
        tensor = numpy_helper.from_array(value, name)
        self.graph.initializer.append(tensor)
        self.initializers[name] = tensor
        return name

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
        """The value of an initializer or Constant node (any of its value attributes)."""
        if name in self.initializers:
            return numpy_helper.to_array(self.initializers[name])
        node = self.producer.get(name)
        if node is None or node.op_type != "Constant":
            return None
        for attribute in node.attribute:
            if attribute.name == "value":
                return numpy_helper.to_array(attribute.t)
            if attribute.name in _CONSTANT_FORMS:
                dtype, field = _CONSTANT_FORMS[attribute.name]
                return np.array(getattr(attribute, field), dtype)
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
                if "value" in attributes:
                    return attributes["value"].t.data_type
                ints = {"value_int", "value_ints"} & set(attributes)
                return TensorProto.INT64 if ints else TensorProto.FLOAT
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
class Attention:
    """One attention block: where its keys and values are projected and split into heads."""

    key: str  # projection output [batch, source, d_model], before the head split
    value: str
    head_split: tuple[onnx.NodeProto, ...]  # layout ops from key and value to the MatMuls
    mask: tuple[onnx.NodeProto, int] | None  # the Add of a mask onto the scores, mask's index


@dataclass(frozen=True)
class Layout:
    """What the rewrites need to know about a decoder graph."""

    ids: str
    states: str
    logits: str
    self_attention: tuple[Attention, ...]
    cross_attention: tuple[Attention, ...]
    position_range: str  # Range output counting 0..seq-1 for the learned positions
    max_length: int
    width: int  # d_model
    lm_head: onnx.NodeProto


def analyse(flow: DataFlow) -> Layout:
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
    return Layout(
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


def _attention_block(flow: DataFlow, softmax: onnx.NodeProto) -> Attention:
    """From a Softmax: the scores MatMul above (Q times K) and the context MatMul below (V)."""
    scores = _nearest(flow, softmax.input[0], {"MatMul"})
    context = _nearest(flow, softmax.output[0], {"MatMul"}, downward=True)
    key, key_split = _projection(flow, scores.input[1])
    value, value_split = _projection(flow, context.input[1])
    return Attention(key, value, key_split + value_split, _mask(flow, scores, softmax))


def _mask(
    flow: DataFlow, scores: onnx.NodeProto, softmax: onnx.NodeProto
) -> tuple[onnx.NodeProto, int] | None:
    """The Add between the scores and the Softmax whose other operand is not from the scores."""
    from_scores = flow.downstream(scores.output)
    name = softmax.input[0]
    while name != scores.output[0] and (node := flow.producer.get(name)) is not None:
        inputs = [i for i in node.input if i in from_scores]
        if node.op_type == "Add" and len(inputs) == 1 and len(node.input) == 2:
            return node, 1 - list(node.input).index(inputs[0])
        if not inputs:
            return None
        name = inputs[0]
    return None


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
