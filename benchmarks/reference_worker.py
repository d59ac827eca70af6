"""The references bench_recognize compares with, timed in the dev venv (torch, optimum).

Run by bench_recognize.py in a subprocess with /work/venvs/optimum/bin/python, which has
torch, transformers 4.52 and optimum 1.26.1 but not mathpad's own dependencies. It gets the
pixel values mathpad computes (the same as the image processor's, bit for bit), times
`generate` with the KV cache, greedy, at each asked length, and prints one JSON object.

  torch:        VisionEncoderDecoderModel (PyTorch fp32), the model card's pipeline
  optimum-past: ORTModelForVision2Seq on an image-to-text-with-past export (fp32 or int8)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from machine_load import cpu_seconds

FILES = {
    "fp32": ("encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx"),
    "int8": (
        "encoder_model_int8.onnx",
        "decoder_model_int8.onnx",
        "decoder_with_past_model_int8.onnx",
    ),
}


def load(kind: str, model: Path, variant: str, threads: int) -> torch.nn.Module:
    torch.set_num_threads(threads)
    if kind == "torch":
        from transformers import VisionEncoderDecoderModel

        return VisionEncoderDecoderModel.from_pretrained(model).eval()
    import onnxruntime as ort
    from optimum.onnxruntime import ORTModelForVision2Seq

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # the same cores as mathpad; otherwise defaults
    encoder, decoder, with_past = FILES[variant]
    return ORTModelForVision2Seq.from_pretrained(
        model,
        encoder_file_name=encoder,
        decoder_file_name=decoder,
        decoder_with_past_file_name=with_past,
        use_cache=True,
        use_merged=False,
        session_options=options,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("torch", "optimum-past"), required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--variant", choices=tuple(FILES), default="fp32")
    parser.add_argument("--pixels", type=Path, required=True, help=".npy float32 [1, 3, H, W]")
    parser.add_argument("--lengths", type=int, nargs="+", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    model = load(args.kind, args.model, args.variant, args.threads)
    pixels = torch.from_numpy(np.load(args.pixels))
    calls: list[float] = []
    if args.kind == "torch":
        began: list[float] = []
        model.decoder.register_forward_pre_hook(lambda *_: began.append(time.perf_counter()))
        model.decoder.register_forward_hook(
            lambda *_: calls.append(time.perf_counter() - began.pop())
        )

    def recognize(length: int) -> tuple[float, list[float], int]:
        calls.clear()
        start = time.perf_counter()
        with torch.inference_mode():
            tokens = model.generate(
                pixels, max_new_tokens=length - 1, min_new_tokens=length - 1, do_sample=False,
                num_beams=1,
            )  # fmt: skip
        return time.perf_counter() - start, list(calls), int(tokens.shape[1])

    recognize(4)  # warm-up
    results = []
    for length in args.lengths:
        runs, steps = [], []
        machine, own = cpu_seconds()
        wall = time.perf_counter()
        while len(runs) < args.repeats and (not runs or sum(runs) + runs[-1] <= args.budget):
            seconds, step_seconds, made = recognize(length)
            if made != length:
                raise RuntimeError(f"{args.kind} made {made} tokens, not {length}")
            runs.append(seconds)
            steps.append(step_seconds)
        wall = time.perf_counter() - wall
        machine_end, own_end = cpu_seconds()
        used = (machine_end - machine) - (own_end - own)
        others = max(used, 0.0) / (wall * (os.cpu_count() or 1))
        results.append({"length": length, "runs": runs, "steps": steps, "others": others})
    print(json.dumps({"versions": {"transformers": transformers.__version__}, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
