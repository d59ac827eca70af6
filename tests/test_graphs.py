"""Derived decoder graphs: found by structure on every variant, and trusted only if verified."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper
from support import EXPORTERS, MODELS

from mathpad.model.derive import verify as verification
from mathpad.model.derive.io import load_model, save_model
from mathpad.model.derive.rewrites import LEVELS, DerivationError, DerivedGraphs, derive
from mathpad.model.derive.runners import build_runner
from mathpad.model.sessions import make_session

VARIANTS = ("", "_fp16", "_int8", "_uint8", "_quantized", "_q4", "_q4f16", "_bnb4")
DYNAMIC = ("_int8", "_uint8", "_quantized")


def _decoder(exporter: str, suffix: str) -> Path:
    return MODELS / exporter / "onnx" / f"decoder_model{suffix}.onnx"


def _save(derived: DerivedGraphs, folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    prepare, step = folder / "prepare.onnx", folder / "step.onnx"
    save_model(derived.prepare, prepare)
    save_model(derived.step, step)
    return prepare, step


def _verify(source: Path, derived: DerivedGraphs, folder: Path, seed: int | None = None) -> None:
    """Save the derived graphs and check them against `source` as the cache does."""
    prepare, step = _save(derived, folder)
    (folder / "work").mkdir()
    verification.verify(
        source,
        prepare,
        step,
        precision=derived.precision,
        signature=derived.signature,
        work=folder / "work",
        **({} if seed is None else {"seed": seed}),
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


def _pass_through(step: onnx.ModelProto, *outputs: str) -> None:
    """Turn the nodes making `outputs` into pass-throughs of their non-cache operand."""
    for node in step.graph.node:
        if node.output[0] in outputs:
            keep = node.input[0] if node.op_type == "Add" else node.input[1]
            node.op_type = "Identity"
            node.ClearField("attribute")
            node.ClearField("input")
            node.input.append(keep)


def _positions_off_by_one(step: onnx.ModelProto) -> None:
    one = "mathpad/test/one"
    step.graph.initializer.append(numpy_helper.from_array(np.array(1, np.int64), one))
    for node in step.graph.node:
        if node.output[0] == "mathpad/positions":
            node.output[0] = "mathpad/test/positions"
    step.graph.node.append(
        helper.make_node("Add", ["mathpad/test/positions", one], ["mathpad/positions"])
    )
    _sort(step)


def _last_layer_ignores_its_cache(step: onnx.ModelProto) -> None:
    names = [n.output[0] for n in step.graph.node if n.output[0].startswith("mathpad/present.")]
    last = max(int(name.split(".")[1]) for name in names)
    _pass_through(step, f"mathpad/present.{last}.key", f"mathpad/present.{last}.value")


def _mask_lets_tokens_see_ahead(step: onnx.ModelProto) -> None:
    for node in step.graph.node:
        if node.output[0] == "mathpad/causal":  # Where(allowed, 0, lowest) -> 0 everywhere
            node.input[2] = node.input[1]


def _sort(model: onnx.ModelProto) -> None:
    from mathpad.model.derive.analysis import DataFlow

    flow = DataFlow(model.graph)
    flow.sort()
    model.graph.ClearField("node")
    model.graph.node.extend(flow.nodes)


SABOTAGES: dict[str, tuple[Callable[[onnx.ModelProto], None], str]] = {
    "positions-not-shifted": (lambda s: _pass_through(s, "mathpad/positions"), "step 2"),
    "positions-off-by-one": (_positions_off_by_one, "step 1"),
    "past-ignored": (
        lambda s: _pass_through(s, "mathpad/present.0.key", "mathpad/present.0.value"),
        "fail on the probe",  # the keys no longer match the mask's length
    ),
    "last-layer-ignores-its-cache": (_last_layer_ignores_its_cache, "fail on the probe"),
    "multi-token-mask-sees-ahead": (_mask_lets_tokens_see_ahead, "step 3"),
}


@pytest.mark.parametrize("sabotage", SABOTAGES, ids=str)
@pytest.mark.parametrize("suffix", ["", "_int8"], ids=["fp32", "int8"])
def test_verification_rejects_a_broken_cache(sabotage: str, suffix: str, tmp_path: Path) -> None:
    source = _decoder(EXPORTERS[0], suffix)
    derived = derive(load_model(source), "cached")
    broken, first_wrong = SABOTAGES[sabotage]
    broken(derived.step)
    with pytest.raises(verification.VerificationError, match=first_wrong):
        _verify(source, derived, tmp_path / "graphs")


def _intermediates(path: Path, names: set[str], target: Path) -> ort.InferenceSession:
    model = load_model(path)
    model.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in sorted(names))
    save_model(model, target)
    return verification._unfused_session(target)


@pytest.mark.parametrize("suffix", DYNAMIC, ids=lambda s: s.strip("_"))
def test_with_fixed_scales_every_tensor_of_a_cached_step_equals_the_plain_graphs(
    exporter: str, suffix: str, tmp_path: Path
) -> None:
    """The fixed-scale copies compute exactly alike: a correct rewrite shows no error at all.

    Every tensor of the cached step at position L is compared with the same tensor of the
    plain graph's last position, run on the whole prefix of L tokens.
    """
    source = _decoder(exporter, suffix)
    derived = derive(load_model(source), "cached")
    signature = derived.signature
    prepare, step = _save(derived, tmp_path / "graphs")
    scales, probe = verification._quantization_scales(source, tmp_path / "cal.onnx", 3)
    fixed = {
        role: verification._fix_quantization(path, scales, tmp_path / f"fixed-{role}.onnx")
        for role, path in (("reference", source), ("prepare", prepare), ("step", step))
    }
    shared = {o for n in load_model(fixed["reference"]).graph.node for o in n.output} & {
        o for n in load_model(fixed["step"]).graph.node for o in n.output
    }
    reference = _intermediates(fixed["reference"], shared, tmp_path / "ref-all.onnx")
    cached = _intermediates(fixed["step"], shared, tmp_path / "step-all.onnx")
    ids, states = verification._inputs(reference)
    length = probe.ids.shape[1]
    names = [o.name for o in reference.get_outputs()]
    want = dict(
        zip(names, reference.run(names, {ids: probe.ids, states: probe.states}), strict=True)
    )
    runner = build_runner(
        signature, verification._unfused_session(fixed["prepare"]), cached
    )  # the step session returns only its declared outputs to the runner
    state = runner.start(probe.states)
    state.extend(probe.ids[:, : length - 1])
    feeds = {signature.ids: probe.ids[:, length - 1 :], **state._cross, **state._past}
    step_names = [o.name for o in cached.get_outputs() if o.name in want]
    have = dict(zip(step_names, cached.run(step_names, feeds), strict=True))
    compared, differing = 0, []
    for name, value in have.items():
        full = want[name]
        same_rows = value.ndim == full.ndim == 3 and value.shape[::2] == full.shape[::2]
        if same_rows and value.shape[1] == 1 < full.shape[1]:
            compared += 1
            if not np.array_equal(value[:, 0], full[:, -1]):
                differing.append(name)
    assert compared > 20
    assert differing == []


def test_a_batch_gives_each_row_exactly_its_own_logits(exporter: str, tmp_path: Path) -> None:
    """Per-row quantization: a row's int8 logits do not depend on the other rows."""
    source = _decoder(exporter, "_int8")
    for level in LEVELS:
        derived = derive(load_model(source), level)
        prepare, step = _save(derived, tmp_path / level)
        runner = build_runner(derived.signature, make_session(prepare), make_session(step))
        hidden = make_session(prepare).get_inputs()[0].shape[-1]
        rng = np.random.default_rng(1)
        states = rng.standard_normal((3, 7, hidden)).astype(np.float32) * [[[1]], [[5]], [[0.2]]]
        tokens = rng.integers(3, 50, (3, 5))
        together = runner.start(states.astype(np.float32))
        batch = [together.extend(tokens[:, :2]), together.extend(tokens[:, 2:])]
        for row in range(3):
            alone = runner.start(states[row : row + 1].astype(np.float32))
            first, second = (
                alone.extend(tokens[row : row + 1, :2]),
                alone.extend(tokens[row : row + 1, 2:]),
            )
            np.testing.assert_array_equal(first[0], batch[0][row])
            np.testing.assert_array_equal(second[0], batch[1][row])


def _permuted_with_scalar_constants(source: Path, target: Path) -> int:
    """Inputs in the other order; scalar Constant values as value_int(s)/value_float(s)."""
    model = load_model(source)
    graph = model.graph
    inputs = list(graph.input)[::-1]
    graph.ClearField("input")
    graph.input.extend(inputs)
    converted = 0
    for node in graph.node:
        if node.op_type != "Constant" or node.attribute[0].name != "value":
            continue
        value = numpy_helper.to_array(node.attribute[0].t)
        if value.dtype == np.int64 and value.ndim <= 1:
            form = helper.make_attribute(
                "value_int" if value.ndim == 0 else "value_ints", value.tolist()
            )
        elif value.dtype == np.float32 and value.ndim == 0:
            form = helper.make_attribute("value_float", float(value))
        else:
            continue
        node.ClearField("attribute")
        node.attribute.append(form)
        converted += 1
    save_model(model, target)
    return converted


@pytest.mark.parametrize("suffix", ["", "_int8"], ids=["fp32", "int8"])
def test_inputs_in_any_order_and_every_constant_form_derive(
    exporter: str, suffix: str, tmp_path: Path
) -> None:
    source = tmp_path / "decoder.onnx"
    converted = _permuted_with_scalar_constants(_decoder(exporter, suffix), source)
    model = load_model(source)
    assert model.graph.input[0].type.tensor_type.elem_type != onnx.TensorProto.INT64
    assert converted > 0 or exporter == "optimum"  # slimmed graphs hold initializers instead
    _verify(source, derive(model, "cached"), tmp_path / "graphs")


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


def test_a_hoisted_step_projects_only_the_new_positions_onto_the_vocabulary(
    tmp_path: Path,
) -> None:
    source = _decoder(EXPORTERS[1], "_int8")
    derived = derive(load_model(source), "hoisted")
    prepare, step = _save(derived, tmp_path / "graphs")
    session, prepared = make_session(step), make_session(prepare)
    signature = derived.signature
    hidden = prepared.get_inputs()[0].shape[-1]
    states = np.zeros((2, 5, hidden), np.float32)
    cross = dict(zip(signature.cross, prepared.run(None, {signature.states: states}), strict=True))
    ids = np.full((2, 7), 3, np.int64)
    for count in (1, 3):
        feeds = {signature.ids: ids, signature.new_tokens: np.array([count]), **cross}
        (logits,) = session.run([signature.logits], feeds)
        assert logits.shape[:2] == (2, count)
