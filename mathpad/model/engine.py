"""The recognizer engine: pixel values in, tokens and LaTeX out, on onnxruntime.

It checks the model files where they enter (an unreadable or oddly shaped graph becomes a
`ModelError` that names the file), loads encoder and decoder in parallel, and runs greedy
search with the fastest decoder runner that passed its checks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

from mathpad.errors import InputError, ModelError
from mathpad.model.diagnose import load_session
from mathpad.model.generation import GenerationSettings, load_generation_settings
from mathpad.model.preprocess import PreprocessConfig, preprocess
from mathpad.model.runners import DecoderRunner, PlainDecoder, SessionFactory, make_session
from mathpad.model.search import greedy
from mathpad.model.store import ModelFiles

log = logging.getLogger(__name__)

Decode = Literal["auto", "plain"]

# Batches above this gain nothing on a desktop CPU and only hold memory.
MAX_BATCH = 8


@dataclass(frozen=True)
class Recognition:
    """One image's result: LaTeX, the whole generated sequence and per-token probabilities."""

    latex: str
    token_ids: tuple[int, ...]
    token_probs: tuple[float, ...]
    seconds: float


class Engine:
    """One loaded model variant; `recognize` is safe to call from one thread at a time."""

    def __init__(
        self,
        files: ModelFiles,
        *,
        decode: Decode = "auto",
        threads: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.files = files
        self._preprocess = PreprocessConfig.from_file(files.root / "preprocessor_config.json")
        self._max_positions = _max_positions(files.root / "config.json")
        settings = load_generation_settings(
            files.root / "config.json", files.file("generation_config.json")
        )
        # A model with fewer learned positions than the default length would crash where
        # the reference does; stopping at its last position gives the same tokens up to there.
        self.settings = replace(settings, max_length=min(settings.max_length, self._max_positions))
        self._tokenizer = _load_tokenizer(files.root / "tokenizer.json")

        optimized = cache_dir / "optimized" if cache_dir is not None else None

        def open_session(path: Path) -> ort.InferenceSession:
            return load_session(
                lambda p, d: make_session(p, threads=threads, optimized_dir=d),
                path,
                files=files,
                optimized_dir=optimized,
            )

        with ThreadPoolExecutor(2) as pool:
            encoder = pool.submit(open_session, files.encoder)
            decoder = pool.submit(_open_decoder, files.decoder, open_session, decode, cache_dir)
            self._encoder = encoder.result()
            self.decoder: DecoderRunner = decoder.result()
        _check_encoder(self._encoder, files.encoder)
        self._pixels_name = self._encoder.get_inputs()[0].name
        self._states_name = self._encoder.get_outputs()[0].name

    def generation(self, max_length: int | None) -> GenerationSettings:
        """The settings for one call, with the caller's max_length checked here, at the edge."""
        if max_length is None:
            return self.settings
        if not 2 <= max_length <= self._max_positions:
            raise InputError(
                f"max length {max_length} is out of range: use 2 to {self._max_positions} "
                "(the start token counts; the model has that many positions)"
            )
        return self.settings.with_max_length(max_length)

    def pixel_values(self, images: Sequence[Image.Image]) -> np.ndarray:
        """float32 [batch, 3, H, W], exactly as the model's image processor makes them."""
        return preprocess(images, self._preprocess)

    def recognize(
        self, images: Sequence[Image.Image], *, max_length: int | None = None
    ) -> list[Recognition]:
        """Recognize images in batches; each result carries its share of the time."""
        settings = self.generation(max_length)
        results: list[Recognition] = []
        for start in range(0, len(images), MAX_BATCH):
            batch = images[start : start + MAX_BATCH]
            began = time.perf_counter()
            pixels = self.pixel_values(batch)
            (states,) = self._encoder.run([self._states_name], {self._pixels_name: pixels})
            decoded = greedy(self.decoder.start(states), len(batch), settings)
            seconds = (time.perf_counter() - began) / len(batch)
            results += [
                Recognition(self.decode(d.token_ids), d.token_ids, d.token_probs, seconds)
                for d in decoded
            ]
        return results

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text as `batch_decode(skip_special_tokens=True)` gives it."""
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=True)


def _open_decoder(
    path: Path, open_session: SessionFactory, decode: Decode, cache_dir: Path | None
) -> DecoderRunner:
    """The fastest runner that passed its checks, or the plain one when asked or needed.

    The published graph is only opened when the plain runner is used: a fast runner built
    from cached derived graphs starts without it.
    """
    if decode == "auto" and cache_dir is not None:
        from mathpad.model.fast_decoder import open_fast_decoder

        fast = open_fast_decoder(path, cache_dir=cache_dir, make_session=open_session)
        if fast is not None:
            return fast
    session = open_session(path)
    _check_decoder(session, path)
    return PlainDecoder(session)


def _load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception subclasses
        raise ModelError(
            f"{path} is not a usable tokenizer ({error}): download it again"
        ) from error


def _max_positions(config_path: Path) -> int:
    config = json.loads(config_path.read_text(encoding="utf-8"))
    decoder = config.get("decoder", {})
    return int(decoder.get("max_position_embeddings", 512))


def _describe(args: Sequence[ort.NodeArg]) -> str:
    return ", ".join(f"{a.name} {a.type} {a.shape}" for a in args)


def _check_encoder(session: ort.InferenceSession, path: Path) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if not (
        len(inputs) == 1
        and len(inputs[0].shape) == 4
        and inputs[0].type == "tensor(float)"
        and len(outputs) >= 1
        and len(outputs[0].shape) == 3
    ):
        raise ModelError(
            f"{path} has an unexpected layout (inputs: {_describe(inputs)}; outputs: "
            f"{_describe(outputs)}): expected pixel_values [batch, 3, H, W] -> "
            "last_hidden_state [batch, seq, hidden], as exported for image-to-text"
        )


def _check_decoder(session: ort.InferenceSession, path: Path) -> None:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    ranks = sorted((len(i.shape), i.type) for i in inputs)
    if ranks != [(2, "tensor(int64)"), (3, "tensor(float)")] or len(outputs[0].shape) != 3:
        raise ModelError(
            f"{path} has an unexpected layout (inputs: {_describe(inputs)}; outputs: "
            f"{_describe(outputs)}): expected input_ids [batch, seq] and "
            "encoder_hidden_states [batch, seq, hidden] -> logits [batch, seq, vocab], "
            "a decoder without past key/values"
        )
