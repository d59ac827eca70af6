"""Build what an ONNX user would pick instead of mathpad: optimum's export WITH past K/V.

optimum 1.26.1's `image-to-text-with-past` export of a PyTorch model folder (encoder,
decoder, decoder_with_past; no merge, which ORTModelForVision2Seq loads with
use_merged=False), then int8 copies by onnxruntime's `quantize_dynamic` at transformers.js's
settings (signed int8 weights, per_channel False, reduce_range False, EnableSubgraph,
MatMulConstBOnly). Dev only, in the optimum venv:

    /work/venvs/optimum/bin/python benchmarks/make_optimum_past.py \\
        --model /work/models/full-optimum/pytorch --out /work/models/full-optimum-past
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

PARTS = ("encoder_model", "decoder_model", "decoder_with_past_model")
# torch >= 2.9 defaults torch.onnx.export to the dynamo exporter, which optimum 1.26 never
# used; pin the TorchScript exporter it was written for, then run optimum's CLI.
_SHIM = """
import functools, sys, torch.onnx
torch.onnx.export = functools.partial(torch.onnx.export, dynamo=False)
from optimum.exporters.onnx.__main__ import main
sys.argv = ["optimum-cli", *sys.argv[1:]]
main()
"""


def export(model: Path, out: Path) -> None:
    if all((out / f"{part}.onnx").is_file() for part in PARTS):
        return
    command = [sys.executable, "-c", _SHIM, "--model", str(model)]
    command += ["--task", "image-to-text-with-past", "--no-post-process", str(out)]
    subprocess.run(command, check=True)


def quantize(out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for part in PARTS:
        target = out / f"{part}_int8.onnx"
        if target.is_file():
            continue
        partial = target.with_suffix(".part")
        quantize_dynamic(
            out / f"{part}.onnx",
            partial,
            weight_type=QuantType.QInt8,
            per_channel=False,
            reduce_range=False,
            extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
        )
        partial.rename(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="save_pretrained folder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    export(args.model, args.out)
    quantize(args.out)
    for name in ("preprocessor_config.json", "tokenizer.json", "generation_config.json"):
        if (args.model / name).is_file() and not (args.out / name).is_file():
            shutil.copyfile(args.model / name, args.out / name)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
