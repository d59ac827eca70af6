"""Write a saved VisionEncoderDecoder folder in the layout of onnx-community/latex_finetuned-ONNX.

The hub repo holds `onnx/encoder_model.onnx` and `onnx/decoder_model.onnx` (optimum,
task `image-to-text`, no past) and their variants made by transformers.js's
`scripts/quantize.py` (per_channel False, reduce_range False). This module reproduces
both steps so tests can run on small models of exactly that shape, and so a full-size
random model can be made the same way. Dev only: needs torch, transformers 5, onnxconverter-common,
onnxslim and onnx-ir here, and optimum (with transformers 4.x) in a second interpreter for
the optimum exporter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import onnx
import onnxslim
import torch
from onnxconverter_common import float16
from onnxruntime.quantization import QuantizationMode, QuantType
from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
from onnxruntime.quantization.onnx_quantizer import ONNXQuantizer
from onnxruntime.quantization.registry import IntegerOpsRegistry
from transformers import VisionEncoderDecoderModel

Exporter = Literal["optimum", "torch"]

PARTS = ("encoder_model", "decoder_model")
VARIANTS = ("fp16", "int8", "uint8", "quantized", "q4", "q4f16", "bnb4")
REPO_FILES = (
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
)
# optimum's VisionEncoderDecoderOnnxConfig.DEFAULT_ONNX_OPSET.
OPSET = 14
# The input/output names and dynamic axes optimum gives the two graphs.
ENCODER_AXES = {
    "pixel_values": {0: "batch_size", 1: "num_channels", 2: "height", 3: "width"},
    "last_hidden_state": {0: "batch_size"},
}
DECODER_AXES = {
    "input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
    "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"},
    "logits": {0: "batch_size", 1: "decoder_sequence_length"},
}
# torch >= 2.9 defaults torch.onnx.export to the dynamo exporter, which optimum 1.26 never
# used; pin the TorchScript exporter it was written for, then run optimum's CLI.
_OPTIMUM_SHIM = """
import functools, sys, torch.onnx
torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
from optimum.exporters.onnx.__main__ import main
sys.argv = ["optimum-cli", *sys.argv[1:]]
main()
"""
# transformers.js: 8-bit "quantized" uses uint8 weights when any of these ops is present.
_QUINT8_OPS = ("Conv", "GroupQueryAttention", "MultiHeadAttention")


def default_optimum_python() -> str:
    """Interpreter with optimum 1.26 and transformers 4.x (`MATHPAD_OPTIMUM_PYTHON` overrides)."""
    return os.environ.get("MATHPAD_OPTIMUM_PYTHON", "/work/venvs/optimum/bin/python")


def export_optimum(model_dir: Path, out_dir: Path, python: str) -> None:
    """Export with optimum's CLI in `python`; keep its onnx files and the repo files it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [python, "-c", _OPTIMUM_SHIM, "--model", str(model_dir)]
        command += ["--task", "image-to-text", "--no-post-process", tmp]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"optimum export failed:\n{result.stdout}\n{result.stderr}")
        (out_dir / "onnx").mkdir(parents=True, exist_ok=True)
        for part in PARTS:
            shutil.move(Path(tmp) / f"{part}.onnx", out_dir / "onnx" / f"{part}.onnx")
        for name in REPO_FILES:
            source = Path(tmp) / name
            shutil.copyfile(source if source.exists() else model_dir / name, out_dir / name)


class _EncoderGraph(torch.nn.Module):
    """pixel_values -> last_hidden_state, as optimum's encoder_model.onnx."""

    def __init__(self, model: VisionEncoderDecoderModel) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixel_values=pixel_values).last_hidden_state


class _DecoderGraph(torch.nn.Module):
    """(input_ids, encoder_hidden_states) -> logits, no cache, as optimum's decoder_model.onnx."""

    def __init__(self, model: VisionEncoderDecoderModel) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, input_ids: torch.Tensor, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        out = self.decoder(
            input_ids=input_ids, encoder_hidden_states=encoder_hidden_states, use_cache=False
        )
        return out.logits


def export_torch(model_dir: Path, out_dir: Path) -> None:
    """Export with torch.onnx.export (TorchScript) under optimum's names and dynamic axes."""
    model = VisionEncoderDecoderModel.from_pretrained(model_dir).eval()
    size = model.config.encoder.image_size
    height, width = (size, size) if isinstance(size, int) else size
    pixel_values = torch.zeros(2, model.config.encoder.num_channels, height, width)
    input_ids = torch.full((2, 16), model.config.decoder.bos_token_id)
    (out_dir / "onnx").mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        hidden = model.encoder(pixel_values=pixel_values).last_hidden_state
        for module, args, axes, part in (
            (_EncoderGraph(model), (pixel_values,), ENCODER_AXES, "encoder_model"),
            (_DecoderGraph(model), (input_ids, hidden), DECODER_AXES, "decoder_model"),
        ):
            names = list(axes)
            torch.onnx.export(
                module,
                args,
                str(out_dir / "onnx" / f"{part}.onnx"),
                input_names=names[: len(args)],
                output_names=names[len(args) :],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
    for name in REPO_FILES:
        shutil.copyfile(model_dir / name, out_dir / name)


def _quantize_8bit(model: onnx.ModelProto, weight_type: QuantType) -> onnx.ModelProto:
    """Dynamic quantization: DynamicQuantizeLinear + MatMulInteger/ConvInteger."""
    quantizer = ONNXQuantizer(
        model,
        False,  # per_channel
        False,  # reduce_range
        mode=QuantizationMode.IntegerOps,
        static=False,
        weight_qType=weight_type,
        activation_qType=QuantType.QUInt8,
        tensors_range=None,
        nodes_to_quantize=[],
        nodes_to_exclude=[],
        op_types_to_quantize=set(IntegerOpsRegistry),
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )
    quantizer.quantize_model()
    return quantizer.model.model


def _to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """fp16 weights and activations with float32 inputs/outputs, as transformers.js does it.

    transformers.js ships its own copy of onnxconverter-common's float16 that adds "Cast"
    and "RandomNormalLike" to the blocked ops and unblocks "Range". Blocking "Cast" by op
    type loops forever in onnxconverter-common (it blocks the casts it inserts), so the
    graph's own Cast nodes are blocked by name, which converts the same way.
    """
    for index, node in enumerate(model.graph.node):
        if node.op_type == "Cast" and not node.name:
            node.name = f"Cast_fp16_block_{index}"
    blocked_ops = [op for op in float16.DEFAULT_OP_BLOCK_LIST if op != "Range"]
    converted = float16.convert_float_to_float16(
        model,
        keep_io_types=True,
        disable_shape_infer=model.ByteSize() >= onnx.checker.MAXIMUM_PROTOBUF,
        op_block_list=[*blocked_ops, "RandomNormalLike"],
        node_block_list=[node.name for node in model.graph.node if node.op_type == "Cast"],
    )
    return onnxslim.slim(converted)


def _quantize_q4(model: onnx.ModelProto) -> onnx.ModelProto:
    """MatMulNBits, 4 bits, block 32, symmetric, default accuracy level."""
    quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, accuracy_level=None)
    quantizer.process()
    return quantizer.model.model


def _quantize_bnb4(model: onnx.ModelProto) -> onnx.ModelProto:
    """MatMulBnb4, NF4, block 64."""
    quantizer = MatMulBnb4Quantizer(model, quant_type=MatMulBnb4Quantizer.NF4, block_size=64)
    quantizer.process()
    return quantizer.model.model


def quantize_variant(model: onnx.ModelProto, variant: str) -> onnx.ModelProto:
    """Return `model` (modified in place by the quantizers) as the given hub variant."""
    if variant == "fp16":
        return _to_fp16(model)
    if variant == "q4":
        return _quantize_q4(model)
    if variant == "q4f16":
        return _to_fp16(_quantize_q4(model))
    if variant == "bnb4":
        return _quantize_bnb4(model)
    if variant == "int8":
        return _quantize_8bit(model, QuantType.QInt8)
    if variant == "uint8":
        return _quantize_8bit(model, QuantType.QUInt8)
    if variant == "quantized":
        ops = {node.op_type for node in model.graph.node}
        uint8 = any(op in ops for op in _QUINT8_OPS)
        return _quantize_8bit(model, QuantType.QUInt8 if uint8 else QuantType.QInt8)
    raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def _check_and_save(model: onnx.ModelProto, path: Path) -> None:
    """Check the graph (when under protobuf's 2 GB limit) and save it, like optimum does."""
    if model.ByteSize() < onnx.checker.MAXIMUM_PROTOBUF:
        onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_variants(onnx_dir: Path, variants: Iterable[str] = VARIANTS) -> None:
    """Write `{part}_{variant}.onnx` next to each fp32 part in `onnx_dir`."""
    for part in PARTS:
        for variant in variants:
            # The quantizers change the model in place, so every variant loads it afresh.
            model = onnx.load(str(onnx_dir / f"{part}.onnx"))
            _check_and_save(quantize_variant(model, variant), onnx_dir / f"{part}_{variant}.onnx")


def write_hub_repo(
    model_dir: Path,
    out_dir: Path,
    exporter: Exporter,
    variants: Iterable[str] = VARIANTS,
    optimum_python: str | None = None,
) -> None:
    """Turn a saved model folder (weights, config, tokenizer, processor) into the hub layout."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if exporter == "optimum":
        export_optimum(model_dir, out_dir, optimum_python or default_optimum_python())
    else:
        export_torch(model_dir, out_dir)
    write_variants(out_dir / "onnx", variants)
