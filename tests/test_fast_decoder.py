"""The fast decoder: the plain loop's tokens, faster steps, clear errors, derived once, healed."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from support import EXPORTERS, IMAGES, MODELS, image_names

from mathpad.imaging.loading import load_image
from mathpad.model.derive import cache, clear_cache, open_fast_decoder
from mathpad.model.derive.rewrites import DerivationError, DerivedGraphs
from mathpad.model.derive.runners import DerivedDecoder
from mathpad.model.engine import Decode, Engine
from mathpad.model.runners import DecoderRunner, PlainDecoder
from mathpad.model.sessions import make_session
from mathpad.model.store import resolve_model

ROOT = Path(__file__).parent.parent


def _decoder(exporter: str = EXPORTERS[0], suffix: str = "") -> Path:
    return MODELS / exporter / "onnx" / f"decoder_model{suffix}.onnx"


def _open(cache_dir: Path, source: Path | None = None) -> DerivedDecoder:
    runner = open_fast_decoder(source or _decoder(), cache_dir=cache_dir, threads=1)
    assert not isinstance(runner, str), runner
    return runner


def _reason(cache_dir: Path) -> str:
    """Why there is no fast decoder (it must say)."""
    reason = open_fast_decoder(_decoder(), cache_dir=cache_dir, threads=1)
    assert isinstance(reason, str), reason
    return reason


def _states(batch: int = 2) -> np.ndarray:
    session = make_session(_decoder(), threads=1)
    hidden = next(i for i in session.get_inputs() if i.type == "tensor(float)").shape[-1]
    return np.random.default_rng(7).standard_normal((batch, 11, hidden)).astype(np.float32)


def _positions() -> int:
    """The longest sequence the model can embed, as its config says."""
    config = json.loads((MODELS / EXPORTERS[0] / "config.json").read_text(encoding="utf-8"))
    return int(config["decoder"]["max_position_embeddings"])


def _plain() -> PlainDecoder:
    return PlainDecoder(make_session(_decoder(), threads=1))


@pytest.fixture
def derive_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The levels derived so far; derivation still runs as usual."""
    calls: list[str] = []
    real = cache.derive

    def counted(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        calls.append(level)
        return real(model, level)

    monkeypatch.setattr(cache, "derive", counted)
    return calls


def _engine(exporter: str, decode: Decode, cache_dir: Path) -> Engine:
    return Engine(resolve_model(MODELS / exporter, "fp32"), decode=decode, cache_dir=cache_dir)


def test_cached_decoder_gives_the_references_tokens_on_every_fixture_image(
    exporter: str, tmp_path: Path, reference: dict[str, Any]
) -> None:
    records = reference["fixtures"][exporter]["images"]
    names = image_names()
    assert set(names) == set(records)
    fast = _engine(exporter, "auto", tmp_path / "fast")
    assert fast.decoder.name == "cached" and fast.decoder.reason is None
    results = fast.recognize([load_image(IMAGES / name) for name in names])
    assert [list(r.token_ids) for r in results] == [records[n]["token_ids"] for n in names]


def test_cached_steps_stay_flat_while_plain_steps_grow(tmp_path: Path) -> None:
    cached = _open(tmp_path)
    assert cached.name == "cached"
    states = _states(1)
    length = min(_positions(), 64)
    tokens = np.random.default_rng(3).integers(3, 10, (1, length))

    def step_times(runner: DecoderRunner) -> np.ndarray:
        best = np.full(length, np.inf)
        for _ in range(5):  # the fastest of several runs: scheduling noise only adds time
            state = runner.start(states)
            for t in range(length):
                began = time.perf_counter()
                state.extend(tokens[:, t : t + 1])
                best[t] = min(best[t], time.perf_counter() - began)
        return best

    fast, slow = step_times(cached), step_times(_plain())
    early, late = slice(2, 6), slice(length - 4, length)
    assert fast[late].sum() < 0.6 * slow[late].sum()
    # The plain loop's step grows with the prefix; the cached step's barely does.
    growth = fast[late].sum() - fast[early].sum()
    assert growth < 0.3 * (slow[late].sum() - slow[early].sum())


@pytest.mark.parametrize("level", ["cached", "hoisted"])
def test_extend_truncate_and_select_give_the_plain_runners_logits(
    level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if level == "hoisted":
        monkeypatch.setattr(cache, "LEVELS", ("hoisted",))
    runner = _open(tmp_path)
    assert runner.name == level and runner.batch_invariant
    states, tokens = _states(), np.array([[2, 5, 7, 9, 4, 3], [2, 9, 4, 4, 8, 6]])
    want = _plain().start(states).extend(tokens)
    scale = np.abs(want).max()
    state = runner.start(states)
    got = np.concatenate([state.extend(tokens[:, :1]), state.extend(tokens[:, 1:4])], axis=1)
    np.testing.assert_allclose(got, want[:, :4], atol=1e-5 * scale)
    state.extend(np.array([[11], [12]]))  # a rejected draft token
    state.truncate(4)
    assert state.length == 4
    np.testing.assert_allclose(state.extend(tokens[:, 4:]), want[:, 4:], atol=1e-5 * scale)
    reordered = runner.start(states)
    reordered.extend(tokens[:, :3])
    reordered.select(np.array([1, 1, 0]))  # beam search: reorder and duplicate rows
    again = reordered.extend(tokens[[1, 1, 0], 3:])
    np.testing.assert_allclose(again, want[[1, 1, 0], 3:], atol=1e-5 * scale)


def test_every_run_passes_the_callers_run_options(tmp_path: Path) -> None:
    runner = _open(tmp_path)
    options = ort.RunOptions()
    options.terminate = True  # as a cancel from another thread leaves them
    with pytest.raises(Exception, match=r"(?i)terminat"):
        runner.start(_states(), run_options=options)


def test_graphs_are_derived_once_and_then_loaded(tmp_path: Path, derive_calls: list[str]) -> None:
    first = _open(tmp_path)
    second = _open(tmp_path)
    assert derive_calls == ["cached"]
    assert second.name == "cached"
    states, tokens = _states(), np.array([[2, 5], [2, 9]])
    np.testing.assert_array_equal(
        first.start(states).extend(tokens), second.start(states).extend(tokens)
    )


def test_a_cache_failing_verification_falls_back_to_hoisted_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = cache.derive

    def unshifted_positions(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        derived = real(model, level)
        for node in derived.step.graph.node:
            if node.output[0] == "mathpad/positions":  # position = index, ignoring the past
                node.op_type = "Identity"
                del node.input[1]
        return derived

    monkeypatch.setattr(cache, "derive", unshifted_positions)
    with caplog.at_level(logging.WARNING):
        runner = _open(tmp_path)
    assert runner.name == "hoisted"
    assert runner.reason is not None and "cached graphs failed" in runner.reason
    assert "relative error" in runner.reason
    (record,) = caplog.records
    assert runner.reason in record.getMessage()


def test_a_model_nothing_works_for_uses_the_plain_loop_and_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def refuse(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        calls.append(level)
        raise DerivationError("no learned position table fed by a Range over input_ids")

    monkeypatch.setattr(cache, "derive", refuse)
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert "no learned position table" in _reason(tmp_path)
        (record,) = caplog.records
        assert "using the plain one" in record.getMessage()
    assert calls == ["cached", "hoisted"]


def test_out_of_memory_is_no_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cache.derive

    def exhausted(model: onnx.ModelProto, level: str) -> DerivedGraphs:
        raise MemoryError

    monkeypatch.setattr(cache, "derive", exhausted)
    assert "MemoryError" in _reason(tmp_path)
    monkeypatch.setattr(cache, "derive", real)
    assert _open(tmp_path).name == "cached"  # nothing was stored: derived now


@pytest.mark.parametrize("level", ["cached", "hoisted"])
def test_more_tokens_than_positions_is_a_clear_error(
    level: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if level == "hoisted":
        monkeypatch.setattr(cache, "LEVELS", ("hoisted",))
    runner = _open(tmp_path)
    assert runner.name == level
    length = _positions()
    tokens = np.random.default_rng(5).integers(3, 10, (2, length + 1))
    state = runner.start(_states())
    state.extend(tokens[:, :length])  # every position the model has works
    with pytest.raises(ValueError, match=f"exceed the decoder's {length} learned positions"):
        state.extend(tokens[:, length:])


def test_an_unwritable_cache_folder_means_the_plain_loop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        assert "could not be derived or stored" in _reason(blocker)
    assert "using the plain one" in caplog.text


def _entry(cache_dir: Path) -> Path:
    (manifest,) = cache_dir.glob("*/manifest.json")
    return manifest.parent


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _wrong_type(path: Path) -> None:
    path.write_text("[]")


@pytest.mark.parametrize(
    ("damage", "target"),
    [
        pytest.param(_truncate, "cached/step.onnx", id="truncated-step"),
        pytest.param(_flip_byte, "cached/step.onnx", id="flipped-byte-step"),
        pytest.param(_flip_byte, "cached/prepare.onnx", id="flipped-byte-prepare"),
        pytest.param(_wrong_type, "manifest.json", id="manifest-is-a-list"),
        pytest.param(_truncate, "manifest.json", id="truncated-manifest"),
    ],
)
def test_a_damaged_entry_is_derived_again_once_with_one_line(
    damage, target: str, tmp_path: Path, derive_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    _open(tmp_path)
    damage(_entry(tmp_path) / target)
    with caplog.at_level(logging.WARNING):
        runner = _open(tmp_path)
    assert runner.name == "cached" and runner.reason is None
    assert derive_calls == ["cached", "cached"]
    (record,) = caplog.records
    assert "derived again" in record.getMessage()
    assert "download" not in record.getMessage()  # never blamed on the model file
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _open(tmp_path)
    assert derive_calls == ["cached", "cached"] and not caplog.records


def test_a_wrongly_typed_hash_memo_is_rebuilt(tmp_path: Path) -> None:
    _open(tmp_path)
    (tmp_path / "source-hashes.json").write_text("[]")
    assert _open(tmp_path).name == "cached"
    assert isinstance(json.loads((tmp_path / "source-hashes.json").read_text()), dict)


def test_graphs_of_a_deleted_model_file_are_removed(tmp_path: Path) -> None:
    copy = tmp_path / "model" / "decoder_model.onnx"
    copy.parent.mkdir()
    shutil.copyfile(_decoder(EXPORTERS[1]), copy)
    cache_dir = tmp_path / "cache"
    _open(cache_dir, copy)
    gone = _entry(cache_dir)
    copy.unlink()
    _open(cache_dir)
    assert not gone.exists()


def test_each_graph_is_stored_once_and_clear_removes_everything(tmp_path: Path) -> None:
    _open(tmp_path)
    graphs = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.onnx"))
    assert [str(p.relative_to(p.parts[0])) for p in graphs] == [
        "cached/prepare.onnx",
        "cached/step.onnx",
    ]
    freed = clear_cache(tmp_path)
    assert freed > 0 and list(tmp_path.rglob("*.onnx")) == []


_CHILD = """
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(message)s")
from mathpad.model.derive import open_fast_decoder
print("start", flush=True)
runner = open_fast_decoder(Path(sys.argv[1]), cache_dir=Path(sys.argv[2]), threads=1)
print("level", runner.name, flush=True)
"""


def _child(cache_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(_decoder(EXPORTERS[0], "_int8")), str(cache_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )


def test_processes_started_together_derive_once(tmp_path: Path) -> None:
    children = [_child(tmp_path) for _ in range(4)]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    assert all("level cached" in output for output in outputs), outputs
    assert sum("derived and verified" in output for output in outputs) == 1, outputs


def test_a_killed_derivation_leaves_nothing_behind(tmp_path: Path) -> None:
    child = _child(tmp_path)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*.tmp-*/cached")):  # it is deriving
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert list(tmp_path.glob(".*.tmp-*"))
    assert _open(tmp_path, _decoder(EXPORTERS[0], "_int8")).name == "cached"
    assert list(tmp_path.glob(".*.tmp-*")) == []


def test_a_damaged_optimized_copy_is_made_again_not_blamed_on_the_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = MODELS / EXPORTERS[0] / "onnx" / "encoder_model_int8.onnx"
    make_session(encoder, optimized_dir=tmp_path)
    (copy,) = tmp_path.glob("*.onnx")
    for damage in (_flip_byte, _truncate):
        damage(copy)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            session = make_session(encoder, optimized_dir=tmp_path)
        assert session.get_inputs()[0].name == "pixel_values"
        (record,) = caplog.records
        assert "made again" in record.getMessage()
    (record_file,) = tmp_path.glob("*.json")
    record_file.write_text("[]")
    assert make_session(encoder, optimized_dir=tmp_path) is not None
    assert len(list(tmp_path.glob("*.onnx"))) == 1


def test_mathpad_cache_clear_removes_the_graphs(capsys: pytest.CaptureFixture[str]) -> None:
    from mathpad.cli import main
    from mathpad.model.store import graph_cache_dir

    _open(graph_cache_dir())
    assert list(graph_cache_dir().rglob("*.onnx"))
    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().out
    assert list(graph_cache_dir().rglob("*.onnx")) == []


def test_optimized_copies_of_a_deleted_model_file_are_removed(tmp_path: Path) -> None:
    model = tmp_path / "encoder_model_int8.onnx"
    shutil.copyfile(MODELS / EXPORTERS[0] / "onnx" / "encoder_model_int8.onnx", model)
    copies = tmp_path / "optimized"
    make_session(model, optimized_dir=copies)
    assert len(list(copies.glob("*.onnx"))) == 1
    model.unlink()
    make_session(MODELS / EXPORTERS[1] / "onnx" / "encoder_model_int8.onnx", optimized_dir=copies)
    (left,) = copies.glob("*.onnx")
    assert json.loads(left.with_suffix(".json").read_text())["source"].endswith(
        f"{EXPORTERS[1]}/onnx/encoder_model_int8.onnx"
    )
