"""Decoder runners on derived graphs, and the cache that derives and verifies them once.

`open_fast_decoder` returns the fastest runner whose graphs passed verification against the
published decoder: "cached" (cross-attention K/V computed once per image, a self-attention
cache, one new token per step) or "hoisted" (cross-attention K/V once per image, the whole
prefix per step). Derived graphs and the verdict are stored under a key made of the source's
content hash, the derivation version and the onnxruntime version, so each model file is
derived and verified once, and a failure is not retried at every start.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnxruntime as ort

from mathpad.files import replace_atomically
from mathpad.model import graph_verify
from mathpad.model.graph_io import load_model, save_model
from mathpad.model.graphs import DERIVATION_VERSION, LEVELS, StepSignature, derive
from mathpad.model.runners import (
    DecoderRunner,
    DecodeState,
    PrefixState,
    SessionFactory,
    select_rows,
)

log = logging.getLogger(__name__)

_MANIFEST = "manifest.json"
_HASHES = "source-hashes.json"
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def _check_length(length: int, max_length: int) -> None:
    if length > max_length:
        raise ValueError(f"{length} tokens exceed the decoder's {max_length} learned positions")


class _DerivedDecoder:
    """What both runners on derived graphs hold: the two sessions and their signature.

    Today's derived int8 graphs still quantize each step's activations over the whole
    tensor, so they are batch invariant only for float variants.
    """

    def __init__(
        self,
        prepare: ort.InferenceSession,
        step: ort.InferenceSession,
        signature: StepSignature,
        *,
        batch_invariant: bool = True,
        reason: str | None = None,
    ) -> None:
        self._prepare, self._step, self._signature = prepare, step, signature
        self.batch_invariant, self.reason = batch_invariant, reason

    def _cross(
        self, states: np.ndarray, run_options: ort.RunOptions | None
    ) -> dict[str, np.ndarray]:
        """What the step graph reads from the encoder, computed once per image."""
        signature = self._signature
        values = self._prepare.run(list(signature.cross), {signature.states: states}, run_options)
        return dict(zip(signature.cross, values, strict=True))


class HoistedDecoder(_DerivedDecoder):
    """Cross-attention K/V once per image; each call still feeds the whole prefix."""

    name = "hoisted"

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> DecodeState:
        signature = self._signature

        def run(tokens: np.ndarray, cross: dict[str, np.ndarray]) -> np.ndarray:
            _check_length(tokens.shape[1], signature.max_length)
            feeds = {signature.ids: tokens, **cross}
            return self._step.run([signature.logits], feeds, run_options)[0]

        cross = self._cross(encoder_hidden_states, run_options)
        return PrefixState(run, cross, encoder_hidden_states.shape[0])


class CachedDecoder(_DerivedDecoder):
    """Cross-attention K/V once per image and a self-attention cache: one token per run."""

    name = "cached"

    def __init__(
        self,
        prepare: ort.InferenceSession,
        step: ort.InferenceSession,
        signature: StepSignature,
        **runner: object,
    ) -> None:
        super().__init__(prepare, step, signature, **runner)  # type: ignore[arg-type]
        inputs = {i.name: i for i in step.get_inputs()}
        self._past = [
            (name, inputs[name].shape[-1], _DTYPES[inputs[name].type]) for name in signature.past
        ]

    def start(
        self, encoder_hidden_states: np.ndarray, *, run_options: ort.RunOptions | None = None
    ) -> DecodeState:
        cross = self._cross(encoder_hidden_states, run_options)
        batch = encoder_hidden_states.shape[0]
        past = {name: np.zeros((batch, 0, width), dtype) for name, width, dtype in self._past}
        return _CachedState(self._step, self._signature, cross, past, run_options)


class _CachedState:
    """One decode's self-attention cache; T new tokens are T single-token runs."""

    def __init__(
        self,
        session: ort.InferenceSession,
        signature: StepSignature,
        cross: dict[str, np.ndarray],
        past: dict[str, np.ndarray],
        run_options: ort.RunOptions | None,
    ) -> None:
        self._session, self._signature, self._options = session, signature, run_options
        self._cross, self._past = cross, past
        self._outputs = [signature.logits, *signature.present]

    @property
    def length(self) -> int:
        return next(iter(self._past.values())).shape[1]

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        _check_length(self.length + tokens.shape[1], self._signature.max_length)
        logits = []
        for column in range(tokens.shape[1]):
            feeds = {
                self._signature.ids: tokens[:, column : column + 1].astype(np.int64),
                **self._cross,
                **self._past,
            }
            step_logits, *present = self._session.run(self._outputs, feeds, self._options)
            self._past = dict(zip(self._signature.past, present, strict=True))
            logits.append(step_logits[:, -1:, :])
        return np.concatenate(logits, axis=1)

    def truncate(self, length: int) -> None:
        self._past = {name: value[:, :length] for name, value in self._past.items()}

    def select(self, rows: np.ndarray) -> None:
        batch = next(iter(self._past.values())).shape[0]
        self._past = {name: select_rows(value, rows, batch) for name, value in self._past.items()}
        self._cross = {name: select_rows(v, rows, batch) for name, v in self._cross.items()}


def build_runner(
    signature: StepSignature,
    prepare: ort.InferenceSession,
    step: ort.InferenceSession,
    **runner: object,
) -> DecoderRunner:
    """The runner for derived graphs; `runner` holds its batch_invariant and reason."""
    kind = CachedDecoder if signature.past else HoistedDecoder
    return kind(prepare, step, signature, **runner)  # type: ignore[arg-type]


def open_fast_decoder(
    decoder_path: Path,
    *,
    cache_dir: Path,
    make_session: SessionFactory,
    batch_invariant: bool = True,
) -> DecoderRunner | str:
    """The fastest verified runner for `decoder_path`, or why the plain one must be used.

    The first call for a model file derives and verifies (seconds at full size); later calls
    load the stored graphs. `make_session` opens only those: verification uses plain
    sessions, so its temporary graphs leave nothing in the caller's session cache.
    """
    name = decoder_path.name
    try:
        entry = _entry(decoder_path, cache_dir)
        manifest = _read_manifest(entry) or _derive_into(entry, decoder_path)
    except OSError as error:
        log.warning("no fast decoder for %s, using the plain one: %s", name, error)
        return f"the derived graphs could not be stored ({error})"
    level, failures = manifest["level"], _describe(manifest["failures"])
    if level is None:
        log.warning("no fast decoder for %s, using the plain one: %s", name, failures)
        return failures
    if failures:
        log.warning("using the %s decoder for %s: %s", level, name, failures)
    fields = manifest["signature"]
    signature = StepSignature(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    )
    try:
        prepare = make_session(entry / level / "prepare.onnx")
        step = make_session(entry / level / "step.onnx")
    except Exception as error:  # onnxruntime has its own exception types
        log.warning("stored %s graphs for %s are unusable, removed: %s", level, name, error)
        shutil.rmtree(entry, ignore_errors=True)
        return f"the stored {level} graphs were unusable and are derived again next start"
    return build_runner(
        signature, prepare, step, batch_invariant=batch_invariant, reason=failures or None
    )


def _describe(failures: dict[str, str]) -> str:
    return "; ".join(f"{level} graphs failed: {reason}" for level, reason in failures.items())


def _entry(source: Path, cache_dir: Path) -> Path:
    """The cache folder for `source`; stale derivations of the same file are removed."""
    digest = _content_hash(source, cache_dir)[:20]
    prefix = f"{source.stem}-{digest}-"
    name = f"{prefix}v{DERIVATION_VERSION}-ort{ort.__version__}"
    for stale in cache_dir.glob(f"{prefix}*"):
        if stale.name != name and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return cache_dir / name


def _content_hash(source: Path, cache_dir: Path) -> str:
    """SHA-256 of the model file and its external data, if any.

    Remembered by size and modification time: hashing a 1.2 GB decoder at every start
    would cost a second.
    """
    files = [source, *sorted(source.parent.glob(f"{source.name}?*"))]
    stamp = [[file.stat().st_size, file.stat().st_mtime_ns] for file in files]
    memo_path = cache_dir / _HASHES
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    key = str(source.resolve())
    if memo.get(key, {}).get("stamp") == stamp:
        return memo[key]["sha256"]
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
    memo[key] = {"stamp": stamp, "sha256": digest.hexdigest()}
    cache_dir.mkdir(parents=True, exist_ok=True)
    replace_atomically(memo_path, json.dumps(memo, indent=1).encode("utf-8"))
    return memo[key]["sha256"]


def _read_manifest(entry: Path) -> dict | None:
    try:
        manifest = json.loads((entry / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("version") == DERIVATION_VERSION else None


def _derive_into(entry: Path, source: Path) -> dict:
    """Derive and verify in a temporary folder, then move it into place in one step."""
    work = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        manifest = _derive_all(source, work)
        (work / _MANIFEST).write_text(json.dumps(manifest, indent=2))
        try:
            os.replace(work, entry)
        except OSError:
            stored = _read_manifest(entry)
            if stored is not None:  # another process stored the same entry first
                return stored
            shutil.rmtree(entry)  # a damaged leftover
            os.replace(work, entry)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _derive_all(source: Path, work: Path) -> dict:
    """Try each level, fastest first; keep the first whose graphs pass verification."""
    failures: dict[str, str] = {}
    manifest = {"version": DERIVATION_VERSION, "source": source.name, "failures": failures}
    for level in LEVELS:
        try:
            signature = _derive_level(source, level, work)
        except OSError:
            raise  # a full disk is no verdict on the graphs
        except Exception as error:  # anything else means: do not use these graphs
            failures[level] = f"{type(error).__name__}: {error}"
            shutil.rmtree(work / level, ignore_errors=True)
        else:
            return {**manifest, "level": level, "signature": asdict(signature)}
    return {**manifest, "level": None, "signature": None}


def _derive_level(source: Path, level: str, work: Path) -> StepSignature:
    """Derive `level` into `work/level` and verify it; raises on any failure."""
    started = time.perf_counter()
    folder, scratch = work / level, work / "verify"
    folder.mkdir()
    derived = derive(load_model(source), level)
    prepare, step = folder / "prepare.onnx", folder / "step.onnx"
    save_model(derived.prepare, prepare)
    save_model(derived.step, step)
    signature, precision = derived.signature, derived.precision
    del derived  # the step graph holds the decoder's weights
    scratch.mkdir()
    try:
        graph_verify.verify(
            source,
            prepare,
            step,
            precision=precision,
            work=scratch,
            build_runner=functools.partial(build_runner, signature),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.perf_counter() - started
    log.info("derived and verified %s graphs for %s in %.2f s", level, source.name, elapsed)
    return signature
