"""Nothing leaves a trace outside mathpad's own folders: onnxruntime's telemetry stays off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import IMAGES, MODELS


def _run(code: str, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ORT_"))}
    env["HOME"] = str(home)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)


def test_a_recognition_writes_nothing_under_the_microsoft_cache(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    _run("import onnxruntime", plain)  # what the runtime does when left alone
    wrote = sorted(p.name for p in plain.rglob("*") if p.is_file())
    if not wrote:
        pytest.skip("this onnxruntime writes no telemetry files by itself: nothing to prove")
    ours = tmp_path / "mathpad"
    image, model = str(IMAGES / "dots_1.png"), str(MODELS / "optimum")
    _run(
        "from mathpad.cli import main; "
        f"main(['recognize', '--model', {model!r}, '--decode', 'plain', {image!r}])",
        ours,
    )
    assert (ours / ".cache").is_dir()  # the run did write its own caches
    assert not (ours / ".cache" / "Microsoft").exists(), wrote
