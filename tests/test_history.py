"""The history: readings survive kills, damaged or newer databases are set aside, never reused."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from history_writer import IMAGE

from mathpad.cli import main
from mathpad.history import History
from mathpad.history import database as database_mod
from mathpad.ink.inkml import parse_inkml, to_inkml
from mathpad.ink.strokes import Ink, Stroke

WRITER = Path(__file__).with_name("history_writer.py")
PNG = b"\x89PNG fake"
INK = to_inkml(Ink((Stroke([[0, 0, 0], [10, 5, 8]]), Stroke([[3, 9, 20], [4, 1, 30]]))))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


def _writer(path: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-u", str(WRITER), str(path), mode], stdout=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip


def _kill(child: subprocess.Popen[str]) -> list[str]:
    child.send_signal(signal.SIGKILL)
    assert child.stdout is not None
    lines = child.stdout.read().split()
    child.wait()
    child.stdout.close()
    return lines


def test_a_reading_round_trips(db: Path) -> None:
    history = History(db)
    rid = history.add(image_png=PNG, latex_shown="x^2", model="repo", variant="int8", ink_inkml=INK)
    history.mark_copied(rid, "x^{2}")
    history.set_alternatives(rid, ["x^3", "x_2"])
    got = history.get(rid)
    assert got is not None
    assert (got.image_png, got.ink_inkml, got.latex_shown, got.latex_copied) == (
        PNG, INK, "x^2", "x^{2}",
    )  # fmt: skip
    assert got.alternatives == ("x^3", "x_2") and got.corrected
    assert (got.model, got.variant) == ("repo", "int8")
    assert abs(got.created - time.time()) < 60


def test_search_finds_shown_or_copied_latex_newest_first(db: Path) -> None:
    history = History(db)
    first = history.add(image_png=PNG, latex_shown=r"\frac{a}{b}", model="m", variant="v")
    second = history.add(image_png=PNG, latex_shown="a_1", model="m", variant="v")
    history.mark_copied(second, r"\frac{1}{2}")
    history.add(image_png=PNG, latex_shown="100%", model="m", variant="v")
    assert [r.id for r in history.search(r"\frac")] == [second, first]
    assert [r.latex_shown for r in history.search("%")] == ["100%"]
    assert [r.latex_shown for r in history.search("_")] == ["a_1"]
    assert len(history.search(limit=2)) == 2


def test_delete_and_clear(db: Path) -> None:
    history = History(db)
    keep = history.add(image_png=PNG, latex_shown="a", model="m", variant="v")
    gone = history.add(image_png=PNG, latex_shown="b", model="m", variant="v")
    history.delete(gone)
    assert history.get(gone) is None and history.get(keep) is not None
    history.clear()
    assert history.search() == []


def test_the_oldest_readings_go_when_the_bound_is_passed(db: Path) -> None:
    history = History(db, max_bytes=10 * len(IMAGE))
    ids = [
        history.add(image_png=IMAGE, latex_shown=str(i), model="m", variant="v", created=i)
        for i in range(25)
    ]
    kept = sorted(r.id for r in history.search(limit=-1))
    assert kept == ids[-(len(kept)) :] and 8 <= len(kept) <= 10
    history.close()
    assert db.stat().st_size < 14 * len(IMAGE)  # the pages of dropped rows are reused


def test_an_older_schema_is_migrated_keeping_its_readings(db: Path) -> None:
    old = sqlite3.connect(db)
    old.executescript(database_mod.MIGRATIONS[0])
    old.execute(
        "INSERT INTO readings (created, image_png, latex_shown, model, variant)"
        " VALUES (1, ?, 'y', 'm', 'v')",
        (PNG,),
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    history = History(db)
    (reading,) = history.search()
    assert reading.latex_shown == "y" and reading.alternatives == ()
    assert history.notice is None


def test_a_newer_database_is_set_aside_and_never_written(db: Path) -> None:
    newer = sqlite3.connect(db)
    newer.execute("CREATE TABLE future (x)")
    newer.execute(f"PRAGMA user_version = {database_mod.SCHEMA_VERSION + 1}")
    newer.commit()
    newer.close()
    before = db.read_bytes()
    history = History(db)
    assert history.notice is not None and "newer mathpad" in history.notice
    (aside,) = db.parent.glob("history.sqlite3.newer-*")
    assert aside.read_bytes() == before
    history.add(image_png=PNG, latex_shown="z", model="m", variant="v")
    assert aside.read_bytes() == before


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_database_is_set_aside_with_a_message(db: Path, damage: str) -> None:
    history = History(db)
    for i in range(50):
        history.add(image_png=IMAGE[: 4000 + i], latex_shown=str(i), model="m", variant="v")
    history.close()
    data = db.read_bytes()
    db.write_bytes(b"not a database at all" * 100 if damage == "garbage" else data[:8192])
    before = db.read_bytes()
    history = History(db)
    assert history.notice is not None and "damaged" in history.notice
    assert history.search() == []
    (aside,) = db.parent.glob("history.sqlite3.damaged-*")
    assert aside.read_bytes() == before


def test_a_folder_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    with pytest.raises(Exception, match="cannot keep the history"):
        History(tmp_path / "data" / "history.sqlite3")


def test_a_writer_killed_mid_transaction_loses_only_that_transaction(db: Path) -> None:
    history = History(db)
    history.add(image_png=PNG, latex_shown="before", model="m", variant="v")
    history.close()
    child = _writer(db, "raw")
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "mid"
    assert Path(f"{db}-wal").stat().st_size > len(IMAGE)  # uncommitted pages reached the log
    _kill(child)
    history = History(db)
    assert history.notice is None
    assert [r.latex_shown for r in history.search()] == ["before"]
    history.add(image_png=PNG, latex_shown="after", model="m", variant="v")
    assert [r.latex_shown for r in history.search()] == ["after", "before"]


def test_writers_killed_at_random_moments_keep_every_committed_reading(db: Path) -> None:
    rng = random.Random(5)
    committed = 0
    for _ in range(6):
        child = _writer(db, "add")
        assert child.stdout is not None
        child.stdout.readline()
        time.sleep(rng.uniform(0, 0.05))
        lines = _kill(child)
        committed += 1 + lines.count("added")
        history = History(db)
        assert history.notice is None
        found = len(history.search(limit=-1))
        assert committed <= found <= committed + 1
        committed = found
        history.close()


def test_export_writes_corrections_as_mathwriting_inkml(db: Path, tmp_path: Path) -> None:
    history = History(db)
    fixed = history.add(image_png=PNG, latex_shown="x^2", model="m", variant="v", ink_inkml=INK)
    history.mark_copied(fixed, "x^{2}")
    same = history.add(image_png=PNG, latex_shown="y", model="m", variant="v", ink_inkml=INK)
    history.mark_copied(same, "y")
    history.add(image_png=PNG, latex_shown="z", model="m", variant="v")  # a picture: no ink
    assert history.export(tmp_path / "out", corrections_only=True) == 1
    (written,) = (tmp_path / "out").iterdir()
    ink = parse_inkml(written.read_bytes())
    assert ink.annotations["normalizedLabel"] == "x^{2}" == ink.annotations["label"]
    assert ink.strokes == parse_inkml(INK).strokes
    assert history.export(tmp_path / "all") == 3
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert "readings.jsonl" in names and len([n for n in names if n.endswith(".png")]) == 3


def test_history_command_lists_shows_exports_and_clears(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(database_mod, "history_path", lambda: db)
    history = History(db)
    rid = history.add(image_png=PNG, latex_shown="x^2", model="m", variant="v", ink_inkml=INK)
    history.mark_copied(rid, "x^{2}")
    history.close()
    assert main(["history", "list"]) == 0
    assert "x^2" in capsys.readouterr().out
    assert main(["history", "show", str(rid)]) == 0
    assert "x^{2}" in capsys.readouterr().out
    assert main(["history", "export", "--corrections", str(tmp_path / "c")]) == 0
    assert len(list((tmp_path / "c").glob("*.inkml"))) == 1
    assert main(["history", "show", "999"]) == 1
    assert "no reading 999" in capsys.readouterr().err
    assert main(["history", "clear"]) == 0
    assert main(["history", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_history_command_reports_a_set_aside_database(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(database_mod, "history_path", lambda: db)
    db.write_bytes(b"garbage" * 1000)
    assert main(["history", "list"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and "moved to" in err
