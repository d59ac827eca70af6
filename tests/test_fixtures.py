"""The committed model fixtures are complete, consistent and not degenerate.

tools/make_fixture.py writes tests/fixtures; these checks read only the committed files
(no torch, no transformers), so a stale or hand-edited fixture fails here before it can
mislead the engine's parity tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image
from tokenizers import Tokenizer

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ("optimum", "torch")
SUFFIXES = ("", "_fp16", "_int8", "_uint8", "_quantized", "_q4", "_q4f16", "_bnb4")
REPO_FILES = (
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
)
SIZE_LIMIT = 10 * 1024 * 1024


@cache
def reference() -> dict[str, Any]:
    return json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))


def fixture(name: str) -> dict[str, Any]:
    return reference()["fixtures"][name]


def read_json(name: str, file: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "models" / name / file).read_text(encoding="utf-8"))


@cache
def session(name: str, part: str) -> ort.InferenceSession:
    path = FIXTURES / "models" / name / "onnx" / f"{part}.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def greedy(name: str, pixel_values: np.ndarray) -> list[int]:
    """Plain fp32 greedy decoding: whole prefix each step, last row of the logits."""
    record = fixture(name)
    hidden = session(name, "encoder_model").run(None, {"pixel_values": pixel_values})[0]
    decoder = session(name, "decoder_model")
    ids = [record["decoder_start_token_id"]]
    while len(ids) < reference()["max_length"]:
        feed = {"input_ids": np.array([ids], dtype=np.int64), "encoder_hidden_states": hidden}
        ids.append(int(decoder.run(None, feed)[0][0, -1].argmax()))
        if ids[-1] == record["eos_token_id"]:
            break
    return ids


def to_rgb(image: Image.Image) -> Image.Image:
    """The RGB rule reference.json states: composite transparent images onto white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def test_fixtures_stay_small() -> None:
    size = sum(f.stat().st_size for f in FIXTURES.rglob("*") if f.is_file())
    assert size < SIZE_LIMIT


def test_images_cover_modes_and_shapes() -> None:
    images = {}
    for path in sorted((FIXTURES / "images").glob("*.png")):
        with Image.open(path) as image:
            image.load()
            images[path.name] = image
    assert 8 <= len(images) <= 16
    assert set(images) == set(fixture("optimum")["images"]) == set(fixture("torch")["images"])
    modes = {image.mode for image in images.values()}
    assert {"RGB", "L", "RGBA", "LA", "P"} <= modes
    assert any(i.mode == "P" and "transparency" in i.info for i in images.values())
    assert any(i.mode == "P" and "transparency" not in i.info for i in images.values())
    aspects = {round(i.width / i.height, 2) for i in images.values()}
    assert len(aspects) >= 6


@pytest.mark.parametrize("name", NAMES)
def test_hub_layout(name: str) -> None:
    folder = FIXTURES / "models" / name
    expected = {
        f"{part}{suffix}.onnx" for part in ("encoder_model", "decoder_model") for suffix in SUFFIXES
    }
    assert {p.name for p in (folder / "onnx").iterdir()} == expected
    for file in REPO_FILES:
        assert (folder / file).is_file(), file
    record = fixture(name)
    config = read_json(name, "config.json")
    generation = read_json(name, "generation_config.json")
    assert config["decoder_start_token_id"] == record["decoder_start_token_id"]
    assert generation["decoder_start_token_id"] == record["decoder_start_token_id"]
    assert (generation["bos_token_id"], generation["pad_token_id"]) == (0, 1)
    assert generation["eos_token_id"] == record["eos_token_id"] == 2
    assert "max_length" not in generation
    assert config["decoder"]["max_position_embeddings"] == 512
    size = read_json(name, "preprocessor_config.json")["size"]
    assert size == record["image_size"]
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert tokenizer.get_vocab_size() == record["decoder"]["vocab_size"]
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    assert [tokenizer.token_to_id(t) for t in specials] == [0, 1, 2, 3]
    assert tokenizer.token_to_id("<mask>") == record["decoder"]["vocab_size"] - 1


def _io(path: Path) -> dict[str, tuple[int, list[int | str]]]:
    graph = onnx.load(str(path), load_external_data=False).graph
    return {
        v.name: (
            v.type.tensor_type.elem_type,
            [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim],
        )
        for v in (*graph.input, *graph.output)
    }


def _weight_types(path: Path, op_type: str) -> set[int]:
    """Element types of the constant weight inputs of every `op_type` node."""
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {t.name: t.data_type for t in graph.initializer}
    return {
        initializers[name]
        for node in graph.node
        if node.op_type == op_type
        for name in node.input
        if name in initializers
        and initializers[name] in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    }


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_variant_graphs(name: str, suffix: str) -> None:
    record = fixture(name)
    folder = FIXTURES / "models" / name / "onnx"
    float32, int64 = onnx.TensorProto.FLOAT, onnx.TensorProto.INT64
    encoder = _io(folder / f"encoder_model{suffix}.onnx")
    decoder = _io(folder / f"decoder_model{suffix}.onnx")
    assert set(encoder) == {"pixel_values", "last_hidden_state"}
    assert set(decoder) == {"input_ids", "encoder_hidden_states", "logits"}
    assert encoder["pixel_values"][0] == encoder["last_hidden_state"][0] == float32
    assert len(encoder["pixel_values"][1]) == 4
    assert decoder["input_ids"][0] == int64
    assert decoder["encoder_hidden_states"] == (
        float32,
        ["batch_size", "encoder_sequence_length", record["encoder"]["hidden_size"]],
    )
    assert decoder["logits"] == (
        float32,
        ["batch_size", "decoder_sequence_length", record["decoder"]["vocab_size"]],
    )

    ops = {
        part: {n.op_type for n in onnx.load(str(folder / f"{part}{suffix}.onnx")).graph.node}
        for part in ("encoder_model", "decoder_model")
    }
    int8, uint8 = onnx.TensorProto.INT8, onnx.TensorProto.UINT8
    if suffix in ("_int8", "_uint8", "_quantized"):
        assert "ConvInteger" in ops["encoder_model"]
        assert "MatMulInteger" in ops["decoder_model"]
        encoder_type = int8 if suffix == "_int8" else uint8
        decoder_type = uint8 if suffix == "_uint8" else int8
        assert _weight_types(folder / f"encoder_model{suffix}.onnx", "ConvInteger") == {
            encoder_type
        }
        assert _weight_types(folder / f"decoder_model{suffix}.onnx", "MatMulInteger") == {
            decoder_type
        }
    if suffix in ("_q4", "_q4f16"):
        assert "MatMulNBits" in ops["decoder_model"]
    if suffix == "_bnb4":
        assert "MatMulBnb4" in ops["decoder_model"]
    if suffix in ("_fp16", "_q4f16"):
        graph = onnx.load(str(folder / f"decoder_model{suffix}.onnx")).graph
        assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer)


@pytest.mark.parametrize("name", NAMES)
def test_pixel_values_follow_the_stated_rule(name: str) -> None:
    height, width = fixture(name)["image_size"]["height"], fixture(name)["image_size"]["width"]
    with np.load(FIXTURES / fixture(name)["pixel_values"]) as npz:
        pixels = {key: npz[key] for key in npz.files}
    assert set(pixels) == set(fixture(name)["images"])
    for file, values in pixels.items():
        assert values.dtype == np.float32
        assert values.shape == (1, 3, height, width)
        with Image.open(FIXTURES / "images" / file) as image:
            rgb = to_rgb(image)
        u8 = np.asarray(rgb.resize((width, height), Image.Resampling.BILINEAR))
        expected = ((u8 / 255).astype(np.float32) - 0.5) / 0.5
        np.testing.assert_array_equal(values[0], expected.transpose(2, 0, 1))
    flat = [v.tobytes() for v in pixels.values()]
    assert len(set(flat)) == len(flat)


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_not_degenerate(name: str) -> None:
    record, max_length = fixture(name), reference()["max_length"]
    threshold, eos = reference()["margin_threshold"], record["eos_token_id"]
    runs = list(record["images"].values())
    sequences = [tuple(run["token_ids"]) for run in runs]
    lengths = [len(s) for s in sequences]
    assert len(set(sequences)) == len(sequences)
    assert len(set(lengths)) >= len(runs) / 2
    ended = [s[-1] == eos and len(s) < max_length for s in sequences]
    capped = [len(s) == max_length and s[-1] != eos for s in sequences]
    assert 3 * sum(ended) >= 2 * len(runs)
    assert any(capped)
    assert all(e or c for e, c in zip(ended, capped, strict=True))
    assert threshold >= 0.01
    for run, ids in zip(runs, sequences, strict=True):
        assert ids[0] == record["decoder_start_token_id"]
        assert eos not in ids[1:-1]
        assert run["length"] == len(ids)
        assert run["ends_with_eos"] == (ids[-1] == eos)
        assert run["min_margin"] >= threshold
    assert record["min_margin"] == min(run["min_margin"] for run in runs)


@pytest.mark.parametrize("name", NAMES)
def test_latex_is_the_tokenizers_decode(name: str) -> None:
    tokenizer = Tokenizer.from_file(str(FIXTURES / "models" / name / "tokenizer.json"))
    for run in fixture(name)["images"].values():
        assert tokenizer.decode(run["token_ids"], skip_special_tokens=True) == run["latex"]


@pytest.mark.parametrize("name", NAMES)
def test_fp32_onnx_reproduces_reference(name: str) -> None:
    with np.load(FIXTURES / fixture(name)["pixel_values"]) as npz:
        for file, run in fixture(name)["images"].items():
            assert greedy(name, npz[file]) == run["token_ids"], file
