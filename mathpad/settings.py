"""The window's settings, kept as JSON in the platform's config folder.

A settings file is written by us but can be edited, truncated or half-written by
anything; reading one never fails: what cannot be used falls back to the default and the
log says so. Writes are atomic (`mathpad.files.write_atomic`), so a crash leaves the old
file intact.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

from mathpad.errors import InputError
from mathpad.files import write_atomic
from mathpad.latex import COPY_FORMATS, CopyFormat
from mathpad.model.store import PAD_VARIANT

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
THEMES = ("system", "light", "dark")
CloseUnsaved = Literal["ask", "keep"]
CLOSE_UNSAVED: tuple[CloseUnsaved, ...] = ("ask", "keep")


@dataclass(frozen=True)
class Settings:
    """What the window remembers between runs; `model` None means the default hub model."""

    model: str | None = None
    variant: str = PAD_VARIANT
    delay_ms: int = 250  # pen rest before recognizing: short, a pen-down cancels the run
    pen_width: float = 2.5
    copy_format: CopyFormat = "as_is"
    theme: str = "system"  # one of THEMES
    auto_recognize: bool = True  # recognize when the pen rests (else on Ctrl+Enter only)
    scratch_out: bool = True  # a zigzag over strokes erases them
    window_layout: str = ""  # the window's geometry and splitters, as the window saved them
    close_unsaved: CloseUnsaved = "ask"  # closing with unsaved ink: ask, or keep it silently
    auto_copy: bool = False  # copy in the chosen format after each recognition


def config_dir() -> Path:
    """The per-user config folder (`~/.config/mathpad` on Linux); tests point it elsewhere."""
    return Path(platformdirs.user_config_dir("mathpad", appauthor=False))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, with defaults for anything missing, mistyped or unreadable."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable settings file %s (%s); using defaults", path, exc)
        return Settings()
    if not isinstance(data, dict):
        log.warning("ignoring settings file %s: not a JSON object; using defaults", path)
        return Settings()
    return Settings(**_usable_fields(data, path))


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write `settings` atomically; raises `InputError` when the folder is not writable."""
    path = path or settings_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot save settings in {path.parent}: {error.strerror}") from error
    text = json.dumps(dataclasses.asdict(settings), indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))


def _usable_fields(data: dict[str, object], path: Path) -> dict[str, object]:
    """The entries of `data` that name a field and have its type; the rest are logged."""
    defaults = Settings()
    usable: dict[str, object] = {}
    for field in dataclasses.fields(Settings):
        if field.name not in data:
            continue
        value = data[field.name]
        default = getattr(defaults, field.name)
        if _fits(field.name, value, default):
            usable[field.name] = float(value) if isinstance(default, float) else value
        else:
            log.warning(
                "settings file %s: %s=%r is not usable; keeping %r",
                path,
                field.name,
                value,
                default,
            )
    return usable


def _fits(name: str, value: object, default: object) -> bool:
    """Whether `value` can stand in for field `name`, whose default is `default`."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if name == "theme":
        return value in THEMES
    if name == "window_layout":
        return isinstance(value, str) and len(value) <= 4096
    if name == "copy_format":
        return value in COPY_FORMATS
    if name == "close_unsaved":
        return value in CLOSE_UNSAVED
    if default is None:
        return value is None or isinstance(value, str)
    if isinstance(default, (int, float)):
        kinds = (int, float) if isinstance(default, float) else (int,)
        return isinstance(value, kinds) and 0 <= value < math.inf
    return isinstance(value, type(default))
