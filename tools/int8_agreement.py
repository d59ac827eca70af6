"""Per-step top-1 agreement of quantized decoders with fp32, plain loop versus cached graphs.

A dynamically quantized decoder cannot be cached exactly: the plain loop quantizes the whole
prefix with one scale per step, the cache quantizes each new row on its own. This measures
what that costs. For every image, the fp32 plain loop picks `--steps` tokens greedily (EOS
ignored, so every image gives the same number of steps); each quantized runner then sees
that same prefix at every step (teacher forcing) and we count how often its top-1 token is
fp32's. A cached column within about two standard errors of the plain one costs nothing
beyond noise.

Images go through each variant's own encoder, as a user of that variant gets them. A model
with random weights gives nearly the same encoder states for every image and so repeats one
token; `--random-states N` feeds N rows of random encoder states to every decoder instead.

    .venv/bin/python tools/int8_agreement.py tests/fixtures/models/torch
    .venv/bin/python tools/int8_agreement.py ~/.cache/mathpad-dev/full-model --random-states 8
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from mathpad.imaging.loading import load_image
from mathpad.model.fast_decoder import open_fast_decoder
from mathpad.model.generation import load_generation_settings
from mathpad.model.preprocess import PreprocessConfig, preprocess
from mathpad.model.runners import DecoderRunner, PlainDecoder, make_session

DEFAULT_IMAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"
SUFFIXES = {"fp32": "", "int8": "_int8", "uint8": "_uint8", "quantized": "_quantized"}


def greedy_tokens(runner: DecoderRunner, states: np.ndarray, start: int, steps: int) -> np.ndarray:
    """Greedy tokens, start token first, without stopping at EOS: [batch, steps + 1]."""
    step = runner.start(states)
    tokens = np.full((states.shape[0], 1), start, np.int64)
    for _ in range(steps):
        tokens = np.concatenate([tokens, step(tokens).argmax(-1)[:, None]], axis=1)
    return tokens


def top1(runner: DecoderRunner, states: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The runner's top-1 token at each step, fed `tokens` as the prefix: [batch, steps]."""
    step = runner.start(states)
    return np.stack([step(tokens[:, :t]).argmax(-1) for t in range(1, tokens.shape[1])], axis=1)


class States:
    """Encoder states per variant: from images through its own encoder, or random rows."""

    def __init__(self, model: Path, images: Path, random_rows: int) -> None:
        self._model, self._random = model, None
        if random_rows:
            decoder = make_session(model / "onnx" / "decoder_model.onnx")
            (states,) = (i for i in decoder.get_inputs() if i.type == "tensor(float)")
            shape = (random_rows, 24, states.shape[-1])
            self._random = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            self.description = f"{random_rows} rows of random encoder states"
            return
        paths = [p for p in sorted(images.iterdir()) if p.suffix.lower() in {".png", ".jpg"}]
        if not paths:
            raise SystemExit(f"no images in {images}")
        config = PreprocessConfig.from_file(model / "preprocessor_config.json")
        self._pixels = preprocess([load_image(p) for p in paths], config)
        self.description = f"{len(paths)} images, each variant through its own encoder"

    def __call__(self, variant: str) -> np.ndarray:
        if self._random is not None:
            return self._random
        session = make_session(self._model / "onnx" / f"encoder_model{SUFFIXES[variant]}.onnx")
        return session.run(None, {session.get_inputs()[0].name: self._pixels})[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="model folder with onnx/ and configs")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--random-states", type=int, default=0, metavar="N")
    parser.add_argument("--variants", nargs="+", default=["int8", "uint8", "quantized"])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args(argv)
    model = args.model.expanduser()
    states = States(model, args.images, args.random_states)
    settings = load_generation_settings(model / "config.json", model / "generation_config.json")
    steps = min(args.steps, settings.max_length - 1)

    def decoder(variant: str) -> Path:
        return model / "onnx" / f"decoder_model{SUFFIXES[variant]}.onnx"

    reference = PlainDecoder(make_session(decoder("fp32")))
    tokens = greedy_tokens(reference, states("fp32"), settings.decoder_start_token_id, steps)
    wanted = tokens[:, 1:]
    print(f"{states.description}; {steps} teacher-forced steps each: {wanted.size} tokens,")
    print(f"{len(np.unique(wanted))} distinct (a handful means a degenerate random model)\n")
    print("| variant | decoder | top-1 = fp32 | 1 s.e. | top-1 = the variant's plain loop |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        for variant in ["fp32", *args.variants]:
            variant_states = states(variant)
            plain = top1(PlainDecoder(make_session(decoder(variant))), variant_states, tokens)
            fast = open_fast_decoder(
                decoder(variant), cache_dir=Path(cache), make_session=make_session
            )
            rows = [("plain", plain)]
            if fast is not None:
                rows.append((fast.name, top1(fast, variant_states, tokens)))
            for name, picked in rows:
                share = float(np.mean(picked == wanted))
                error = math.sqrt(share * (1 - share) / wanted.size)
                same = "" if name == "plain" else f"{np.mean(picked == plain):.1%}"
                print(f"| {variant} | {name} | {share:.1%} | {error:.1%} | {same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
