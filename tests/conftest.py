"""Shared test fixtures: the committed tiny models and their recorded references."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import EXPORTERS, FIXTURES, MODELS

from mathpad import paths

# huggingface_hub reads these once, at import: no test may reach the network or the user's cache.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="mathpad-test-hf-")
import mathpad.model  # noqa: F401  (as the command line does: its telemetry switches first)

atexit.register(shutil.rmtree, os.environ["HF_HOME"], True)


@pytest.fixture(autouse=True)
def _private_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the user's caches, config and the network."""
    home = tmp_path_factory.mktemp("home")
    # mathpad's own path functions, not XDG variables: platformdirs ignores those on macOS
    # and Windows, where tests would otherwise write the user's real folders.
    monkeypatch.setattr(paths, "config_dir", lambda: home / "config")
    monkeypatch.setattr(paths, "cache_dir", lambda: home / "cache")
    monkeypatch.setattr(paths, "data_dir", lambda: home / "data")


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """Tokens and text recorded from transformers' generate on the fixture models."""
    return json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))


@pytest.fixture(params=EXPORTERS)
def exporter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _copy_model(exporter: str, target: Path, variants: tuple[str, ...] = ("", "_int8")) -> Path:
    source = MODELS / exporter
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("onnx"))
    (target / "onnx").mkdir()
    for suffix in variants:
        for part in ("encoder", "decoder"):
            name = f"onnx/{part}_model{suffix}.onnx"
            shutil.copyfile(source / name, target / name)
    return target


@pytest.fixture
def copy_model() -> Callable[..., Path]:
    """Make a writable copy of a fixture model holding only the given ONNX variants."""
    return _copy_model
