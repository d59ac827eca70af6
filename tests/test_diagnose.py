"""A model file onnxruntime refuses: damaged, not runnable by this runtime, or a bad cache."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from mathpad.errors import ModelError
from mathpad.model.diagnose import load_session
from mathpad.model.engine import Engine
from mathpad.model.sessions import make_session
from mathpad.model.store import ModelFiles, resolve_model


def _make(path: Path, optimized_dir: Path | None) -> ort.InferenceSession:
    return make_session(path, optimized_dir=optimized_dir)


@pytest.fixture
def files(tmp_path: Path, copy_model: Callable[..., Path]) -> ModelFiles:
    return resolve_model(copy_model("optimum", tmp_path / "model", variants=("_int8",)), "int8")


def test_a_file_this_runtime_cannot_run_names_the_version_not_a_download(
    files: ModelFiles,
) -> None:
    """A valid graph (onnx's checker passes) with an operator the CPU provider lacks."""
    x = helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [2])
    y = helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [2])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, files.decoder)
    with pytest.raises(ModelError) as caught:
        load_session(_make, files.decoder, files=files, optimized_dir=None)
    message = str(caught.value)
    assert f"onnxruntime {ort.__version__} cannot run" in message and "NOT_IMPLEMENTED" in message
    assert "damaged" not in message and "download" not in message and "\n" not in message


def test_a_truncated_file_is_damaged(files: ModelFiles) -> None:
    files.encoder.write_bytes(files.encoder.read_bytes()[:5000])
    with pytest.raises(ModelError, match=r"is damaged \(onnx's check fails"):
        Engine(files, decode="plain")


def test_an_unusable_cache_folder_runs_without_the_saved_optimization_and_says_it_once(
    files: ModelFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """XDG_CACHE_HOME pointing at a file: the model is fine and must not be blamed."""
    (tmp_path / "cache-file").write_text("not a folder")
    cache = tmp_path / "cache-file" / "mathpad"
    with caplog.at_level(logging.WARNING):
        first = Engine(files, decode="plain", cache_dir=cache)
        Engine(files, decode="plain", cache_dir=cache)
    assert first.recognize
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1 and "without the saved optimization" in warnings[0].getMessage()
