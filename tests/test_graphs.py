"""Derived decoder graphs: found by structure on every variant, and trusted only if verified."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from support import EXPORTERS, MODELS

from mathpad.model import graph_verify
from mathpad.model.fast_decoder import build_runner
from mathpad.model.graph_io import load_model, save_model
from mathpad.model.graphs import LEVELS, DerivationError, DerivedGraphs, derive
from mathpad.model.runners import make_session

VARIANTS = ("", "_fp16", "_int8", "_uint8", "_quantized", "_q4", "_q4f16", "_bnb4")


def _decoder(exporter: str, suffix: str) -> Path:
    return MODELS / exporter / "onnx" / f"decoder_model{suffix}.onnx"


def _verify(source: Path, derived: DerivedGraphs, folder: Path) -> None:
    """Save the derived graphs and check them against `source` as the cache does."""
    folder.mkdir()
    prepare, step = folder / "prepare.onnx", folder / "step.onnx"
    save_model(derived.prepare, prepare)
    save_model(derived.step, step)
    (folder / "work").mkdir()
    graph_verify.verify(
        source,
        prepare,
        step,
        precision=derived.precision,
        work=folder / "work",
        build_runner=functools.partial(build_runner, derived.signature),
    )


@pytest.mark.parametrize("suffix", VARIANTS, ids=lambda s: s.strip("_") or "fp32")
@pytest.mark.parametrize("level", LEVELS)
def test_every_variant_of_both_exporters_derives_verified_graphs(
    exporter: str, suffix: str, level: str, tmp_path: Path
) -> None:
    source = _decoder(exporter, suffix)
    derived = derive(load_model(source), level)
    assert bool(derived.signature.past) == (level == "cached")
    _verify(source, derived, tmp_path / "graphs")


def _sabotaged(*outputs: str) -> Callable[[onnx.ModelProto], None]:
    """Turn the nodes making `outputs` into pass-throughs of their non-cache operand."""

    def sabotage(step: onnx.ModelProto) -> None:
        for node in step.graph.node:
            if node.output[0] in outputs:
                keep = node.input[0] if node.op_type == "Add" else node.input[1]
                node.op_type = "Identity"
                node.ClearField("attribute")
                node.ClearField("input")
                node.input.append(keep)

    return sabotage


@pytest.mark.parametrize(
    "sabotage",
    [
        pytest.param(_sabotaged("mathpad/positions"), id="positions-not-shifted"),
        pytest.param(
            _sabotaged("mathpad/present.0.key", "mathpad/present.0.value"), id="past-ignored"
        ),
    ],
)
@pytest.mark.parametrize("suffix", ["", "_int8"], ids=["fp32", "int8"])
def test_verification_rejects_a_broken_cache(
    sabotage: Callable[[onnx.ModelProto], None], suffix: str, tmp_path: Path
) -> None:
    source = _decoder(EXPORTERS[0], suffix)
    derived = derive(load_model(source), "cached")
    sabotage(derived.step)
    with pytest.raises(graph_verify.VerificationError, match="step 2"):
        _verify(source, derived, tmp_path / "graphs")


def test_derivation_follows_structure_not_names(tmp_path: Path) -> None:
    """Renaming every node and intermediate tensor changes nothing."""
    source = _decoder(EXPORTERS[0], "_int8")
    model = load_model(source)
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    renames = {t.name: f"w{i}" for i, t in enumerate(graph.initializer)}
    for index, node in enumerate(graph.node):
        node.name = f"n{index}"
        renames.update(
            (name, f"t{index}.{i}") for i, name in enumerate(node.output) if name not in keep
        )
    for tensor in graph.initializer:
        tensor.name = renames[tensor.name]
    for node in graph.node:
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                field[i] = renames.get(name, name)
    graph.ClearField("value_info")
    renamed = tmp_path / "renamed.onnx"
    save_model(model, renamed)
    _verify(renamed, derive(load_model(renamed), "cached"), tmp_path / "graphs")


def test_a_graph_that_is_not_a_decoder_is_refused_with_a_reason() -> None:
    encoder = load_model(MODELS / EXPORTERS[0] / "onnx" / "encoder_model.onnx")
    with pytest.raises(DerivationError, match="input_ids"):
        derive(encoder, "cached")


def test_a_hoisted_step_projects_only_the_last_position_onto_the_vocabulary(
    tmp_path: Path,
) -> None:
    source = _decoder(EXPORTERS[1], "_int8")
    derived = derive(load_model(source), "hoisted")
    _verify(source, derived, tmp_path / "graphs")
    session = make_session(tmp_path / "graphs" / "step.onnx")
    prepare = make_session(tmp_path / "graphs" / "prepare.onnx")
    signature = derived.signature
    hidden = prepare.get_inputs()[0].shape[-1]
    states = np.zeros((2, 5, hidden), np.float32)
    cross = dict(zip(signature.cross, prepare.run(None, {signature.states: states}), strict=True))
    ids = np.full((2, 7), 3, np.int64)
    (logits,) = session.run([signature.logits], {signature.ids: ids, **cross})
    assert logits.shape[:2] == (2, 1)
