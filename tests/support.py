"""Paths of the committed fixtures, for tests and their conftest."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
IMAGES = FIXTURES / "images"
EXPORTERS = ("optimum", "torch")


def image_names() -> list[str]:
    """The fixture images, in a stable order."""
    return sorted(path.name for path in IMAGES.iterdir() if path.is_file())
