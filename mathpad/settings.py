"""The window's settings, kept as JSON in the platform's config folder.

A settings file is written by us but can be edited, truncated or half-written by
anything; reading one never fails: a value outside its range or choices falls back to its
default with one notice (returned by `read_settings`, so the window can show them, and
logged). Writes are atomic (`mathpad.files.write_atomic`), so a crash leaves the old file
intact; a failed write raises an `InputError` that says where and why.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mathpad import paths
from mathpad.errors import InputError
from mathpad.files import read_limited, write_atomic
from mathpad.latex import COPY_FORMATS, CopyFormat
from mathpad.model.store import PAD_VARIANT, VARIANTS

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
THEMES = ("system", "light", "dark")
CloseUnsaved = Literal["ask", "keep"]
CLOSE_UNSAVED: tuple[CloseUnsaved, ...] = ("ask", "keep")
MAX_FILE_BYTES = 1 << 20  # a settings file is a few hundred bytes

# The ranges a user can mean: a pen-rest delay from "at once" to ten seconds (Qt timers take
# at most 2**31 - 1 ms), a pen from hairline to marker.
DELAY_MS = (50, 10_000)
PEN_WIDTH = (0.5, 20.0)
MAX_MODEL_CHARS = 4096


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


@dataclass(frozen=True)
class SettingsRead:
    """The settings as read, and one notice per value (or file) that could not be used."""

    settings: Settings
    notices: tuple[str, ...] = ()


def config_dir() -> Path:
    """The per-user config folder (`~/.config/mathpad` on Linux); tests point it elsewhere."""
    return paths.config_dir()


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, with defaults for anything missing, out of range or unreadable."""
    return read_settings(path).settings


def read_settings(path: Path | None = None) -> SettingsRead:
    """The saved settings and the notices about what fell back to its default."""
    path = path or settings_path()
    try:
        data = json.loads(read_limited(path, MAX_FILE_BYTES, "settings file").decode("utf-8"))
    except InputError as error:
        if not path.exists():
            return SettingsRead(Settings())
        return _defaults(f"ignoring the settings file ({error}); using defaults")
    except UnicodeDecodeError:
        return _defaults(f"ignoring the settings file {path}: it is not UTF-8 text; using defaults")
    except json.JSONDecodeError as error:
        return _defaults(
            f"ignoring the unreadable settings file {path} (line {error.lineno}: {error.msg}); "
            "using defaults"
        )
    except RecursionError:
        return _defaults(f"ignoring the settings file {path}: nested too deeply; using defaults")
    if not isinstance(data, dict):
        return _defaults(f"ignoring the settings file {path}: not a JSON object; using defaults")
    usable, notices = _usable_fields(data, path)
    for notice in notices:
        log.warning("%s", notice)
    return SettingsRead(Settings(**usable), tuple(notices))


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write `settings` atomically; raises `InputError` naming the file and the reason."""
    path = path or settings_path()
    text = json.dumps(dataclasses.asdict(settings), indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode("utf-8"))
    except (OSError, InputError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise InputError(f"cannot save settings in {path.parent}: {reason}") from error


def _defaults(notice: str) -> SettingsRead:
    log.warning("%s", notice)
    return SettingsRead(Settings(), (notice,))


def _whole_in(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _number_in(low: float, high: float) -> Callable[[object], bool]:
    return lambda v: (
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        and low <= v <= high
    )  # fmt: skip


_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "model": (
        lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= MAX_MODEL_CHARS),
        "a folder or hub repo id",
    ),
    "variant": (lambda v: v in VARIANTS, f"one of {', '.join(VARIANTS)}"),
    "delay_ms": (_whole_in(*DELAY_MS), f"whole milliseconds from {DELAY_MS[0]} to {DELAY_MS[1]}"),
    "pen_width": (_number_in(*PEN_WIDTH), f"from {PEN_WIDTH[0]} to {PEN_WIDTH[1]}"),
    "copy_format": (lambda v: v in COPY_FORMATS, f"one of {', '.join(COPY_FORMATS)}"),
    "theme": (lambda v: v in THEMES, f"one of {', '.join(THEMES)}"),
    "auto_recognize": (lambda v: isinstance(v, bool), "true or false"),
    "scratch_out": (lambda v: isinstance(v, bool), "true or false"),
    "window_layout": (lambda v: isinstance(v, str) and len(v) <= 4096, "the window's layout"),
    "close_unsaved": (lambda v: v in CLOSE_UNSAVED, f"one of {', '.join(CLOSE_UNSAVED)}"),
    "auto_copy": (lambda v: isinstance(v, bool), "true or false"),
}


def _usable_fields(data: dict[str, object], path: Path) -> tuple[dict[str, object], list[str]]:
    """The entries of `data` that pass their field's check; one notice for each other."""
    defaults = Settings()
    usable: dict[str, object] = {}
    notices = []
    for field in dataclasses.fields(Settings):
        if field.name not in data:
            continue
        value = data[field.name]
        check, expected = _CHECKS[field.name]
        if check(value):
            usable[field.name] = float(value) if field.name == "pen_width" else value  # type: ignore[arg-type]
        else:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            notices.append(
                f"settings file {path}: {field.name}={shown} is not usable ({expected}); "
                f"keeping {getattr(defaults, field.name)!r}"
            )
    return usable, notices
