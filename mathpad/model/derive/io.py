"""Read and write decoder models without holding them in memory more than once.

Kept apart from the graph analysis and rewrites because it is only I/O: a full-size decoder
is 1.2 GB, so loading parses from a memory map and saving streams one tensor at a time.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import TypeVar

import onnx

from mathpad.model.derive.analysis import DerivationError

_Message = TypeVar("_Message", onnx.ModelProto, onnx.GraphProto)


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
