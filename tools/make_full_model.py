"""Build a full-size TrOCR-LaTeX model with random weights, for speed and memory measurements.

The real weights cannot be downloaded everywhere, but cost depends only on the shapes: this
model has microsoft/trocr-base-handwritten's architecture (which tjoab/latex_finetuned keeps)
and is laid out like onnx-community/latex_finetuned-ONNX, so `mathpad recognize --model DIR`
and the benchmarks run on it as on the real thing. Its tokens are meaningless.

    DIR/pytorch/   the PyTorch reference (save_pretrained), tokenizer and preprocessor
    DIR/           the hub layout: json and tokenizer files, onnx/{encoder,decoder}_model*.onnx

`--exporter optimum` makes the ONNX files the hub's way: optimum 1.26.1's export (task
image-to-text), onnxslim on each graph, then transformers.js's quantization; the default,
`torch`, exports with torch.onnx.export under optimum's names. The two differ in graph shape
(onnxslim folds and fuses), which is what the graph derivation must cope with.

Idempotent: what exists is kept, and each piece appears whole or not at all, so a rerun (or
a run after an interruption) only adds what is missing.

    /work/venvs/optimum/bin/python tools/make_full_model.py [--out DIR] [--exporter optimum]
        [--variants int8 uint8 quantized]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx
import onnxslim
import torch
from fixture_model import FixtureSpec, _config, write_preprocessor_config
from fixture_tokenizer import latex_corpus, save_tokenizer_files, train_tokenizer
from hub_export import PARTS, VARIANTS, Exporter, export_optimum, export_torch, write_variants
from transformers import VisionEncoderDecoderModel

DEFAULT_OUT = Path("~/.cache/mathpad-dev/full-model").expanduser()
# trocr-base-handwritten's sizes (the fine-tune keeps them), in the fixture models' terms.
FULL = FixtureSpec(
    name="full",
    exporter="torch",
    image_size=(384, 384),
    patch_size=16,
    encoder_hidden=768,
    encoder_layers=12,
    encoder_heads=12,
    d_model=1024,
    decoder_layers=12,
    decoder_heads=16,
    vocab_size=50265,
    decoder_start_token_id=2,
    corpus_seed=0,
    first_seed=0,
)


def save_reference(folder: Path) -> None:
    """The PyTorch model (config, generation config, safetensors) via save_pretrained."""
    if (folder / "model.safetensors").is_file():
        return
    config = _config(FULL, FULL.vocab_size)
    # trocr-base's initialization: at full depth and width, the fixtures' larger one makes
    # logits move ~10% between onnxruntime optimization levels, so no derived graph verifies.
    config.encoder.initializer_range = 0.02
    config.decoder.init_std = 0.02
    torch.manual_seed(FULL.first_seed)
    model = VisionEncoderDecoderModel(config).eval()
    model.generation_config.max_length = 128  # as the model card calls generate
    with _staging(folder) as staging:
        model.save_pretrained(staging)


def save_processor(folder: Path) -> None:
    """Preprocessor config and RoBERTa-style tokenizer files, as the hub repo has them.

    The tokenizer's vocabulary is smaller than the model's 50265 ids; random weights pick any
    id, and ids beyond it decode to nothing, which costs the same as real text.
    """
    if not (folder / "preprocessor_config.json").is_file():
        write_preprocessor_config(FULL, folder)
    if not (folder / "tokenizer.json").is_file():
        corpus = latex_corpus(FULL.corpus_seed, 20000)
        with _staging(folder) as staging:
            save_tokenizer_files(train_tokenizer(corpus, FULL.vocab_size), staging)


def save_onnx(
    reference: Path, out: Path, variants: Iterable[str], exporter: Exporter, python: str
) -> None:
    """fp32 encoder and decoder (by `exporter`), then the quantized variants."""
    onnx_dir = out / "onnx"
    if not all((onnx_dir / f"{part}.onnx").is_file() for part in PARTS):
        with _staging(out) as staging:
            if exporter == "optimum":
                export_optimum(reference, staging, python)
                for part in PARTS:  # transformers.js's convert.py slims before it quantizes
                    path = staging / "onnx" / f"{part}.onnx"
                    onnx.save(onnxslim.slim(onnx.load(str(path))), str(path))
            else:
                export_torch(reference, staging)
    for variant in variants:
        if all((onnx_dir / f"{part}_{variant}.onnx").is_file() for part in PARTS):
            continue
        with _staging(onnx_dir) as staging:
            for part in PARTS:  # links: write_variants reads the fp32 files next to its output
                os.link(onnx_dir / f"{part}.onnx", staging / f"{part}.onnx")
            write_variants(staging, [variant])
            for part in PARTS:
                (staging / f"{part}.onnx").unlink()


@contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A temporary folder inside `target` whose files move into `target` on success.

    Only files `target` lacks move in, so an interrupted run leaves whole files or none.
    """
    target.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    try:
        yield folder
        for path in sorted(folder.rglob("*")):
            destination = target / path.relative_to(folder)
            if path.is_file() and not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, destination)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Make whatever is missing in the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    parser.add_argument(
        "--variants", nargs="*", default=["int8", "uint8", "quantized"], choices=VARIANTS,
        help="variants to add besides fp32 (default: the 8-bit ones, each under a minute)",
    )  # fmt: skip
    parser.add_argument("--exporter", choices=("torch", "optimum"), default="torch")
    parser.add_argument(
        "--optimum-python", default=sys.executable,
        help="interpreter with optimum 1.26.1 and transformers 4.52 (default: this one)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    out = args.out.expanduser()
    reference = out / "pytorch"
    save_reference(reference)
    save_processor(reference)
    save_onnx(reference, out, args.variants, args.exporter, args.optimum_python)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
