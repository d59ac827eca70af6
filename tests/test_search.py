"""Greedy search and generation settings behave as transformers' generate does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mathpad.errors import ModelError
from mathpad.model.generation import GenerationSettings, load_generation_settings
from mathpad.model.search import greedy

VOCAB = 8
START, PAD, EOS = 0, 1, 2


def _scripted(plan: list[list[int]]):
    """A step function whose favourite token for row r at step s is plan[r][s]."""

    def step(tokens: np.ndarray) -> np.ndarray:
        index = tokens.shape[1] - 1
        logits = np.zeros((tokens.shape[0], VOCAB), dtype=np.float32)
        for row, wanted in enumerate(plan):
            logits[row, wanted[min(index, len(wanted) - 1)]] = 5.0
            logits[row, (wanted[min(index, len(wanted) - 1)] + 1) % VOCAB] = 4.0
        return logits

    return step


def _settings(**changes: object) -> GenerationSettings:
    base = {"decoder_start_token_id": START, "eos_token_ids": (EOS,), "pad_token_id": PAD}
    return GenerationSettings(**{"max_length": 10, **base, **changes})  # type: ignore[arg-type]


def test_finished_rows_are_padded_and_others_go_on() -> None:
    decoded = greedy(_scripted([[3, EOS], [4, 5, 6, EOS]]), 2, _settings())
    assert decoded[0].token_ids == (START, 3, EOS, PAD, PAD)
    assert decoded[1].token_ids == (START, 4, 5, 6, EOS)
    assert len(decoded[0].token_probs) == 2 and len(decoded[1].token_probs) == 4


def test_max_length_counts_the_start_token_and_leaves_no_eos() -> None:
    (decoded,) = greedy(_scripted([[3]]), 1, _settings(max_length=5))
    assert decoded.token_ids == (START, 3, 3, 3, 3)


def test_min_length_holds_back_the_end() -> None:
    (decoded,) = greedy(_scripted([[EOS]]), 1, _settings(min_length=3))
    assert decoded.token_ids == (START, 3, 3, EOS)  # runner-up 3 while EOS is banned


def test_no_repeat_ngram_takes_the_runner_up() -> None:
    (decoded,) = greedy(_scripted([[4, 4, 4, EOS]]), 1, _settings(no_repeat_ngram_size=2))
    assert decoded.token_ids[:4] == (START, 4, 4, 5)


def test_repetition_penalty_discourages_seen_tokens() -> None:
    step = _scripted([[4, 4, EOS]])
    (decoded,) = greedy(step, 1, _settings(repetition_penalty=2.0))
    assert decoded.token_ids[:3] == (START, 4, 5)


def test_probabilities_are_softmax_of_the_chosen_logit() -> None:
    (decoded,) = greedy(_scripted([[EOS]]), 1, _settings())
    expected = np.exp(5.0) / (np.exp(5.0) + np.exp(4.0) + (VOCAB - 2))
    assert decoded.token_probs[0] == pytest.approx(expected, rel=1e-5)


def _write(folder: Path, config: dict, generation: dict | None) -> tuple[Path, Path | None]:
    (folder / "config.json").write_text(json.dumps(config))
    if generation is None:
        return folder / "config.json", None
    (folder / "generation_config.json").write_text(json.dumps(generation))
    return folder / "config.json", folder / "generation_config.json"


def test_special_tokens_come_from_generation_config(tmp_path: Path) -> None:
    config, generation = _write(
        tmp_path,
        {"decoder_start_token_id": 2, "eos_token_id": 2},
        {"decoder_start_token_id": 0, "eos_token_id": [2, 7], "pad_token_id": 1},
    )
    settings = load_generation_settings(config, generation)
    assert (settings.decoder_start_token_id, settings.eos_token_ids) == (0, (2, 7))
    assert settings.max_length == 128  # the card's max_length, not transformers' 20


def test_without_generation_config_the_model_config_is_used(tmp_path: Path) -> None:
    config, generation = _write(
        tmp_path, {"decoder": {"bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}}, None
    )
    settings = load_generation_settings(config, generation, max_length=40)
    assert (settings.decoder_start_token_id, settings.pad_token_id) == (0, 1)
    assert settings.max_length == 40


def test_max_new_tokens_wins_over_max_length(tmp_path: Path) -> None:
    config, generation = _write(
        tmp_path, {}, {"decoder_start_token_id": 2, "eos_token_id": 2, "max_new_tokens": 30}
    )
    settings = load_generation_settings(config, generation, max_length=128)
    assert settings.max_length == 31
    assert settings.with_max_length(40).max_length == 31  # a caller's length does not win


@pytest.mark.parametrize(("key", "value"), [("num_beams", 4), ("do_sample", True)])
def test_settings_we_cannot_reproduce_are_refused(tmp_path: Path, key: str, value: object) -> None:
    config, generation = _write(
        tmp_path, {}, {"decoder_start_token_id": 2, "eos_token_id": 2, key: value}
    )
    with pytest.raises(ModelError, match=f"{key}="):
        load_generation_settings(config, generation)


def test_a_model_without_special_tokens_is_refused(tmp_path: Path) -> None:
    config, generation = _write(tmp_path, {"decoder": {}}, {})
    with pytest.raises(ModelError, match="no decoder start or end token"):
        load_generation_settings(config, generation)
