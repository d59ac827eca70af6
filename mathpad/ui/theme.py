"""Light or dark: follow the desktop where Qt can tell (QStyleHints.colorScheme), or the
user's choice in Settings.

A forced scheme uses the Fusion style with a palette of our own, because the native
styles of some platforms ignore palettes; "system" leaves the desktop's style alone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

DARK = {
    Role.Window: "#2b2d30",
    Role.WindowText: "#e6e6e6",
    Role.Base: "#1e1f22",
    Role.AlternateBase: "#2b2d30",
    Role.Text: "#e6e6e6",
    Role.PlaceholderText: "#8c8f94",
    Role.Button: "#3c3f41",
    Role.ButtonText: "#e6e6e6",
    Role.BrightText: "#ffffff",
    Role.Highlight: "#3d8ee8",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#3c3f41",
    Role.ToolTipText: "#e6e6e6",
    Role.Link: "#6aa9ff",
    Role.Light: "#4a4d50",
    Role.Midlight: "#404346",
    Role.Mid: "#35373a",
    Role.Dark: "#1a1b1d",
    Role.Shadow: "#000000",
}
DISABLED_TEXT = "#7a7d82"


def desktop_is_dark() -> bool:
    """The desktop's colour scheme, where the platform tells Qt (else light)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def is_dark(theme: str) -> bool:
    return theme == "dark" or (theme == "system" and desktop_is_dark())


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in DARK.items():
        palette.setColor(role, QColor(color))
    for role in (Role.Text, Role.WindowText, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QColor(DISABLED_TEXT))
    return palette


def apply_theme(theme: str) -> None:
    """Use `theme` ("system", "light" or "dark") for the whole application."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    if theme == "system" and not desktop_is_dark():
        app.setPalette(app.style().standardPalette())
        return
    fusion = QStyleFactory.create("Fusion")
    if app.style().name().lower() != "fusion" and fusion is not None:
        app.setStyle(fusion)
    app.setPalette(dark_palette() if is_dark(theme) else app.style().standardPalette())
