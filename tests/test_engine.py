"""The engine gives the reference's tokens on the fixture models, image for image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from support import FIXTURES, IMAGES, MODELS, image_names

from mathpad.errors import InputError
from mathpad.imaging.loading import load_image
from mathpad.model.engine import Decode, Engine
from mathpad.model.store import resolve_model


def _engine(exporter: str, variant: str, decode: Decode, cache: Path | None = None) -> Engine:
    return Engine(resolve_model(MODELS / exporter, variant), decode=decode, cache_dir=cache)


def _images() -> dict[str, Image.Image]:
    return {name: load_image(IMAGES / name) for name in image_names()}


def test_pixel_values_match_the_image_processor(exporter: str, reference: dict[str, Any]) -> None:
    engine = _engine(exporter, "fp32", "plain")
    recorded = np.load(FIXTURES / reference["fixtures"][exporter]["pixel_values"])
    for name, image in _images().items():
        ours = engine.pixel_values([image])
        assert ours.shape == recorded[name].shape, name
        assert np.abs(ours - recorded[name]).max() <= 1e-5, name


@pytest.mark.parametrize("decode", ["plain", "auto"])
def test_fp32_tokens_equal_transformers_generate(
    exporter: str, decode: Decode, reference: dict[str, Any], tmp_path: Path
) -> None:
    engine = _engine(exporter, "fp32", decode, tmp_path / "cache")
    records = reference["fixtures"][exporter]["images"]
    images = _images()
    results = [engine.recognize([images[name]])[0] for name in records]
    for name, result in zip(records, results, strict=True):
        assert list(result.token_ids) == records[name]["token_ids"], name
        assert result.latex == records[name]["latex"], name


def test_int8_tokens_equal_a_plain_onnx_run(exporter: str, reference: dict[str, Any]) -> None:
    engine = _engine(exporter, "int8", "plain")
    records = reference["fixtures"][exporter]["images"]
    images = _images()
    for name in records:
        (result,) = engine.recognize([images[name]])
        assert list(result.token_ids) == records[name]["int8_token_ids"], name


def test_a_batch_gives_the_same_tokens_as_one_by_one(
    exporter: str, reference: dict[str, Any]
) -> None:
    engine = _engine(exporter, "fp32", "plain")
    records = reference["fixtures"][exporter]["images"]
    images = _images()
    batched = engine.recognize([images[name] for name in records])
    for name, result in zip(records, batched, strict=True):
        expected = records[name]["token_ids"]
        assert list(result.token_ids[: len(expected)]) == expected, name
        padding = set(result.token_ids[len(expected) :])
        assert padding <= {engine.settings.pad_token_id}, name


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
