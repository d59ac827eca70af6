"""Reference greedy decoding with transformers' `generate`, under transformers 4.x or 5.x.

make_fixture imports it to record the reference tokens (transformers 5) and runs it as a
script in the optimum interpreter to confirm that transformers 4.x gives the same tokens:

    python tools/hf_generate.py --model DIR --tokenizer DIR --pixels FILE.npz [--decode IDS]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, VisionEncoderDecoderModel


@dataclass(frozen=True)
class GreedyRun:
    """One sequence as `generate` returned it, cut after its first EOS."""

    token_ids: list[int]
    # Raw fp32 logit of the chosen token minus the best other one, at each generated step.
    margins: list[float]
    # Whether everything after the cut was the pad id (always true for batch size 1).
    padded_after_end: bool


def generate_runs(
    model: VisionEncoderDecoderModel, pixel_values: torch.Tensor, max_length: int
) -> list[GreedyRun]:
    """Greedy-decode a batch with `generate` and measure every step's top-1 margin."""
    config = model.generation_config
    with torch.no_grad():
        out = model.generate(
            pixel_values,
            max_length=max_length,
            output_logits=True,
            return_dict_in_generate=True,
        )
    runs = []
    for row, ids in enumerate(out.sequences.tolist()):
        # The start token may be the EOS id itself (trocr-base starts with </s>).
        ends = [i for i, token in enumerate(ids) if i > 0 and token == config.eos_token_id]
        length = ends[0] + 1 if ends else len(ids)
        margins = []
        for step in range(length - 1):
            logits = out.logits[step][row].float().clone()
            chosen = logits[ids[step + 1]].item()
            logits[ids[step + 1]] = -torch.inf
            # Negative if generate did not take the argmax (a logits processor was active).
            margins.append(chosen - logits.max().item())
        tail = ids[length:]
        runs.append(GreedyRun(ids[:length], margins, all(t == config.pad_token_id for t in tail)))
    return runs


def main() -> None:
    """Decode each image of an npz file on its own; print tokens, text and version as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="saved model folder")
    parser.add_argument("--tokenizer", type=Path, required=True, help="tokenizer folder")
    parser.add_argument("--pixels", type=Path, required=True, help="npz of [1, 3, H, W] arrays")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--decode", default="[]", help="JSON list of id lists to decode too")
    args = parser.parse_args()
    model = VisionEncoderDecoderModel.from_pretrained(args.model).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    images = {}
    with np.load(args.pixels) as pixels:
        for name in pixels.files:
            (run,) = generate_runs(model, torch.from_numpy(pixels[name]), args.max_length)
            text = tokenizer.batch_decode([run.token_ids], skip_special_tokens=True)[0]
            images[name] = {"token_ids": run.token_ids, "latex": text}
    decoded = tokenizer.batch_decode(json.loads(args.decode), skip_special_tokens=True)
    print(
        json.dumps({"transformers": transformers.__version__, "images": images, "decoded": decoded})
    )


if __name__ == "__main__":
    main()
