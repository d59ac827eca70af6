"""Per-step top-1 agreement of quantized decoders with fp32: per-tensor versus per-row.

The published int8 graphs quantize activations with one scale for the whole tensor (the plain
loop: the whole prefix, one image at a time); the derived graphs quantize each row (image and
token) on its own, which makes a result independent of its batch. This measures what that
costs or gains. For every image, the fp32 plain loop picks `--steps` tokens greedily (EOS
ignored, so every image gives the same number of steps); each quantized runner then sees
that same prefix at every step (teacher forcing) and we count how often its top-1 token is
fp32's. A per-row column within about two standard errors of the per-tensor one costs
nothing beyond noise.

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
from mathpad.model.derive import open_fast_decoder
from mathpad.model.generation import load_generation_settings
from mathpad.model.preprocess import PreprocessConfig, preprocess
from mathpad.model.runners import DecoderRunner, PlainDecoder
from mathpad.model.sessions import make_session

DEFAULT_IMAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"
SUFFIXES = {"fp32": "", "int8": "_int8", "uint8": "_uint8", "quantized": "_quantized"}


def greedy_tokens(runner: DecoderRunner, states: np.ndarray, start: int, steps: int) -> np.ndarray:
    """Greedy tokens, start token first, without stopping at EOS: [batch, steps + 1]."""
    state = runner.start(states)
    tokens = np.full((states.shape[0], 1), start, np.int64)
    for _ in range(steps):
        chosen = state.extend(tokens[:, -1:])[:, -1].argmax(-1)
        tokens = np.concatenate([tokens, chosen[:, None]], axis=1)
    return tokens


def top1(runner: DecoderRunner, states: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The runner's top-1 token at each step, fed `tokens` as the prefix: [batch, steps].

    A runner whose rows depend on the batch gets one image at a time, as the engine does.
    """
    if not runner.batch_invariant and states.shape[0] > 1:
        rows = [top1(runner, states[i : i + 1], tokens[i : i + 1]) for i in range(len(states))]
        return np.concatenate(rows, axis=0)
    state = runner.start(states)
    picked = [
        state.extend(tokens[:, t : t + 1])[:, -1].argmax(-1) for t in range(tokens.shape[1] - 1)
    ]
    return np.stack(picked, axis=1)


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
    print("| variant | quantization | top-1 = fp32 | 1 s.e. | top-1 = the variant's plain loop |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        for variant in ["fp32", *args.variants]:
            variant_states = states(variant)
            dynamic = variant != "fp32"
            published = PlainDecoder(make_session(decoder(variant)), batch_invariant=not dynamic)
            plain = top1(published, variant_states, tokens)
            fast = open_fast_decoder(decoder(variant), cache_dir=Path(cache))
            if isinstance(fast, str):
                raise SystemExit(f"{variant}: no derived graphs: {fast}")
            kinds = (
                ("per-tensor (plain)", f"per-row ({fast.name})")
                if dynamic
                else ("plain", fast.name)
            )
            rows = [(kinds[0], plain), (kinds[1], top1(fast, variant_states, tokens))]
            for name, picked in rows:
                share = float(np.mean(picked == wanted))
                error = math.sqrt(share * (1 - share) / wanted.size)
                same = "" if picked is plain else f"{np.mean(picked == plain):.1%}"
                print(f"| {variant} | {name} | {share:.1%} | {error:.1%} | {same} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
