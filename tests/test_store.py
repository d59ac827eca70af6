"""Finding model files: every way a model folder or download can be wrong has a clear message."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
from huggingface_hub import constants
from onnx import TensorProto, helper

from mathpad.errors import ModelError, ModelNotDownloadedError
from mathpad.model.engine import Engine
from mathpad.model.store import VARIANTS, resolve_model


@pytest.fixture
def model_dir(tmp_path: Path, copy_model: Callable[..., Path]) -> Path:
    return copy_model("optimum", tmp_path / "model")


def test_a_good_folder_resolves_to_its_variant_files(model_dir: Path) -> None:
    files = resolve_model(model_dir, "int8")
    assert files.encoder == model_dir / "onnx/encoder_model_int8.onnx"
    assert files.decoder == model_dir / "onnx/decoder_model_int8.onnx"


def test_a_missing_folder_says_what_a_model_folder_holds(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"does not exist.*config\.json, tokenizer\.json"):
        resolve_model(tmp_path / "nowhere", "fp32")


@pytest.mark.parametrize("name", ["tokenizer.json", "onnx/decoder_model.onnx"])
def test_a_missing_file_is_named(model_dir: Path, name: str) -> None:
    (model_dir / name).unlink()
    with pytest.raises(ModelError, match=re.escape(f"{model_dir / name} is missing")):
        resolve_model(model_dir, "fp32")


def test_a_variant_the_folder_lacks_is_named(model_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"encoder_model_q4\.onnx is missing"):
        resolve_model(model_dir, "q4")


def test_an_unknown_variant_lists_the_valid_ones(model_dir: Path) -> None:
    with pytest.raises(ModelError, match="choose one of fp32, fp16, int8"):
        resolve_model(model_dir, "int4")


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
        lambda p: p.write_text("<html>rate limited</html>"),
    ],
    ids=["truncated", "not-onnx"],
)
def test_a_damaged_onnx_file_is_named_with_the_fix(model_dir: Path, damage: object) -> None:
    decoder = model_dir / "onnx/decoder_model.onnx"
    damage(decoder)  # type: ignore[operator]
    with pytest.raises(ModelError, match="is damaged \\(onnx's check fails") as caught:
        Engine(resolve_model(model_dir, "fp32"), decode="plain")
    message = str(caught.value)
    assert str(decoder) in message and "copy the model folder again" in message
    assert "\n" not in message


def test_an_empty_onnx_file_is_refused_before_loading(model_dir: Path) -> None:
    (model_dir / "onnx/encoder_model.onnx").write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        resolve_model(model_dir, "fp32")


def test_an_unexpected_graph_layout_is_described(model_dir: Path) -> None:
    """A decoder exported with past key/values (or anything else) is not taken for ours."""
    x = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"])
    y = helper.make_tensor_value_info("logits", TensorProto.INT64, ["b", "s"])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], ["logits"])], "g", [x], [y]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, model_dir / "onnx/decoder_model.onnx")
    with pytest.raises(ModelError, match=r"unexpected layout.*input_ids"):
        Engine(resolve_model(model_dir, "fp32"), decode="plain")


def test_offline_with_an_empty_cache_says_how_to_get_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelNotDownloadedError, match="mathpad model download"):
        resolve_model("someone/some-model", "int8")


def test_a_cached_hub_model_resolves_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy_model: Callable[..., Path]
) -> None:
    """The hub cache layout (refs/main -> snapshots/<commit>) is read without any network."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    repo = tmp_path / "hub" / "models--someone--some-model"
    snapshot = repo / "snapshots" / ("a" * 40)
    copy_model("optimum", snapshot, variants=("_int8",))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    files = resolve_model("someone/some-model", "int8")
    assert files.root == snapshot and files.decoder.is_file()
    assert files.name == "someone/some-model"


def test_every_variant_runs_on_the_cpu_or_is_refused_with_one_that_does(
    tmp_path: Path, copy_model: Callable[..., Path]
) -> None:
    ran = set()
    for variant in VARIANTS:
        folder = copy_model("optimum", tmp_path / variant, variants=(VARIANTS[variant],))
        try:
            Engine(resolve_model(folder, variant), decode="plain")
        except ModelError as error:
            assert "--variant int8" in str(error), error
        else:
            ran.add(variant)
        shutil.rmtree(folder)
    assert {"fp32", "int8"} <= ran  # the ones a refusal names must really run
