"""The fast decoder: the plain loop's tokens, faster steps, clear errors, derived once."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from support import EXPORTERS, IMAGES, MODELS, image_names

from mathpad.imaging.loading import load_image
from mathpad.model import fast_decoder
from mathpad.model.engine import Decode, Engine
from mathpad.model.graphs import DerivationError, DerivedGraphs
from mathpad.model.runners import DecoderRunner, PlainDecoder, make_session
from mathpad.model.store import resolve_model


def _decoder(exporter: str = EXPORTERS[0]) -> Path:
    return MODELS / exporter / "onnx" / "decoder_model.onnx"


def _session(path: Path) -> ort.InferenceSession:
    return make_session(path, threads=1)


def _open(cache: Path) -> DecoderRunner | str:
    """The fast runner, or the reason there is none."""
    return fast_decoder.open_fast_decoder(_decoder(), cache_dir=cache, make_session=_session)


def _runner(cache: Path) -> DecoderRunner:
    runner = _open(cache)
    assert not isinstance(runner, str), runner
    return runner


def _states(batch: int = 2) -> np.ndarray:
    session = _session(_decoder())
    hidden = next(i for i in session.get_inputs() if i.type == "tensor(float)").shape[-1]
    return np.random.default_rng(7).standard_normal((batch, 11, hidden)).astype(np.float32)


def _positions() -> int:
    """The longest sequence the model can embed, as its config says."""
    config = json.loads((MODELS / EXPORTERS[0] / "config.json").read_text(encoding="utf-8"))
    return int(config["decoder"]["max_position_embeddings"])


@pytest.fixture
def derive_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The levels derived so far; derivation still runs as usual."""
    calls: list[str] = []
    real = fast_decoder.derive

    def counted(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        calls.append(level)
        return real(model, level)

    monkeypatch.setattr(fast_decoder, "derive", counted)
    return calls


def _engine(exporter: str, decode: Decode, cache: Path) -> Engine:
    return Engine(resolve_model(MODELS / exporter, "fp32"), decode=decode, cache_dir=cache)


def test_cached_decoder_gives_the_plain_loops_tokens_on_every_fixture_image(
    exporter: str, tmp_path: Path
) -> None:
    images = [load_image(IMAGES / name) for name in image_names()]
    assert images
    plain = _engine(exporter, "plain", tmp_path / "plain")
    fast = _engine(exporter, "auto", tmp_path / "fast")
    assert (plain.decoder.name, fast.decoder.name) == ("plain", "cached")
    assert [r.token_ids for r in fast.recognize(images)] == [
        r.token_ids for r in plain.recognize(images)
    ]
    for image in images:  # alone, a sequence is not padded to the longest of a batch
        assert fast.recognize([image])[0].token_ids == plain.recognize([image])[0].token_ids


def test_cached_steps_stay_flat_while_plain_steps_grow(tmp_path: Path) -> None:
    cached = _runner(tmp_path)
    assert cached.name == "cached"
    states = _states(1)
    length = min(_positions(), 64)
    tokens = np.random.default_rng(3).integers(3, 10, (1, length))

    def step_times(runner: DecoderRunner) -> np.ndarray:
        best = np.full(length, np.inf)
        for _ in range(5):  # the fastest of several runs: scheduling noise only adds time
            state = runner.start(states)
            for t in range(1, length + 1):
                began = time.perf_counter()
                state.extend(tokens[:, t - 1 : t])
                best[t - 1] = min(best[t - 1], time.perf_counter() - began)
        return best

    fast, slow = step_times(cached), step_times(PlainDecoder(_session(_decoder())))
    early, late = slice(2, 6), slice(length - 4, length)
    assert fast[late].sum() < 0.6 * slow[late].sum()
    # The plain loop's step grows with the prefix; the cached step's barely does.
    growth = fast[late].sum() - fast[early].sum()
    assert growth < 0.3 * (slow[late].sum() - slow[early].sum())


def test_graphs_are_derived_once_and_then_loaded(tmp_path: Path, derive_calls: list[str]) -> None:
    first = _runner(tmp_path)
    second = _runner(tmp_path)
    assert derive_calls == ["cached"]
    assert second.name == "cached"
    states = _states()
    tokens = np.array([[2, 5], [2, 9]])
    first_state, second_state = first.start(states), second.start(states)
    for length in (1, 2):
        column = tokens[:, length - 1 : length]
        np.testing.assert_array_equal(first_state.extend(column), second_state.extend(column))


def test_a_cache_failing_verification_falls_back_to_hoisted_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = fast_decoder.derive

    def unshifted_positions(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        derived = real(model, level)
        for node in derived.step.graph.node:
            if node.output[0] == "mathpad/positions":  # position = index, ignoring the past
                node.op_type = "Identity"
                del node.input[1]
        return derived

    monkeypatch.setattr(fast_decoder, "derive", unshifted_positions)
    with caplog.at_level(logging.WARNING):
        runner = _runner(tmp_path)
    assert runner.name == "hoisted"
    (record,) = caplog.records
    assert "cached graphs failed" in record.getMessage()
    assert "relative error" in record.getMessage()

    plain = PlainDecoder(_session(_decoder()))
    states, tokens = _states(), np.array([[2, 5, 7], [2, 9, 4]])
    hoisted_state, plain_state = runner.start(states), plain.start(states)
    for length in (1, 2, 3):
        want = plain_state.extend(tokens[:, length - 1 : length])
        have = hoisted_state.extend(tokens[:, length - 1 : length])
        np.testing.assert_allclose(have, want, atol=1e-5 * np.abs(want).max())


def test_a_model_nothing_works_for_uses_the_plain_loop_and_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def refuse(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        calls.append(level)
        raise DerivationError("no learned position table fed by a Range over input_ids")

    monkeypatch.setattr(fast_decoder, "derive", refuse)
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert isinstance(_open(tmp_path), str)
        (record,) = caplog.records
        assert "using the plain one" in record.getMessage()
        assert "no learned position table" in record.getMessage()
    assert calls == ["cached", "hoisted"]


@pytest.mark.parametrize("level", ["cached", "hoisted"])
def test_more_tokens_than_positions_is_a_clear_error(
    level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if level == "hoisted":
        monkeypatch.setattr(fast_decoder, "LEVELS", ("hoisted",))
    runner = _runner(tmp_path)
    assert runner.name == level
    length = _positions()
    tokens = np.random.default_rng(5).integers(3, 10, (2, length + 1))
    state = runner.start(_states())
    # The cache is filled one token at a time here; the hoisted step takes them at once.
    for t in range(1, length + 1) if level == "cached" else [length]:
        state.extend(tokens[:, state.length : t])  # every position the model has works
    with pytest.raises(ValueError, match=f"exceed the decoder's {length} learned positions"):
        state.extend(tokens[:, length:])


def test_an_unwritable_cache_folder_means_the_plain_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        assert isinstance(_open(blocker), str)
    assert "using the plain one" in caplog.text


def test_damaged_stored_graphs_are_dropped_and_derived_again(
    tmp_path: Path, derive_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    _runner(tmp_path)
    (step,) = tmp_path.glob("*/cached/step.onnx")
    step.write_bytes(step.read_bytes()[:1000])  # a truncated file
    with caplog.at_level(logging.WARNING):
        assert isinstance(_open(tmp_path), str)
    assert "unusable" in caplog.text
    assert _runner(tmp_path).name == "cached"
    assert derive_calls == ["cached", "cached"]
