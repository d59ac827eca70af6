"""Greedy search and generation settings behave as transformers' generate does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mathpad.errors import ModelError
from mathpad.model.generation import GenerationSettings, load_generation_settings
from mathpad.model.search import beam, greedy

VOCAB = 8
START, PAD, EOS = 0, 1, 2


class _Scripted:
    """A decode state whose favourite token for row r at position p is plan[r][p].

    The runner-up is the next token id, a little behind; every call is counted.
    """

    def __init__(self, plan: list[list[int]]) -> None:
        self.plan, self.held, self.calls = plan, 0, []

    @property
    def length(self) -> int:
        return self.held

    def extend(self, tokens: np.ndarray) -> np.ndarray:
        self.calls.append(tokens.shape[1])
        logits = np.zeros((tokens.shape[0], tokens.shape[1], VOCAB), dtype=np.float32)
        for column in range(tokens.shape[1]):
            index = self.held + column
            for row, wanted in enumerate(self.plan):
                best = wanted[min(index, len(wanted) - 1)]
                logits[row, column, best] = 5.0
                logits[row, column, (best + 1) % VOCAB] = 4.0
        self.held += tokens.shape[1]
        return logits

    def truncate(self, length: int) -> None:
        self.held = length

    def select(self, rows: np.ndarray) -> None:
        self.plan = [self.plan[r] for r in rows]


def _greedy(plan: list[list[int]], settings: GenerationSettings, **options: object) -> list:
    return greedy(_Scripted(plan), len(plan), settings, **options)  # type: ignore[arg-type]


def _settings(**changes: object) -> GenerationSettings:
    base = {"decoder_start_token_id": START, "eos_token_ids": (EOS,), "pad_token_id": PAD}
    return GenerationSettings(**{"max_length": 10, **base, **changes})  # type: ignore[arg-type]


def test_finished_rows_stop_at_their_end_token_and_others_go_on() -> None:
    decoded = _greedy([[3, EOS], [4, 5, 6, EOS]], _settings())
    assert decoded[0].token_ids == (START, 3, EOS)  # no padding of the batch
    assert decoded[1].token_ids == (START, 4, 5, 6, EOS)
    assert len(decoded[0].steps) == 2 and len(decoded[1].steps) == 4


def test_max_length_counts_the_start_token_and_leaves_no_eos() -> None:
    (decoded,) = _greedy([[3]], _settings(max_length=5))
    assert decoded.token_ids == (START, 3, 3, 3, 3)


def test_min_length_holds_back_the_end() -> None:
    (decoded,) = _greedy([[EOS]], _settings(min_length=3))
    assert decoded.token_ids == (START, 3, 3, EOS)  # runner-up 3 while EOS is banned


def test_no_repeat_ngram_takes_the_runner_up() -> None:
    (decoded,) = _greedy([[4, 4, 4, EOS]], _settings(no_repeat_ngram_size=2))
    assert decoded.token_ids[:4] == (START, 4, 4, 5)


def test_repetition_penalty_discourages_seen_tokens() -> None:
    (decoded,) = _greedy([[4, 4, EOS]], _settings(repetition_penalty=2.0))
    assert decoded.token_ids[:3] == (START, 4, 5)


def test_probabilities_are_softmax_of_the_chosen_logit() -> None:
    (decoded,) = _greedy([[EOS]], _settings())
    expected = np.exp(5.0) / (np.exp(5.0) + np.exp(4.0) + (VOCAB - 2))
    assert decoded.steps[0].prob == pytest.approx(expected, rel=1e-5)
    assert [t for t, _ in decoded.steps[0].top[:2]] == [EOS, EOS + 1]
    assert decoded.score == pytest.approx(np.log(expected))


def test_bad_words_are_not_chosen_after_their_prefix() -> None:
    (decoded,) = _greedy([[3, 4, 4, EOS]], _settings(bad_words_ids=((3, 4),)))
    assert decoded.token_ids[:3] == (START, 3, 5)  # 4 right after 3 is banned
    (alone,) = _greedy([[4, 4, EOS]], _settings(bad_words_ids=((3, 4),)))
    assert alone.token_ids[:3] == (START, 4, 4)  # without the prefix it is allowed


def test_forced_bos_and_eos_tokens() -> None:
    (decoded,) = _greedy([[3, 3, 3, 3]], _settings(forced_bos_token_id=6, max_length=5,
                                                  forced_eos_token_ids=(EOS,)))  # fmt: skip
    assert decoded.token_ids == (START, 6, 3, 3, EOS)


def test_suppressed_tokens_are_never_chosen() -> None:
    (decoded,) = _greedy([[3, 3, EOS]], _settings(suppress_tokens=(3,)))
    assert decoded.token_ids == (START, 4, 4, EOS)


def test_begin_suppressed_tokens_are_banned_only_first() -> None:
    (decoded,) = _greedy([[3, 3, EOS]], _settings(begin_suppress_tokens=(3,)))
    assert decoded.token_ids == (START, 4, 3, EOS)


def test_a_draft_is_checked_in_one_call_and_kept_where_greedy_agrees() -> None:
    plan = [[3, 4, 5, 6, EOS]]
    state = _Scripted(plan)
    (decoded,) = greedy(state, 1, _settings(), drafts=[(START, 3, 4, 7, 7)])
    assert decoded.token_ids == (START, 3, 4, 5, 6, EOS)
    assert decoded.draft_accepted == 2
    assert state.calls == [5, 1, 1]  # the draft at once, then one call per new token


def test_a_right_draft_needs_no_further_call() -> None:
    state = _Scripted([[3, 4, EOS]])
    (decoded,) = greedy(state, 1, _settings(), drafts=[(START, 3, 4, EOS)])
    assert decoded.token_ids == (START, 3, 4, EOS) and decoded.draft_accepted == 3
    assert state.calls == [4]


def test_a_forced_prefix_wins_over_the_scores() -> None:
    (decoded,) = _greedy([[3, 4, 5, EOS]], _settings(), forced=[(START, 6)])
    assert decoded.token_ids == (START, 6, 4, 5, EOS)
    assert decoded.steps[0].prob < 0.1


def test_beam_of_width_one_is_greedy_and_wider_finds_more() -> None:
    plan = [[3, 4, 5, EOS]]
    (greedy_result,) = _greedy(plan, _settings())
    (one,) = beam(_Scripted(plan), _settings(), width=1, k=1)  # type: ignore[arg-type]
    assert one.token_ids == greedy_result.token_ids
    assert one.score == pytest.approx(greedy_result.score)
    found = beam(_Scripted(plan), _settings(), width=3, k=3)  # type: ignore[arg-type]
    assert found[0].token_ids == greedy_result.token_ids
    assert len({d.token_ids for d in found}) == 3
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


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
