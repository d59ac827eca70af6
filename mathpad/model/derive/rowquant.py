"""Per-row dynamic quantization: each image's and token's activations get their own scale.

transformers.js's int8 graphs quantize activations with DynamicQuantizeLinear, one scale and
zero point for the whole [batch, seq, features] tensor, so a row's result depends on the
other rows of the batch (and, in a step over several tokens, on the other tokens). Here each
DynamicQuantizeLinear becomes the same computation over the last axis only (min and max
including zero, scale (max - min) / 255, zero point round(-min / scale), saturated), and each
MatMulInteger it feeds takes no activation zero point; the per-row zero point's share,
zero_point[row] * sum_k (B[k, n] - b_zero_point[n]), is subtracted from its int32 output.
The integers are exactly those of a MatMulInteger with that row's zero point.

The new nodes are named after the tensor they quantize and keep the original output names,
so the verifier can put fixed scales back in their place (`row_block`).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from mathpad.model.derive.analysis import DataFlow, DerivationError

ROW_QUANT_PREFIX = "mathpad/rowquant/"


def quantize_per_row(flow: DataFlow, opset: int) -> None:
    """Replace every DynamicQuantizeLinear of `flow` by its per-row form (call `sort` after)."""
    for node in [n for n in flow.nodes if n.op_type == "DynamicQuantizeLinear"]:
        quantized, scale, zero_point = node.output
        readers = flow.consumers.get(quantized, [])
        if any(r.op_type != "MatMulInteger" or list(r.input[:3]) != [quantized, r.input[1],
               zero_point] for r in readers):  # fmt: skip
            raise DerivationError(f"{quantized} feeds something other than a MatMulInteger")
        if any(r for r in flow.consumers.get(zero_point, []) if r not in readers):
            raise DerivationError(f"{zero_point} is read outside its MatMulIntegers")
        flow.nodes.remove(node)
        flow.add(*_row_nodes(flow, node.input[0], quantized, scale, zero_point, opset))
        for reader in readers:
            _correct(flow, reader, zero_point)


def _row_nodes(
    flow: DataFlow, source: str, quantized: str, scale: str, zero_point: str, opset: int
) -> list[onnx.NodeProto]:
    tag = f"{ROW_QUANT_PREFIX}{quantized}"
    constants = {"zero": 0.0, "levels": 255.0, "one": 1.0}
    for key, value in constants.items():
        if f"{ROW_QUANT_PREFIX}{key}" not in flow.initializers:
            flow.add_initializer(np.array(value, np.float32), f"{ROW_QUANT_PREFIX}{key}")
    zero, levels, one = (f"{ROW_QUANT_PREFIX}{key}" for key in constants)

    def t(name: str) -> str:
        return f"{tag}/{name}"

    if opset >= 18:
        axes = f"{ROW_QUANT_PREFIX}last_axis"
        if axes not in flow.initializers:
            flow.add_initializer(np.array([-1], np.int64), axes)
        low = helper.make_node("ReduceMin", [source, axes], [t("min")], keepdims=1)
        high = helper.make_node("ReduceMax", [source, axes], [t("max")], keepdims=1)
    else:
        low = helper.make_node("ReduceMin", [source], [t("min")], axes=[-1], keepdims=1)
        high = helper.make_node("ReduceMax", [source], [t("max")], axes=[-1], keepdims=1)
    nodes = [
        low,
        high,
        helper.make_node("Min", [t("min"), zero], [t("low")]),
        helper.make_node("Max", [t("max"), zero], [t("high")]),
        helper.make_node("Sub", [t("high"), t("low")], [t("range")]),
        helper.make_node("Div", [t("range"), levels], [t("raw_scale")]),
        helper.make_node("Equal", [t("raw_scale"), zero], [t("flat")]),
        helper.make_node("Where", [t("flat"), one, t("raw_scale")], [scale]),
        helper.make_node("Neg", [t("low")], [t("minus_low")]),
        helper.make_node("Div", [t("minus_low"), scale], [t("zero_ratio")]),
        helper.make_node("Round", [t("zero_ratio")], [t("zero_rounded")]),
        helper.make_node("Clip", [t("zero_rounded"), zero, levels], [t("zero_float")]),
        helper.make_node("Cast", [t("zero_float")], [zero_point], to=TensorProto.UINT8),
        helper.make_node("Div", [source, scale], [t("ratio")]),
        helper.make_node("Round", [t("ratio")], [t("rounded")]),
        helper.make_node("Add", [t("rounded"), t("zero_float")], [t("shifted")]),
        helper.make_node("Clip", [t("shifted"), zero, levels], [t("clipped")]),
        helper.make_node("Cast", [t("clipped")], [quantized], to=TensorProto.UINT8),
    ]
    for index, node in enumerate(nodes):
        node.name = f"{tag}#{index}"
    return nodes


def row_block(node: onnx.NodeProto) -> str | None:
    """The quantized tensor whose per-row block `node` belongs to, or None."""
    if not node.name.startswith(ROW_QUANT_PREFIX):
        return None
    return node.name.removeprefix(ROW_QUANT_PREFIX).rsplit("#", 1)[0]


def _correct(flow: DataFlow, matmul: onnx.NodeProto, zero_point: str) -> None:
    """Drop the activation zero point of `matmul` and subtract its per-row share instead."""
    weights = flow.constant(matmul.input[1])
    offset = flow.constant(matmul.input[3]) if len(matmul.input) > 3 and matmul.input[3] else 0
    if weights is None or offset is None or weights.ndim != 2:
        raise DerivationError(f"{matmul.output[0]}: weights are not a constant matrix")
    sums = (weights.astype(np.int64) - np.asarray(offset, np.int64)).sum(axis=0)
    output = matmul.output[0]
    tag = f"mathpad/rowzero/{output}"
    column_sums = flow.add_initializer(sums.astype(np.int32), f"{tag}/column_sums")
    matmul.input[2] = ""
    matmul.output[0] = f"{tag}/uncorrected"  # the corrected sum keeps the original name
    flow.producer[matmul.output[0]] = matmul
    flow.add(
        helper.make_node("Cast", [zero_point], [f"{tag}/zero_point"], to=TensorProto.INT32),
        helper.make_node("Mul", [f"{tag}/zero_point", column_sums], [f"{tag}/share"]),
        helper.make_node("Sub", [matmul.output[0], f"{tag}/share"], [output]),
    )
