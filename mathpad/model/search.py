"""Searches over a `DecodeState`: greedy (with a draft to check, a prefix to keep) and beam.

Every step applies the logits processors that the settings ask for, in transformers' order,
and ranks tokens by the processed scores, so greedy here is step for step what `generate`
does. Sequences stop at an end token or at `max_length` (which counts the start token, as in
transformers). Probabilities are the softmax of the processed scores: what the search ranked.

A draft (the previous reading of the same image) is fed in one call; the longest prefix that
greedy would have chosen itself is kept and decoding goes on from there, so a draft changes
the time a decode takes, never its tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mathpad.model.generation import GenerationSettings
from mathpad.model.runners import DecodeState

TOP = 5  # the best few tokens kept per step, as replacements to offer

Check = Callable[[], None]  # raises to end a search early (cancellation)


@dataclass(frozen=True)
class Step:
    """One generated token, its probability and the best few tokens (id, prob) at that step."""

    id: int
    prob: float
    top: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Decoded:
    """One sequence: token ids (start token first, up to and including EOS) and its steps."""

    token_ids: tuple[int, ...]
    steps: tuple[Step, ...]
    draft_accepted: int = 0

    @property
    def score(self) -> float:
        """Sum of the generated tokens' log probabilities."""
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log([s.prob for s in self.steps]))) if self.steps else 0.0


def greedy(
    state: DecodeState,
    rows: int,
    settings: GenerationSettings,
    *,
    drafts: Sequence[Sequence[int] | None] | None = None,
    forced: Sequence[Sequence[int] | None] | None = None,
    check: Check | None = None,
) -> list[Decoded]:
    """Decode `rows` sequences from a fresh `state`.

    `drafts` and `forced` are per row a token sequence (start token first) or None; the
    caller has checked their ids. A forced prefix is chosen whatever the scores say.
    """
    matrix = np.full((rows, 1), settings.decoder_start_token_id, dtype=np.int64)
    keep = [tuple(f or ())[1:] for f in forced or [None] * rows]
    draft, lengths = _draft_matrix(drafts, rows, settings)
    trusting = draft is not None
    ahead, base = state.extend(matrix if draft is None else draft), 0
    unfinished = np.ones(rows, dtype=bool)
    eos = np.asarray(settings.eos_token_ids, dtype=np.int64)
    steps: list[list[Step]] = [[] for _ in range(rows)]
    accepted = 0
    while True:
        if check:
            check()
        position = matrix.shape[1] - 1
        scores = _process(matrix, ahead[:, position - base].astype(np.float32), settings)
        chosen = scores.argmax(axis=-1)
        for row, prefix in enumerate(keep):
            if position < len(prefix):
                chosen[row] = prefix[position]
        chosen = np.where(unfinished, chosen, settings.pad_token_id).astype(np.int64)
        probs, top_ids, top_probs = _distribution(scores, chosen)
        for row in np.flatnonzero(unfinished):
            top = tuple(zip(top_ids[row].tolist(), top_probs[row].tolist(), strict=True))
            steps[row].append(Step(int(chosen[row]), float(probs[row]), top))
        if trusting:
            assert draft is not None
            after = position + 1  # the draft's token at `after` is what this step chose?
            agree = after < draft.shape[1] and bool(
                np.all(~unfinished | ((after < lengths) & (chosen == draft[:, after])))
            )
            if agree:
                accepted += 1
            else:
                trusting = False
                state.truncate(after)
        matrix = np.concatenate([matrix, chosen[:, None]], axis=1)
        unfinished &= ~np.isin(chosen, eos)
        if not unfinished.any() or matrix.shape[1] >= settings.max_length:
            break
        if not trusting:
            ahead, base = state.extend(chosen[:, None]), position + 1
    return [
        Decoded(_trim(row, settings), tuple(row_steps), accepted)
        for row, row_steps in zip(matrix.tolist(), steps, strict=True)
    ]


def beam(
    state: DecodeState,
    settings: GenerationSettings,
    *,
    width: int,
    k: int,
    check: Check | None = None,
) -> list[Decoded]:
    """The `k` best distinct sequences of one image by summed log probability, best first.

    No length normalization: a score is the sequence's log probability, so width 1 keeps
    exactly greedy's token at every step. A search stops once no open hypothesis can beat
    the k-th finished one (adding a token never raises a score).
    """
    matrix = np.full((1, 1), settings.decoder_start_token_id, dtype=np.int64)
    totals = np.zeros(1)
    histories: list[list[Step]] = [[]]
    finished: list[Decoded] = []
    eos = set(settings.eos_token_ids)
    logits = state.extend(matrix)[:, -1]
    while True:
        if check:
            check()
        scores = _process(matrix, logits.astype(np.float32), settings).astype(np.float64)
        logp = scores - _logsumexp(scores)
        flat = (totals[:, None] + logp).ravel()
        count = min(2 * width, flat.size)
        best = np.argpartition(-flat, count - 1)[:count]
        best = best[np.lexsort((best, -flat[best]))]
        vocab = logp.shape[1]
        kept: list[tuple[int, int]] = []
        for index in best.tolist():
            if not np.isfinite(flat[index]):
                break
            row, token = divmod(index, vocab)
            if token in eos:
                finished.append(_hypothesis(matrix[row], histories[row], logp[row], token))
            else:
                kept.append((row, token))
                if len(kept) == width:
                    break
        if kept and matrix.shape[1] + 1 >= settings.max_length:  # the cap ends them all
            finished += [_hypothesis(matrix[r], histories[r], logp[r], t) for r, t in kept]
            kept = []
        finished.sort(key=lambda d: -d.score)
        bound = finished[k - 1].score if len(finished) >= k else -np.inf
        if not kept or max(flat[r * vocab + t] for r, t in kept) <= bound:
            return finished[:k]
        rows = np.array([r for r, _ in kept])
        tokens = np.array([t for _, t in kept], dtype=np.int64)
        totals = flat[rows * vocab + tokens]
        histories = [[*histories[r], _step(logp[r], t)] for r, t in kept]
        matrix = np.concatenate([matrix[rows], tokens[:, None]], axis=1)
        state.select(rows)
        logits = state.extend(tokens[:, None])[:, -1]


def _hypothesis(row: np.ndarray, history: list[Step], logp: np.ndarray, token: int) -> Decoded:
    return Decoded((*row.tolist(), token), (*history, _step(logp, token)))


def _step(logp: np.ndarray, token: int) -> Step:
    top = np.argpartition(-logp, TOP - 1)[:TOP] if logp.size > TOP else np.arange(logp.size)
    top = top[np.lexsort((top, -logp[top]))]
    pairs = tuple((int(t), float(np.exp(logp[t]))) for t in top)
    return Step(token, float(np.exp(logp[token])), pairs)


def _logsumexp(scores: np.ndarray) -> np.ndarray:
    peak = scores.max(axis=-1, keepdims=True)
    return peak + np.log(np.exp(scores - peak).sum(axis=-1, keepdims=True))


def _distribution(
    scores: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Softmax probability of each row's chosen token, and each row's best few (ids, probs)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    weights /= weights.sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(weights, chosen[:, None], axis=-1)[:, 0]
    count = min(TOP, weights.shape[1])
    top = np.argpartition(-weights, count - 1, axis=-1)[:, :count]
    order = np.argsort(-np.take_along_axis(weights, top, axis=-1), axis=-1, kind="stable")
    top = np.take_along_axis(top, order, axis=-1)
    return picked, top, np.take_along_axis(weights, top, axis=-1)


def _draft_matrix(
    drafts: Sequence[Sequence[int] | None] | None, rows: int, settings: GenerationSettings
) -> tuple[np.ndarray | None, np.ndarray]:
    """The drafts as one padded matrix and each row's draft length, or None without drafts.

    A row without a draft has length 1 (only the start token), so nothing is accepted.
    """
    usable = [tuple(d or ())[: settings.max_length] for d in drafts or [None] * rows]
    lengths = np.array([len(d) if d else 1 for d in usable])
    if lengths.max() < 2:
        return None, lengths
    matrix = np.full((rows, int(lengths.max())), settings.pad_token_id, dtype=np.int64)
    matrix[:, 0] = settings.decoder_start_token_id
    for row, draft in enumerate(usable):
        matrix[row, : len(draft)] = draft
    return matrix, lengths


def _trim(row: list[int], settings: GenerationSettings) -> tuple[int, ...]:
    """The sequence up to and including its first end token: no padding of the batch."""
    ended = next((i for i, t in enumerate(row[1:], 1) if t in settings.eos_token_ids), None)
    return tuple(row if ended is None else row[: ended + 1])


def _process(tokens: np.ndarray, scores: np.ndarray, settings: GenerationSettings) -> np.ndarray:
    """The logits processors of transformers, in its order, for the settings that are set."""
    scores = scores.copy()
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
