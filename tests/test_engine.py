"""The engine gives the reference's tokens on the fixture models, image for image."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image
from support import FIXTURES, IMAGES, MODELS, image_names

from mathpad.errors import Cancelled, InputError
from mathpad.imaging.loading import load_image
from mathpad.model.engine import Cancel, Decode, Engine
from mathpad.model.store import resolve_model


def _engine(exporter: str, variant: str, decode: Decode, cache: Path | None = None) -> Engine:
    return Engine(resolve_model(MODELS / exporter, variant), decode=decode, cache_dir=cache)


@cache
def _images() -> dict[str, Image.Image]:
    return {name: load_image(IMAGES / name) for name in image_names()}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One derived-graph cache for the module: each fixture decoder is derived once."""
    return tmp_path_factory.mktemp("graphs")


def _plain_onnx_loop(exporter: str, suffix: str, pixels: np.ndarray, start: int) -> list[int]:
    """Greedy as a plain onnxruntime user writes it: default sessions, whole prefix each step."""
    folder = MODELS / exporter / "onnx"
    encoder = ort.InferenceSession(str(folder / f"encoder_model{suffix}.onnx"))
    decoder = ort.InferenceSession(str(folder / f"decoder_model{suffix}.onnx"))
    (states,) = encoder.run(None, {"pixel_values": pixels})
    ids = [start]
    while len(ids) < 128:
        feeds = {"input_ids": np.array([ids], dtype=np.int64), "encoder_hidden_states": states}
        ids.append(int(decoder.run(None, feeds)[0][0, -1].argmax()))
        if ids[-1] == 2:
            break
    return ids


def test_pixel_values_match_the_image_processor(exporter: str, reference: dict[str, Any]) -> None:
    engine = _engine(exporter, "fp32", "plain")
    recorded = np.load(FIXTURES / reference["fixtures"][exporter]["pixel_values"])
    for name, image in _images().items():
        ours = engine.pixel_values([image])
        assert ours.shape == recorded[name].shape, name
        assert np.abs(ours - recorded[name]).max() <= 1e-5, name


@pytest.mark.parametrize("decode", ["plain", "auto"])
def test_fp32_tokens_equal_transformers_generate(
    exporter: str, decode: Decode, reference: dict[str, Any], graphs: Path
) -> None:
    engine = _engine(exporter, "fp32", decode, graphs)
    records = reference["fixtures"][exporter]["images"]
    images = _images()
    results = [engine.recognize([images[name]])[0] for name in records]
    for name, result in zip(records, results, strict=True):
        assert list(result.token_ids) == records[name]["token_ids"], name
        assert result.latex == records[name]["latex"], name
        assert len(result.tokens) == len(result.token_ids) - 1, name
        assert result.score == pytest.approx(sum(np.log(result.token_probs)), rel=1e-9)


def test_int8_tokens_equal_a_plain_onnx_run(exporter: str, reference: dict[str, Any]) -> None:
    """Computed here, not recorded: int8 kernels round differently across CPUs and versions."""
    engine = _engine(exporter, "int8", "plain")
    start = reference["fixtures"][exporter]["decoder_start_token_id"]
    for name, image in list(_images().items())[:6]:
        (result,) = engine.recognize([image])
        expected = _plain_onnx_loop(exporter, "_int8", engine.pixel_values([image]), start)
        assert list(result.token_ids) == expected, name


@pytest.mark.parametrize(("variant", "decode"), [("fp32", "plain"), ("fp32", "auto"),
                                                 ("int8", "plain"), ("int8", "auto")])  # fmt: skip
def test_a_batch_gives_the_tokens_of_one_by_one_without_padding(
    exporter: str, variant: str, decode: Decode, graphs: Path
) -> None:
    engine = _engine(exporter, variant, decode, graphs)
    images = list(_images().values())
    batched = engine.recognize(images)
    alone = [engine.recognize([image])[0] for image in images]
    eos = engine.settings.eos_token_ids
    for together, single in zip(batched, alone, strict=True):
        assert together.token_ids == single.token_ids
        ends = [i for i, t in enumerate(together.token_ids[1:], 1) if t in eos]
        assert ends in ([], [len(together.token_ids) - 1])  # nothing after the end token


def _drafts(answer: list[int], vocab: int) -> dict[str, tuple[list[int], int]]:
    """Drafts of one answer and how many of their tokens greedy keeps."""
    half = len(answer) // 2
    wrong = [(t + 7) % vocab or 3 for t in answer]
    body = answer[:-1] if answer[-1] == 2 else answer
    return {
        "right": (answer, len(answer) - 1),
        "half right": (answer[:half] + wrong[half:], half - 1),
        "wrong from the first token": ([answer[0], *wrong[1:]], 0),
        "longer": ([*body, 5, 6, 7, 2], len(body) - 1),
        "shorter": (answer[:half], half - 1),
    }


@pytest.mark.parametrize("decode", ["plain", "auto"])
def test_a_draft_never_changes_the_tokens(
    exporter: str, decode: Decode, reference: dict[str, Any], graphs: Path
) -> None:
    engine = _engine(exporter, "fp32", decode, graphs)
    records = reference["fixtures"][exporter]["images"]
    vocab = reference["fixtures"][exporter]["decoder"]["vocab_size"]
    images = _images()
    for name, record in records.items():
        answer = record["token_ids"]
        for kind, (draft, kept) in _drafts(answer, vocab).items():
            (result,) = engine.recognize([images[name]], drafts=[draft])
            assert list(result.token_ids) == answer, (name, kind)
            assert result.draft_accepted == min(kept, 127), (name, kind)


def test_drafts_in_a_batch_keep_every_rows_tokens(reference: dict[str, Any], graphs: Path) -> None:
    engine = _engine("optimum", "fp32", "auto", graphs)
    records = reference["fixtures"]["optimum"]["images"]
    names = list(records)[:4]
    drafts = [records[names[0]]["token_ids"], None, records[names[2]]["token_ids"][:5], [2, 9]]
    results = engine.recognize([_images()[n] for n in names], drafts=drafts)
    assert [list(r.token_ids) for r in results] == [records[n]["token_ids"] for n in names]


def test_a_forced_prefix_is_kept_and_greedy_goes_on_from_it(
    reference: dict[str, Any], graphs: Path
) -> None:
    engine = _engine("optimum", "fp32", "auto", graphs)
    records = reference["fixtures"]["optimum"]["images"]
    name = next(n for n, r in records.items() if len(r["token_ids"]) > 8)
    answer = records[name]["token_ids"]
    image = _images()[name]
    (same,) = engine.recognize([image], forced=[answer[:4]])
    assert list(same.token_ids) == answer  # forcing greedy's own choice changes nothing
    other = next(t for t in same.tokens[3].top if t[0] != answer[4])[0]
    prefix = [*answer[:4], other]
    (forced,) = engine.recognize([image], forced=[prefix])
    assert list(forced.token_ids[:5]) == prefix
    assert forced.tokens[3].prob < same.tokens[3].prob
    (again,) = engine.recognize([image], forced=[prefix], drafts=[list(forced.token_ids)])
    assert again.token_ids == forced.token_ids and again.draft_accepted > 4


def test_token_spans_cover_the_latex_in_order(exporter: str, graphs: Path) -> None:
    engine = _engine(exporter, "fp32", "auto", graphs)
    for result in engine.recognize(list(_images().values())):
        ends = [t.end for t in result.tokens]
        assert all(t.start <= t.end for t in result.tokens)
        assert ends == sorted(ends) and ends[-1] <= len(result.latex)
        spans = "".join(result.latex[t.start : t.end] for t in result.tokens)
        assert spans == result.latex[: ends[-1]]
        for token in result.tokens:
            assert token.top[0][2] >= token.prob - 1e-6  # the best first
            assert [p for *_, p in token.top] == sorted((p for *_, p in token.top), reverse=True)


@pytest.mark.parametrize("decode", ["plain", "auto"])
def test_beam_of_width_one_is_greedy(exporter: str, decode: Decode, graphs: Path) -> None:
    engine = _engine(exporter, "fp32", decode, graphs)
    for name, image in _images().items():
        (greedy,) = engine.recognize([image])
        (beamed,) = engine.beam(image, width=1)
        assert beamed.token_ids == greedy.token_ids, name
        assert beamed.score == pytest.approx(greedy.score, rel=1e-4, abs=1e-4), name


def test_beam_results_are_distinct_sorted_and_scored_by_their_tokens(
    exporter: str, graphs: Path
) -> None:
    engine = _engine(exporter, "fp32", "auto", graphs)
    for name, image in list(_images().items())[:6]:
        found = engine.beam(image, width=4, max_length=24)
        assert len(found) == 4, name
        assert len({r.token_ids for r in found}) == 4, name
        scores = [r.score for r in found]
        assert scores == sorted(scores, reverse=True), name
        for result in found:
            total = sum(np.log(result.token_probs))
            assert result.score == pytest.approx(total, rel=1e-6, abs=1e-6), name


def test_bad_beam_and_draft_arguments_are_refused() -> None:
    engine = _engine("optimum", "fp32", "plain")
    image = next(iter(_images().values()))
    with pytest.raises(InputError, match="beam width"):
        engine.beam(image, width=4, k=5)
    with pytest.raises(InputError, match="start with the start token"):
        engine.recognize([image], drafts=[[99, 5]])
    with pytest.raises(InputError, match="below"):
        engine.recognize([image], forced=[[2, 10**6]])
    with pytest.raises(InputError, match="one per image"):
        engine.recognize([image], drafts=[None, None])


class _CancelMidway:
    """Wraps a runner: the third extend cancels, then runs, as a pen-down would land."""

    def __init__(self, runner: Any, cancel: Cancel) -> None:
        self.runner, self.cancel = runner, cancel
        self.name, self.reason = runner.name, runner.reason
        self.batch_invariant = runner.batch_invariant
        self.ended_inside_a_run = False

    def start(self, states: np.ndarray, *, run_options: Any = None) -> Any:
        state = self.runner.start(states, run_options=run_options)
        wrapper, calls = self, []

        class State:
            length = property(lambda _: state.length)

            def extend(self, tokens: np.ndarray) -> np.ndarray:
                calls.append(1)
                if len(calls) == 3:
                    wrapper.cancel.cancel()
                    try:
                        return state.extend(tokens)
                    except Exception:
                        wrapper.ended_inside_a_run = True
                        raise
                return state.extend(tokens)

            truncate, select = state.truncate, state.select

        return State()


@pytest.mark.parametrize("decode", ["plain", "auto"])
def test_cancel_ends_the_running_onnxruntime_call(decode: Decode, graphs: Path) -> None:
    engine = _engine("optimum", "fp32", decode, graphs)
    cancel = Cancel()
    engine.decoder = wrapped = _CancelMidway(engine.decoder, cancel)  # type: ignore[assignment]
    with pytest.raises(Cancelled):
        engine.recognize(list(_images().values())[:2], cancel=cancel)
    assert wrapped.ended_inside_a_run  # terminated by RunOptions, not at the next step
    with pytest.raises(Cancelled):  # a cancelled switch stays cancelled
        engine.beam(next(iter(_images().values())), cancel=cancel)


def test_cancel_from_another_thread_ends_a_long_decode_at_once(graphs: Path) -> None:
    engine = _engine("optimum", "fp32", "plain")
    image = _images()["fraction_l.png"]  # runs to the 128-token cap
    cancel = Cancel()
    threading.Timer(0.05, cancel.cancel).start()
    with pytest.raises(Cancelled):
        engine.beam(image, width=8, k=8, cancel=cancel)


def test_fixtures_are_not_degenerate(reference: dict[str, Any]) -> None:
    """Parity on these images means something only if they give different sequences."""
    for fixture in reference["fixtures"].values():
        sequences = [tuple(r["token_ids"]) for r in fixture["images"].values()]
        assert len(set(sequences)) == len(sequences)
        assert len({len(s) for s in sequences}) >= 3


def test_max_length_caps_the_sequence(exporter: str) -> None:
    engine = _engine(exporter, "fp32", "plain")
    results = engine.recognize(list(_images().values()), max_length=5)
    assert all(len(r.token_ids) <= 5 for r in results)
    assert any(len(r.token_ids) == 5 for r in results)


@pytest.mark.parametrize("length", [1, 100_000])
def test_max_length_outside_the_model_is_refused(length: int) -> None:
    engine = _engine("optimum", "fp32", "plain")
    with pytest.raises(InputError, match="out of range"):
        engine.recognize(list(_images().values())[:1], max_length=length)
