"""Generation settings, read the way transformers' `generate` reads them.

The special token ids and every setting that changes a greedy result come from the model's
generation_config.json (else config.json, as transformers falls back). A setting we cannot
reproduce exactly (sampling, beams, ...) is refused with a clear error rather than ignored,
because ignoring it would silently give other tokens than the reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mathpad.errors import ModelError

# The model card calls generate(max_length=128), and that argument replaces whatever
# max_length the model's files hold: the card's pipeline (and so the reference's tokens)
# always stops at 128, start token included. transformers' own default, 20, would cut most
# expressions short.
DEFAULT_MAX_LENGTH = 128

# Settings that change nothing in greedy search, or only what generate returns besides tokens.
# `max_length` is among them only because the card's call replaces it (DEFAULT_MAX_LENGTH).
_NEUTRAL = {
    "use_cache", "cache_implementation", "output_scores", "output_logits", "output_attentions",
    "output_hidden_states", "return_dict_in_generate", "renormalize_logits", "low_memory",
    "length_penalty", "early_stopping", "temperature", "top_k", "top_p", "min_p", "typical_p",
    "epsilon_cutoff", "eta_cutoff", "max_time", "transformers_version", "_from_model_config",
    "max_length", "is_assistant", "num_assistant_tokens", "num_assistant_tokens_schedule",
    "assistant_confidence_threshold", "prompt_lookup_num_tokens", "max_matching_ngram_size",
    "decoder_start_token_id", "bos_token_id", "eos_token_id", "pad_token_id", "trust_remote_code",
    "remove_invalid_values", "compile_config", "disable_compile", "cache_config",
    "watermarking_config",
}  # fmt: skip
# Settings that change the tokens and that we reproduce.
_HONOURED = {
    "max_new_tokens", "min_length", "min_new_tokens", "no_repeat_ngram_size",
    "repetition_penalty", "suppress_tokens", "begin_suppress_tokens", "forced_bos_token_id",
    "forced_eos_token_id", "bad_words_ids",
}  # fmt: skip
# Values at which a setting we do not reproduce is harmless.
_HARMLESS = {
    "do_sample": (False, None),
    "num_beams": (1, None),
    "num_beam_groups": (1, None),
    "num_return_sequences": (1, None),
    "diversity_penalty": (0.0, None),
    "penalty_alpha": (None,),
    "guidance_scale": (None, 1.0),
    "encoder_repetition_penalty": (1.0, None),
    "encoder_no_repeat_ngram_size": (0, None),
    "exponential_decay_length_penalty": (None,),
    "sequence_bias": (None,),
    "forced_decoder_ids": (None, []),
    "constraints": (None, []),
    "force_words_ids": (None, []),
    "stop_strings": (None, []),
    "token_healing": (False, None),
    "dola_layers": (None,),
    "min_tokens_to_keep": (1, None),
}


@dataclass(frozen=True)
class GenerationSettings:
    """Everything the greedy loop needs to reproduce the reference's tokens."""

    decoder_start_token_id: int
    eos_token_ids: tuple[int, ...]
    pad_token_id: int
    max_length: int
    min_length: int = 0
    min_new_tokens: int = 0
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    suppress_tokens: tuple[int, ...] = ()
    begin_suppress_tokens: tuple[int, ...] = ()
    forced_bos_token_id: int | None = None
    forced_eos_token_ids: tuple[int, ...] = ()
    bad_words_ids: tuple[tuple[int, ...], ...] = ()
    length_from_config: bool = False  # max_new_tokens fixed the length; a caller's cannot

    def with_max_length(self, max_length: int) -> GenerationSettings:
        """These settings for a caller's max_length, unless max_new_tokens wins, as in generate."""
        return self if self.length_from_config else replace(self, max_length=max_length)


def load_generation_settings(
    config_path: Path, generation_path: Path | None, max_length: int | None = None
) -> GenerationSettings:
    """Settings from the model's files; `max_length` (default 128) as the card passes it."""
    config = _read(config_path)
    generation = _read(generation_path) if generation_path else _from_model_config(config)
    _refuse_unsupported(generation, generation_path or config_path)
    decoder = config.get("decoder", {}) if isinstance(config.get("decoder"), dict) else {}

    def special(key: str) -> Any:
        for source in (generation, config, decoder):
            if source.get(key) is not None:
                return source[key]
        return None

    eos_ids = _ids(special("eos_token_id"))
    start = special("decoder_start_token_id")
    if start is None:
        start = special("bos_token_id")
    if start is None or not eos_ids:
        raise ModelError(
            f"{config_path} names no decoder start or end token: the model folder is incomplete"
        )
    pad = special("pad_token_id")
    length = DEFAULT_MAX_LENGTH if max_length is None else max_length
    fixed = generation.get("max_new_tokens") is not None
    if fixed:
        length = int(generation["max_new_tokens"]) + 1  # transformers: it wins over max_length
    return GenerationSettings(
        decoder_start_token_id=int(start),
        eos_token_ids=tuple(int(t) for t in eos_ids),
        pad_token_id=int(eos_ids[0] if pad is None else pad),
        max_length=length,
        min_length=int(generation.get("min_length") or 0),
        min_new_tokens=int(generation.get("min_new_tokens") or 0),
        no_repeat_ngram_size=int(generation.get("no_repeat_ngram_size") or 0),
        repetition_penalty=float(generation.get("repetition_penalty") or 1.0),
        suppress_tokens=tuple(generation.get("suppress_tokens") or ()),
        begin_suppress_tokens=tuple(generation.get("begin_suppress_tokens") or ()),
        forced_bos_token_id=generation.get("forced_bos_token_id"),
        forced_eos_token_ids=_ids(generation.get("forced_eos_token_id")),
        bad_words_ids=tuple(tuple(ids) for ids in generation.get("bad_words_ids") or ()),
        length_from_config=fixed,
    )


def _ids(value: int | list[int] | None) -> tuple[int, ...]:
    """A token id setting that may be one id, a list of ids or absent."""
    if value is None:
        return ()
    return tuple(int(v) for v in value) if isinstance(value, list) else (int(value),)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{path} cannot be read ({error}): download the model again") from error
    if not isinstance(data, dict):
        raise ModelError(f"{path} is not a JSON object: download the model again")
    return data


def _from_model_config(config: dict[str, Any]) -> dict[str, Any]:
    """Without generation_config.json, transformers takes generation keys from config.json."""
    known = _NEUTRAL | _HONOURED | set(_HARMLESS)
    return {key: value for key, value in config.items() if key in known}


def _refuse_unsupported(generation: dict[str, Any], source: Path) -> None:
    for key, harmless in _HARMLESS.items():
        if key in generation and generation[key] not in harmless:
            raise ModelError(
                f"{source} sets {key}={generation[key]!r}, which mathpad does not reproduce "
                f"(it decodes greedily): set it to {harmless[0]!r} in that file to use this model"
            )
