"""Autosave: a killed pad loses at most the stroke being drawn; a second pad is told apart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from autosave_driver import PICTURE, snapshot

from mathpad.autosave import Autosave, Snapshot
from mathpad.errors import InputError
from mathpad.ink.strokes import Ink

DRIVER = Path(__file__).with_name("autosave_driver.py")
KILLS = 24
RESTART_AFTER = 25  # strokes; then the test declines the restore, as a user may


def _start(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-u", str(DRIVER), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _assert_restored(found: Snapshot, count: int) -> None:
    """Everything of `count` strokes: each stroke, the picture from stroke 3, the LaTeX."""
    assert found == snapshot(count) or (
        found.ink.strokes == snapshot(count).ink.strokes
        and found.picture_png == snapshot(count).picture_png
        and (found.latex, found.latex_edited) == (snapshot(count).latex, count % 2 == 0)
    )


def test_sigkill_at_random_moments_loses_at_most_the_stroke_being_drawn(tmp_path: Path) -> None:
    folder = tmp_path / "autosave"
    rng = random.Random(11)
    expected_claim, during_save, cut_short, confirmed_total = "fresh", 0, 0, 0
    for kill in range(KILLS):
        child = _start(folder)
        assert child.stdout is not None
        claim, restored = child.stdout.readline().split()
        assert claim == expected_claim, f"kill {kill}"
        said: list[str] = []
        if kill % 2:  # aim at a save: kill right after one began
            target = f"saving {int(restored) + rng.randint(1, 4)}"
            while not said or said[-1] != target:
                said.append(child.stdout.readline().strip())
            time.sleep(rng.uniform(0, 0.004))
        else:
            time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        said += [line for line in child.stdout.read().split("\n") if line]
        child.wait()
        child.stdout.close()
        saved = [int(line.split()[1]) for line in said if line.startswith("saved")]
        confirmed = saved[-1] if saved else int(restored)
        during_save += bool(said) and said[-1].startswith("saving")

        cut_short += bool(list(folder.glob(".*.part")))
        autosave = Autosave(folder)  # the next start
        if confirmed == 0 and not (folder / "drawing.json").exists():
            assert autosave.claim() == "fresh"
            autosave.release()
            expected_claim = "fresh"
            continue
        assert autosave.claim() == "crashed"
        assert not list(folder.glob(".*.part")), "a save cut short left its temp file"
        found = autosave.load()
        assert found is not None
        count = len(found.ink.strokes)
        assert count in (confirmed, confirmed + 1), (kill, confirmed, count)
        _assert_restored(found, count)
        confirmed_total += count
        if count >= RESTART_AFTER:
            autosave.discard()
            expected_claim = "fresh"
        else:
            expected_claim = "crashed"
        autosave.release()
    assert during_save >= KILLS // 4, "too few kills landed inside a save"
    print(f"{during_save} kills inside save(), {cut_short} of them while writing the file")
    assert confirmed_total > KILLS


def test_a_running_pad_is_told_from_a_crashed_one(tmp_path: Path) -> None:
    folder = tmp_path / "autosave"
    child = _start(folder)
    assert child.stdout is not None
    assert child.stdout.readline().split()[0] == "fresh"
    while child.stdout.readline().strip() != "saved 1":
        pass
    second = Autosave(folder)
    assert second.claim() == "running"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert second.claim() == "crashed"  # kill -9 left no stale lock behind
    assert second.load() is not None
    second.release()


def test_a_clean_close_leaves_nothing_to_restore(tmp_path: Path) -> None:
    autosave = Autosave(tmp_path)
    assert autosave.claim() == "fresh"
    autosave.save(snapshot(4))
    autosave.discard()
    autosave.release()
    again = Autosave(tmp_path)
    assert again.claim() == "fresh" and again.load() is None
    assert not list(tmp_path.glob("picture-*"))


def test_an_empty_drawing_is_not_offered_for_restore(tmp_path: Path) -> None:
    autosave = Autosave(tmp_path)
    autosave.claim()
    autosave.save(snapshot(2))
    autosave.save(Snapshot(Ink(()), None, "", latex_edited=False))
    autosave.release()
    assert Autosave(tmp_path).claim() == "fresh"


def test_a_replaced_picture_is_not_kept(tmp_path: Path) -> None:
    autosave = Autosave(tmp_path)
    autosave.claim()
    autosave.save(snapshot(5))
    other = Snapshot(Ink(()), PICTURE + b"2", "y", latex_edited=True)
    autosave.save(other)
    assert len(list(tmp_path.glob("picture-*.png"))) == 1
    assert autosave.load() == other


def test_a_damaged_snapshot_is_set_aside_not_deleted(tmp_path: Path) -> None:
    autosave = Autosave(tmp_path)
    autosave.claim()
    (tmp_path / "drawing.json").write_bytes(b'{"format": 1, "ink": "<ink')
    assert autosave.load() is None
    assert (tmp_path / "drawing.json.damaged").read_bytes().startswith(b'{"format"')


def test_a_failed_save_is_a_clear_error(tmp_path: Path) -> None:
    autosave = Autosave(tmp_path)
    autosave.claim()
    (tmp_path / "drawing.json").mkdir()  # the snapshot's place is taken
    with pytest.raises(InputError, match="cannot autosave the drawing"):
        autosave.save(snapshot(1))


def test_an_unusable_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="cannot use the autosave folder"):
        Autosave(tmp_path / "file" / "autosave").claim()
