"""Where mathpad keeps its files on this computer: one function per kind of folder.

Every module asks here (at call time, through this module), so tests move all of them at once
by patching these three functions; environment variables would not do on macOS and Windows,
where platformdirs ignores XDG.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "mathpad"


def config_dir() -> Path:
    """Settings (`~/.config/mathpad` on Linux)."""
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def cache_dir() -> Path:
    """What can be made again: derived graphs, optimized sessions (`~/.cache/mathpad`)."""
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def data_dir() -> Path:
    """What the user made: autosave and history (`~/.local/share/mathpad`)."""
    return Path(platformdirs.user_data_dir(APP, appauthor=False))
