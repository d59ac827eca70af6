"""Greedy search over numpy logits, step for step what transformers' `generate` does.

Each step applies the logits processors that the settings ask for, takes the arg-max, pads
rows that have already finished, and stops when every row has ended or the sequences reach
`max_length` (which counts the start token, as in transformers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mathpad.model.generation import GenerationSettings
from mathpad.model.runners import DecodeState


@dataclass(frozen=True)
class Decoded:
    """Token ids of one sequence (start token first) and each generated token's probability."""

    token_ids: tuple[int, ...]
    token_probs: tuple[float, ...]


def greedy(state: DecodeState, batch: int, settings: GenerationSettings) -> list[Decoded]:
    """Decode `batch` sequences; `state` gives the logits of the tokens fed to it."""
    tokens = np.full((batch, 1), settings.decoder_start_token_id, dtype=np.int64)
    probs = np.ones((batch, 0), dtype=np.float32)
    unfinished = np.ones(batch, dtype=bool)
    eos = np.asarray(settings.eos_token_ids, dtype=np.int64)
    while True:
        logits = state.extend(tokens[:, state.length :])[:, -1].astype(np.float32, copy=False)
        scores = _process(tokens, logits.copy(), settings)
        chosen = scores.argmax(axis=-1)
        chosen = np.where(unfinished, chosen, settings.pad_token_id).astype(np.int64)
        probs = np.concatenate([probs, _probability(logits, chosen)[:, None]], axis=1)
        tokens = np.concatenate([tokens, chosen[:, None]], axis=1)
        unfinished &= ~np.isin(chosen, eos)
        if not unfinished.any() or tokens.shape[1] >= settings.max_length:
            break
    return [_trim(row, prob, settings) for row, prob in zip(tokens, probs, strict=True)]


def _probability(logits: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    picked = np.take_along_axis(weights, chosen[:, None], axis=-1)[:, 0]
    return picked / weights.sum(axis=-1)


def _trim(row: np.ndarray, prob: np.ndarray, settings: GenerationSettings) -> Decoded:
    """Keep the whole row as generate returns it, padding included; probs for real tokens."""
    ids = tuple(int(t) for t in row)
    ended = next((i for i, t in enumerate(ids[1:], 1) if t in settings.eos_token_ids), len(ids))
    return Decoded(ids, tuple(float(p) for p in prob[:ended]))


def _process(tokens: np.ndarray, scores: np.ndarray, settings: GenerationSettings) -> np.ndarray:
    """The logits processors of transformers, in its order, for the settings that are set."""
    length = tokens.shape[1]
    eos = list(settings.eos_token_ids)
    if settings.repetition_penalty != 1.0:
        seen = np.take_along_axis(scores, tokens, axis=1)
        penalty = settings.repetition_penalty
        np.put_along_axis(scores, tokens, np.where(seen < 0, seen * penalty, seen / penalty), 1)
    if settings.no_repeat_ngram_size:
        _ban_repeated_ngrams(tokens, scores, settings.no_repeat_ngram_size)
    for words in settings.bad_words_ids:
        prefix = np.asarray(words[:-1], dtype=np.int64)
        if len(prefix) <= length:
            match = (tokens[:, length - len(prefix) :] == prefix).all(axis=1)
            scores[match, words[-1]] = -np.inf
    if length < settings.min_length or length - 1 < settings.min_new_tokens:
        scores[:, eos] = -np.inf
    if settings.forced_bos_token_id is not None and length == 1:
        scores[:] = -np.inf
        scores[:, settings.forced_bos_token_id] = 0.0
    if settings.forced_eos_token_ids and length == settings.max_length - 1:
        scores[:] = -np.inf
        scores[:, list(settings.forced_eos_token_ids)] = 0.0
    if settings.suppress_tokens:
        scores[:, list(settings.suppress_tokens)] = -np.inf
    if settings.begin_suppress_tokens and length == 1:
        scores[:, list(settings.begin_suppress_tokens)] = -np.inf
    return scores


def _ban_repeated_ngrams(tokens: np.ndarray, scores: np.ndarray, size: int) -> None:
    length = tokens.shape[1]
    if length + 1 < size:
        return
    for row, sequence in enumerate(tokens.tolist()):
        prefix = tuple(sequence[length - size + 1 :])
        banned = {
            sequence[i + size - 1]
            for i in range(length - size + 1)
            if tuple(sequence[i : i + size - 1]) == prefix
        }
        scores[row, list(banned)] = -np.inf
