"""Nothing lost when the real pad is killed: SIGKILL the running window, start it again.

`pad_driver.py` runs `run_gui` as `mathpad` does, with a robot drawing real mouse events.
The test kills it at random moments (right after a stroke, or while the next is drawn and
the recognition of the last one runs) and starts it again each time: the next pad must
offer the drawing back, and the drawing it restores must hold every stroke drawn before the
kill except at most the last one, whose autosave may still have been on its way, and every
earlier stroke unchanged.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathpad.autosave import Autosave

DRIVER = Path(__file__).with_name("pad_driver.py")
KILLS = 5
READ_TIMEOUT_S = 60  # a cold start builds the fixture model's graphs first

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


class Pad:
    """One run of the real pad in a child process, read line by line."""

    def __init__(self, home: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(DRIVER), str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def said(self, word: str) -> int:
        """The number on the next line, which must start with `word`."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith(word), f"the pad said {line!r}, not {word}"
        return int(line.split()[1])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()


def test_a_killed_pad_gives_back_everything_but_the_stroke_in_flight(tmp_path: Path) -> None:
    rng = random.Random(5)
    folder = tmp_path / "data" / "autosave"
    kept: tuple = ()  # the strokes the last killed pad left
    drawn = 0
    for kill in range(KILLS):
        pad = Pad(tmp_path)
        try:
            assert pad.said("restored") == drawn, f"kill {kill}: the restore is not the file"
            for _ in range(rng.randint(1, 4)):
                drawn = pad.said("drawn")
            # mid-stroke, mid-autosave or while the last stroke is being recognized
            time.sleep(rng.uniform(0.0, 0.2))
        finally:
            pad.kill()
        left = Autosave(folder).load()
        assert left is not None, f"kill {kill}: nothing was saved"
        strokes = left.ink.strokes
        # the robot may have released one more stroke after its last line was read
        assert drawn - 1 <= len(strokes) <= drawn + 1, f"kill {kill}: drew {drawn}"
        assert strokes[: len(kept)] == kept[: len(strokes)], f"kill {kill}: a stroke changed"
        kept, drawn = strokes, len(strokes)
