"""Derive fast decoder graphs from the published decoder, which has no key/value cache.

The published decoder takes the whole token prefix and the encoder states at every step, so
each step recomputes every position and the cross-attention keys and values of every encoder
state. The rewrites below split that graph into a one-off `prepare` graph (everything that
depends only on the encoder states, down to the cross-attention heads) and a per-step `step`
graph, which at the "cached" level takes the self-attention keys and values of the earlier
tokens and processes only the T new ones under their causal mask. In dynamically quantized
graphs every activation is quantized per row (per image and token) instead of over the whole
tensor, so a row's result never depends on the rest of the batch. They rely on the structure
`analysis` finds, never on node names. Whether a rewrite is right is decided by `verify`,
never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper

from mathpad.model.derive.analysis import DataFlow, DerivationError, Layout, analyse
from mathpad.model.derive.rowquant import quantize_per_row

__all__ = [
    "DERIVATION_VERSION",
    "LEVELS",
    "DerivationError",
    "DerivedGraphs",
    "Precision",
    "StepSignature",
    "derive",
]

DERIVATION_VERSION = 2  # 2: per-row quantization, T new tokens per cached step
LEVELS = ("cached", "hoisted")  # fastest first

_PREFIX = "mathpad/"  # no exporter names a tensor like this


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
    new_tokens: str | None = None  # hoisted: int64 [1], how many last positions get logits


@dataclass(frozen=True)
class Precision:
    """How the source computes, which decides how a rewrite can be verified."""

    float16: bool  # float16 weights and activations
    dynamic_int8: bool  # DynamicQuantizeLinear picks activation scales per run


@dataclass
class DerivedGraphs:
    prepare: onnx.ModelProto
    step: onnx.ModelProto
    signature: StepSignature
    precision: Precision


def derive(model: onnx.ModelProto, level: str) -> DerivedGraphs:
    """Rewrite `model` in place into the step graph of `level`; returns it with `prepare`.

    In place, so that a full-size decoder's weights exist once in memory.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {LEVELS}")
    flow = DataFlow(model.graph)
    layout = analyse(flow)
    precision = Precision(
        float16=any(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer),
        dynamic_int8=any(node.op_type == "DynamicQuantizeLinear" for node in flow.nodes),
    )
    new_tokens = _slice_last_positions(flow, layout.lm_head) if level == "hoisted" else None
    if precision.dynamic_int8:
        quantize_per_row(flow, _opset(model))
    _split_heads_by_encoder_batch(flow, layout)
    flow.sort()
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
    inputs = [flow.inputs[layout.ids], *(_value_info(flow, name) for name in cross)]
    if new_tokens is not None:
        inputs.append(helper.make_tensor_value_info(new_tokens, TensorProto.INT64, [1]))
    outputs = [model.graph.output[0]]
    past: list[str] = []
    present: list[str] = []
    if level == "cached":
        past, present = _add_self_attention_cache(flow, layout, _opset(model))
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
        new_tokens=new_tokens,
    )
    return DerivedGraphs(prepare, model, signature, precision)


def _split_heads_by_encoder_batch(flow: DataFlow, layout: Layout) -> None:
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


def _slice_last_positions(flow: DataFlow, lm_head: onnx.NodeProto) -> str:
    """Only the last T rows reach the vocabulary projection; returns the name of T's input.

    In a quantized graph the slice goes before the head's quantization, which is per row
    once `quantize_per_row` has run, so the kept rows are quantized as they would be anyway.
    """
    head_input = flow.producer.get(lm_head.input[0])
    quantized = head_input is not None and head_input.op_type == "DynamicQuantizeLinear"
    reader = head_input if quantized else lm_head
    source, sliced, count = reader.input[0], f"{_PREFIX}last_positions", f"{_PREFIX}new_tokens"
    for key, value in {"ends": np.iinfo(np.int64).max, "axes": 1}.items():
        flow.add_initializer(np.array([value], np.int64), f"{_PREFIX}{key}")
    starts = f"{_PREFIX}starts"
    reader.input[0] = sliced
    flow.add(
        helper.make_node("Neg", [count], [starts]),
        helper.make_node("Slice", [source, starts, f"{_PREFIX}ends", f"{_PREFIX}axes"], [sliced]),
    )
    return count


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 14)


def _add_self_attention_cache(
    flow: DataFlow, layout: Layout, opset: int
) -> tuple[list[str], list[str]]:
    """Feed past K/V per layer, process the T new tokens, return the grown K/V.

    Past rows are concatenated onto the [batch, seq, d_model] projection outputs; the head
    split reshapes use -1 and the scores take the source length from K, so nothing else
    needs rewiring but the mask: the graph's causal mask is [T, T], the scores are
    [T, past + T], so each self-attention block gets a mask that lets new token i see the
    past and new tokens up to i. The position Range (int64 in every export) is shifted by the
    past length, read from the first past tensor.
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
    one = flow.add_initializer(np.array(1, np.int64), f"{length}/axis")
    shape = helper.make_node("Shape", [past[0]], [f"{length}/shape"])
    gather = helper.make_node("Gather", [f"{length}/shape", one], [length])
    flow.nodes += [shape, gather]
    shifted = f"{_PREFIX}positions"
    add = helper.make_node("Add", [layout.position_range, length], [shifted])
    _rewire(flow, layout.position_range, shifted, keep=add)
    flow.nodes.append(add)
    _add_causal_mask(flow, layout, length, opset)
    return past, present


def _add_causal_mask(flow: DataFlow, layout: Layout, past_length: str, opset: int) -> None:
    """mask[i, j] = 0 where key j <= past + i, else the dtype's lowest value (as exported)."""
    masks = [block.mask for block in layout.self_attention if block.mask is not None]
    if len(masks) != len(layout.self_attention):
        raise DerivationError("a self-attention block adds no causal mask to its scores")
    name = f"{_PREFIX}causal"
    zero = flow.add_initializer(np.array(0, np.int64), f"{name}/zero")
    step = flow.add_initializer(np.array(1, np.int64), f"{name}/step")
    column = flow.add_initializer(np.array([1], np.int64), f"{name}/column_axis")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(flow.elem_type(masks[0][0].output[0]))
    visible = flow.add_initializer(np.array(0, dtype), f"{name}/visible")
    hidden = flow.add_initializer(np.array(np.finfo(dtype).min, dtype), f"{name}/hidden")
    unsqueeze = (
        helper.make_node("Unsqueeze", [f"{name}/queries", column], [f"{name}/rows"])
        if opset >= 13
        else helper.make_node("Unsqueeze", [f"{name}/queries"], [f"{name}/rows"], axes=[1])
    )
    flow.nodes += [
        helper.make_node("Shape", [layout.ids], [f"{name}/ids_shape"]),
        helper.make_node("Gather", [f"{name}/ids_shape", f"{past_length}/axis"], [f"{name}/new"]),
        helper.make_node("Add", [past_length, f"{name}/new"], [f"{name}/total"]),
        helper.make_node("Range", [past_length, f"{name}/total", step], [f"{name}/queries"]),
        helper.make_node("Range", [zero, f"{name}/total", step], [f"{name}/keys"]),
        unsqueeze,
        helper.make_node("LessOrEqual", [f"{name}/keys", f"{name}/rows"], [f"{name}/allowed"]),
        helper.make_node("Where", [f"{name}/allowed", visible, hidden], [name]),
    ]
    for add, index in masks:
        add.input[index] = name


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
