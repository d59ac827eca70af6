"""The recognizer engine: pixel values in, tokens and LaTeX out, on onnxruntime.

It checks the model files where they enter (an unreadable or oddly shaped graph becomes a
`ModelError` that names the file), loads encoder and decoder in parallel, and runs the
searches with the fastest decoder runner that passed its checks. A result depends on its
own image only: graphs that quantize activations over a whole batch tensor get one image
per call, and a draft is only checked in one call where that cannot change the tokens.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

from mathpad.errors import Cancelled, InputError, ModelError
from mathpad.model.diagnose import load_session
from mathpad.model.generation import GenerationSettings, load_generation_settings
from mathpad.model.preprocess import PreprocessConfig, preprocess
from mathpad.model.runners import DecoderRunner, PlainDecoder
from mathpad.model.search import Decoded, beam, greedy
from mathpad.model.sessions import SessionFactory, make_session
from mathpad.model.store import ModelFiles

log = logging.getLogger(__name__)

Decode = Literal["auto", "plain"]
Tokens = Sequence[int] | None

# Batches above this gain nothing on a desktop CPU and only hold memory.
MAX_BATCH = 8
MAX_BEAM_WIDTH = 16
# Variants whose published graphs quantize activations with one scale per tensor
# (DynamicQuantizeLinear): a row's result there depends on the rest of the batch.
DYNAMIC_VARIANTS = frozenset({"int8", "uint8", "quantized"})


@dataclass(frozen=True)
class TokenInfo:
    """One generated token: its probability, its characters in the LaTeX, the runners-up."""

    id: int
    prob: float  # its softmax probability
    start: int  # its characters are Recognition.latex[start:end] (end == start if none)
    end: int
    top: tuple[tuple[int, str, float], ...]  # the best few (id, text, prob), best first;
    # a special token's text is "" (as batch_decode skips it)


@dataclass(frozen=True)
class Recognition:
    """One image's result: LaTeX, the whole generated sequence and what each token was."""

    latex: str  # batch_decode(skip_special_tokens=True) of token_ids
    token_ids: tuple[int, ...]  # start token first, up to and including EOS; never pad tokens
    tokens: tuple[TokenInfo, ...]  # one per generated token
    score: float  # sum of log probabilities of the generated tokens
    seconds: float
    draft_accepted: int = 0  # draft tokens accepted (0 without a draft)
    decoder: str = "cached"  # the runner level that produced it

    @property
    def token_probs(self) -> tuple[float, ...]:
        return tuple(t.prob for t in self.tokens)


class Cancel:
    """Ends a recognition from another thread at once, the running onnxruntime call too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._options: list[ort.RunOptions] = []
        self.cancelled = False

    def run_options(self) -> ort.RunOptions:
        """Options for the runs of one decode: terminated when `cancel` is called."""
        options = ort.RunOptions()
        with self._lock:
            options.terminate = self.cancelled
            self._options.append(options)
        return options

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            for options in self._options:
                options.terminate = True

    def check(self) -> None:
        """Raise Cancelled once cancelled (searches call it between runs)."""
        if self.cancelled:
            raise Cancelled("the recognition was cancelled")


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
        decoder_config = _decoder_config(files.root / "config.json")
        self._max_positions = int(decoder_config.get("max_position_embeddings", 512))
        settings = load_generation_settings(
            files.root / "config.json", files.file("generation_config.json")
        )
        # A model with fewer learned positions than the default length would crash where
        # the reference does; stopping at its last position gives the same tokens up to there.
        self.settings = replace(settings, max_length=min(settings.max_length, self._max_positions))
        self._tokenizer = _load_tokenizer(files.root / "tokenizer.json")
        self._vocab = int(
            decoder_config.get("vocab_size")
            or self._tokenizer.get_vocab_size(with_added_tokens=True)
        )
        self._dynamic = files.variant in DYNAMIC_VARIANTS

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
            decoder = pool.submit(
                _open_decoder,
                files.decoder,
                open_session,
                decode,
                cache_dir,
                threads,
                not self._dynamic,
            )
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
        self,
        images: Sequence[Image.Image],
        *,
        max_length: int | None = None,
        drafts: Sequence[Tokens] | None = None,
        forced: Sequence[Tokens] | None = None,
        cancel: Cancel | None = None,
    ) -> list[Recognition]:
        """Greedy results in the order given; each carries its share of its batch's time.

        `drafts`: per image a token sequence (start token first) or None; the result is the
        one without a draft. `forced`: per image a prefix (start token first) to keep.
        """
        settings = self.generation(max_length)
        drafts = self._per_image(drafts, len(images), "draft")
        forced = self._per_image(forced, len(images), "forced prefix")
        if not self.decoder.batch_invariant:
            drafts = [None] * len(images)  # feeding more tokens would move earlier logits
        size = MAX_BATCH if self.decoder.batch_invariant else 1
        results: list[Recognition] = []
        for first in range(0, len(images), size):
            batch = slice(first, first + size)
            count = len(images[batch])
            began = time.perf_counter()
            with self._cancellable(cancel) as options:
                state = self.decoder.start(self.encode(images[batch], options), run_options=options)
                decoded = greedy(
                    state,
                    count,
                    settings,
                    drafts=drafts[batch],
                    forced=forced[batch],
                    check=cancel.check if cancel else None,
                )
            seconds = (time.perf_counter() - began) / count
            results += [self._recognition(d, seconds) for d in decoded]
        return results

    def beam(
        self,
        image: Image.Image,
        *,
        width: int = 4,
        k: int | None = None,
        max_length: int | None = None,
        cancel: Cancel | None = None,
    ) -> list[Recognition]:
        """The k (default: width) best distinct sequences, best score first; width 1 is greedy.

        The hypotheses share one batch: with a runner that is not batch invariant (a
        per-tensor quantized graph) they are alternatives, not exactly what each would score
        alone.
        """
        settings = self.generation(max_length)
        k = width if k is None else k
        if not 1 <= width <= MAX_BEAM_WIDTH or not 1 <= k <= width:
            raise InputError(
                f"beam width {width} with {k} results is out of range: use a width of 1 to "
                f"{MAX_BEAM_WIDTH} and at most that many results"
            )
        began = time.perf_counter()
        with self._cancellable(cancel) as options:
            state = self.decoder.start(self.encode([image], options), run_options=options)
            found = beam(state, settings, width=width, k=k, check=cancel.check if cancel else None)
        seconds = time.perf_counter() - began
        return [self._recognition(d, seconds) for d in found]

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text as `batch_decode(skip_special_tokens=True)` gives it."""
        return self._tokenizer.decode(list(token_ids), skip_special_tokens=True)

    def _per_image(self, given: Sequence[Tokens] | None, count: int, what: str) -> list[Tokens]:
        """Per-image token sequences, checked where they enter: start token, known ids."""
        if given is None:
            return [None] * count
        if len(given) != count:
            raise InputError(f"{len(given)} {what}s for {count} images: give one per image")
        start = self.settings.decoder_start_token_id
        for tokens in given:
            if tokens is not None and (
                not tokens or tokens[0] != start or not all(0 <= t < self._vocab for t in tokens)
            ):
                raise InputError(
                    f"a {what} must start with the start token {start} and hold only token "
                    f"ids below {self._vocab}"
                )
        return [tuple(t) if t is not None else None for t in given]

    @contextmanager
    def _cancellable(self, cancel: Cancel | None) -> Iterator[ort.RunOptions | None]:
        """Run options that `cancel` terminates; a terminated run becomes Cancelled."""
        if cancel is None:
            yield None
            return
        cancel.check()
        try:
            yield cancel.run_options()
        except Cancelled:
            raise
        except Exception as error:  # onnxruntime's own type for a terminated run
            if cancel.cancelled:
                raise Cancelled("the recognition was cancelled") from error
            raise

    def encode(
        self, images: Sequence[Image.Image], options: ort.RunOptions | None = None
    ) -> np.ndarray:
        """Encoder states; a dynamically quantized encoder sees one image per run."""
        pixels = self.pixel_values(images)
        rows = [pixels[i : i + 1] for i in range(len(images))] if self._dynamic else [pixels]
        states = [
            self._encoder.run([self._states_name], {self._pixels_name: row}, options)[0]
            for row in rows
        ]
        return states[0] if len(states) == 1 else np.concatenate(states)

    def _recognition(self, decoded: Decoded, seconds: float) -> Recognition:
        ids = decoded.token_ids
        latex = self.decode(ids)
        prefixes = self._tokenizer.decode_batch(
            [list(ids[: n + 2]) for n in range(len(decoded.steps))], skip_special_tokens=True
        )
        tokens, start = [], 0
        for step, prefix in zip(decoded.steps, prefixes, strict=True):
            end = max(start, _common_prefix(prefix, latex))
            top = tuple(
                (i, self._tokenizer.decode([i], skip_special_tokens=True), p) for i, p in step.top
            )
            tokens.append(TokenInfo(step.id, step.prob, start, end, top))
            start = end
        return Recognition(
            latex,
            ids,
            tuple(tokens),
            decoded.score,
            seconds,
            decoded.draft_accepted,
            self.decoder.name,
        )


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share (a partial UTF-8 tail shares none)."""
    limit = min(len(a), len(b))
    return next((i for i in range(limit) if a[i] != b[i]), limit)


def _open_decoder(
    path: Path,
    open_session: SessionFactory,
    decode: Decode,
    cache_dir: Path | None,
    threads: int | None,
    plain_batch_invariant: bool,
) -> DecoderRunner:
    """The fastest runner that passed its checks, or the plain one when asked or needed.

    The published graph is only opened when the plain runner is used: a fast runner built
    from cached derived graphs starts without it. Derived graphs quantize per row, if at all;
    the published graph of a dynamically quantized variant does not (`plain_batch_invariant`).
    """
    reason = "asked for (--decode plain)" if decode == "plain" else "no graph cache folder"
    if decode == "auto" and cache_dir is not None:
        from mathpad.model.derive import open_fast_decoder

        fast = open_fast_decoder(path, cache_dir=cache_dir, threads=threads)
        if not isinstance(fast, str):
            return fast
        reason = fast
    session = open_session(path)
    _check_decoder(session, path)
    return PlainDecoder(session, batch_invariant=plain_batch_invariant, reason=reason)


def _load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises plain Exception subclasses
        raise ModelError(
            f"{path} is not a usable tokenizer ({error}): download it again"
        ) from error


def _decoder_config(config_path: Path) -> dict:
    """The decoder's part of config.json (generation settings have read and checked it)."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    decoder = config.get("decoder")
    return decoder if isinstance(decoder, dict) else {}


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
