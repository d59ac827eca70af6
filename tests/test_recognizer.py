"""The facade: pages, drafts from the last reading, corrections that stick, cancel, shutdown."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest
from support import MODELS

from mathpad import recognizer as recognizer_module
from mathpad.errors import Cancelled, InputError
from mathpad.ink.inkml import read_inkml
from mathpad.ink.strokes import Ink
from mathpad.recognizer import PageResult, Recognizer

INK = Path(__file__).parent / "data" / "ink"


def _recognizer(**options: object) -> Recognizer:
    return Recognizer(MODELS / "optimum", "fp32", synchronous=True, **options)  # type: ignore[arg-type]


def _ink(name: str = "two_lines.inkml") -> Ink:
    return read_inkml(INK / name)


def test_a_page_keeps_what_the_model_saw_and_how_lines_group() -> None:
    result = _recognizer().recognize_ink(_ink())
    assert len(result.groups) == 2 == len(result.expressions)
    assert sum(result.groups) == len(result.pieces) == len(result.images)
    assert all(image.mode == "RGB" for image in result.images)
    assert result.text().splitlines() == [e for e in result.expressions if e]
    assert result.ink is not None


def test_the_last_reading_is_the_next_draft_and_changes_nothing() -> None:
    recognizer = _recognizer()
    first = recognizer.recognize_ink(_ink())
    again = recognizer.recognize_ink(_ink())
    assert [p.token_ids for p in again.pieces] == [p.token_ids for p in first.pieces]
    assert all(p.draft_accepted == 0 for p in first.pieces)
    assert [p.draft_accepted for p in again.pieces] == [len(p.token_ids) - 1 for p in first.pieces]
    fresh = _recognizer().recognize_ink(_ink())  # no memory: the same tokens, slower
    assert [p.token_ids for p in fresh.pieces] == [p.token_ids for p in again.pieces]


def test_doubtful_spans_point_at_their_tokens_in_the_shown_text() -> None:
    result = _recognizer().recognize_ink(_ink("x_squared.inkml"))
    text = result.text()
    doubts = result.doubtful(threshold=1.01)  # every visible token
    assert doubts
    for doubt in doubts:
        piece = result.pieces[doubt.piece]
        token = piece.tokens[doubt.token]
        assert text[doubt.start : doubt.end] == piece.latex[token.start : token.end].strip()
        assert doubt.prob == token.prob
        assert piece.latex[token.start : token.end] not in doubt.replacements
    assert result.doubtful(threshold=0.0) == []


def _a_replacement(result: PageResult) -> tuple[object, str]:
    doubt = next(d for d in result.doubtful(threshold=1.01) if d.replacements)
    return doubt, doubt.replacements[0]


def test_a_replacement_is_forced_and_kept_while_its_strokes_stay() -> None:
    recognizer = _recognizer()
    ink = _ink()
    result = recognizer.recognize_ink(ink)
    doubt, choice = _a_replacement(result)
    corrected = recognizer.submit_replacement(result, doubt, choice).result()  # type: ignore[arg-type]
    piece = corrected.pieces[doubt.piece]  # type: ignore[attr-defined]
    chosen = piece.tokens[doubt.token]  # type: ignore[attr-defined]
    assert piece.latex[chosen.start : chosen.end] == choice
    prefix = piece.token_ids[: doubt.token + 2]  # type: ignore[attr-defined]

    more = replace(ink, strokes=(*ink.strokes, ink.strokes[-1]))  # one more stroke
    later = recognizer.recognize_ink(more)
    assert later.pieces[doubt.piece].token_ids[: len(prefix)] == prefix  # type: ignore[attr-defined]

    erased = replace(ink, strokes=ink.strokes[1:])  # the user erased a stroke
    plain = _recognizer().recognize_ink(erased)
    after = recognizer.recognize_ink(erased)
    assert [p.token_ids for p in after.pieces] == [p.token_ids for p in plain.pieces]


def test_a_replacement_not_offered_is_refused() -> None:
    recognizer = _recognizer()
    result = recognizer.recognize_ink(_ink("x_squared.inkml"))
    doubt = result.doubtful(threshold=1.01)[0]
    with pytest.raises(InputError, match="not one of the replacements"):
        recognizer.submit_replacement(result, doubt, "no such token text").result()


def test_alternatives_are_other_distinct_pages_best_first() -> None:
    recognizer = _recognizer()
    result = recognizer.recognize_ink(_ink())
    texts = recognizer.submit_alternatives(result, k=3, width=3).result()
    assert 1 <= len(texts) <= 3 and len(set(texts)) == len(texts)
    assert result.text() not in texts
    scored = recognizer.alternatives(result, k=3, width=3)
    assert [t for t, _ in scored] == texts
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)


def test_model_info_names_the_decoder_level_and_why() -> None:
    recognizer = _recognizer(decode="plain")
    assert recognizer.model_info is None  # nothing loaded yet, and nothing waits
    info = recognizer.load().result()
    assert recognizer.model_info == info
    assert info.decoder == "plain" and "asked" in (info.decoder_reason or "")
    fast = _recognizer().load().result()
    assert fast.decoder == "cached" and fast.decoder_reason is None


class _Gate:
    """Pieces that wait for the test to open the gate: a recognition that is running."""

    def __init__(self) -> None:
        self.entered, self.open = threading.Event(), threading.Event()

    def ink_pieces(self, ink: Ink) -> list:
        from mathpad.imaging import pieces

        self.entered.set()
        self.open.wait(30)
        return pieces.ink_pieces(ink)


def test_cancel_fails_the_running_recognition_with_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = _Gate()
    monkeypatch.setattr(recognizer_module, "_pieces", lambda: gate)
    recognizer = Recognizer(MODELS / "optimum", "fp32")
    recognizer.load().result()
    running = recognizer.submit_ink(_ink())
    waiting = recognizer.submit_ink(_ink())
    assert gate.entered.wait(30)
    recognizer.cancel()
    gate.open.set()
    for future in (running, waiting):
        with pytest.raises(Cancelled):
            future.result(30)
    assert recognizer.submit_ink(_ink()).result(30).pieces  # later work runs as usual
    recognizer.shutdown(wait=True)


def test_shutdown_returns_while_a_recognition_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = _Gate()
    monkeypatch.setattr(recognizer_module, "_pieces", lambda: gate)
    recognizer = Recognizer(MODELS / "optimum", "fp32")
    future = recognizer.submit_ink(_ink())
    assert gate.entered.wait(30)
    recognizer.shutdown()  # must not wait for the gate
    assert not future.done()
    gate.open.set()
    with pytest.raises(Cancelled):  # shutdown cancelled it
        future.result(30)
