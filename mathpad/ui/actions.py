"""The window's commands: one table, from which the actions, menus, toolbar and the Help
list of shortcuts are all built, so a shortcut shown is a shortcut that works.

Commands act by intent, not by focus: the window's shortcuts also work while the LaTeX
editor has focus (the window decides, for Undo or Paste, what the user meant). Single
keys (P, E, L, Delete) belong to the canvas only, so typing in the editor never switches
tools or clears the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QToolButton, QWidget

Key = QKeySequence.StandardKey
ICON_SIDE = 22
Scope = Literal["window", "canvas"]


@dataclass(frozen=True)
class Command:
    name: str
    text: str
    keys: tuple[str | Key, ...] = ()
    icon: str = ""  # a file in mathpad/ui/icons (without .svg)
    scope: Scope = "window"
    menu: str = "File"
    tool: bool = False  # one of the exclusive canvas tools


COMMANDS: tuple[Command, ...] = (
    Command("open", "Open…", (Key.Open,), "open"),
    Command("paste", "Paste", (Key.Paste,), "paste"),
    Command("snip", "Snip the screen", ("Ctrl+Shift+S",), "snip"),
    Command("save", "Save ink…", (Key.Save,), "save"),
    Command("copy", "Copy LaTeX", ("Ctrl+Shift+C",), "copy", menu="Copy"),
    Command("copy_as_is", "Copy LaTeX as is", (), menu="Copy"),
    Command("copy_inline", "Copy inline  $…$", (), menu="Copy"),
    Command("copy_display", "Copy display  \\[…\\]", (), menu="Copy"),
    Command("copy_picture", "Copy rendered picture (PNG)", (), menu="Copy"),
    Command("settings", "Settings…", ("Ctrl+,",), "settings"),
    Command("quit", "Quit", ("Ctrl+Q",)),
    Command("undo", "Undo", (Key.Undo,), "undo", menu="Edit"),
    Command("redo", "Redo", (Key.Redo, "Ctrl+Shift+Z", "Ctrl+Y"), "redo", menu="Edit"),
    Command("delete", "Delete selection (or clear)", ("Delete",), scope="canvas", menu="Edit"),
    Command("clear", "Clear page", ("Ctrl+Delete",), "clear", menu="Edit"),
    Command("remove_picture", "Remove picture, keep ink", (), menu="Edit"),
    Command("recognize", "Recognize", ("Ctrl+Return", "Ctrl+Enter"), "recognize", menu="Edit"),
    Command("pen", "Pen", ("P",), "pen", "canvas", "Tools", tool=True),
    Command("eraser", "Eraser", ("E",), "eraser", "canvas", "Tools", tool=True),
    Command("lasso", "Lasso select", ("L",), "lasso", "canvas", "Tools", tool=True),
    Command("canvas", "Back to the canvas", ("Esc",), menu="View"),
    Command("fit", "Fit to window", ("Ctrl+0",), "fit", menu="View"),
    Command("zoom_in", "Zoom in", (Key.ZoomIn, "Ctrl+="), menu="View"),
    Command("zoom_out", "Zoom out", (Key.ZoomOut,), menu="View"),
    Command("shortcuts", "Keyboard shortcuts", (Key.HelpContents,), menu="Help"),
)

# Pointer gestures the Help list names beside the keys; they are not actions.
GESTURES: tuple[tuple[str, str], ...] = (
    ("Right button or stylus button", "Erase strokes"),
    ("Zigzag over strokes", "Scratch them out"),
    ("Ctrl+wheel, pinch", "Zoom"),
    ("Space+drag, middle drag, two fingers, wheel", "Pan"),
    ("Drop a file anywhere", "Open it"),
)

TOOLBAR: tuple[tuple[str, ...], ...] = (
    ("pen", "eraser", "lasso"),
    ("undo", "redo", "clear"),
    ("open", "paste", "snip", "save"),
    ("recognize", "fit"),
)
COPY_MENU = ("copy_as_is", "copy_inline", "copy_display", "copy_picture")


def icon(name: str, color: QColor) -> QIcon:
    """A bundled SVG icon drawn in `color` (the theme's text colour), sharp at 1x to 3x.

    The icons are package data, so an installed mathpad finds them too.
    """
    if not name:
        return QIcon()
    svg = (files("mathpad.ui") / "icons" / f"{name}.svg").read_text(encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", color.name()).encode()))
    made = QIcon()
    for side in (ICON_SIDE, 2 * ICON_SIDE, 3 * ICON_SIDE):
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        made.addPixmap(pixmap)
    return made


def recolor(actions: Mapping[str, QAction], color: QColor) -> None:
    """Draw every action's icon again in `color` (the theme changed)."""
    for command in COMMANDS:
        actions[command.name].setIcon(icon(command.icon, color))


def sequences(keys: tuple[str | Key, ...]) -> list[QKeySequence]:
    """Each key as a sequence (a standard key as all its platform bindings), no repeats."""
    found: dict[str, QKeySequence] = {}
    for key in keys:
        bound = QKeySequence.keyBindings(key) if isinstance(key, Key) else [QKeySequence(key)]
        for sequence in bound:
            found.setdefault(sequence.toString(), sequence)
    return list(found.values())


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for the Help list, in the table's order, gestures last."""
    native = QKeySequence.SequenceFormat.NativeText
    rows = []
    for command in COMMANDS:
        keys = ", ".join(s.toString(native) for s in sequences(command.keys))
        if keys:
            where = " (on the canvas)" if command.scope == "canvas" else ""
            rows.append((keys, command.text + where))
    return rows + list(GESTURES)


def build_actions(
    window: QMainWindow, canvas: QWidget, slots: Mapping[str, Callable[[], object]]
) -> dict[str, QAction]:
    """One QAction per command, bound to `slots[name]`, in menus and on a toolbar.

    Canvas-scoped actions are added to `canvas` only; the others to the window.
    """
    actions: dict[str, QAction] = {}
    color = window.palette().color(QPalette.ColorRole.ButtonText)
    tools = QActionGroup(window)
    native = QKeySequence.SequenceFormat.NativeText
    for command in COMMANDS:
        made = QAction(icon(command.icon, color), command.text, window)
        made.setObjectName(command.name)
        made.setShortcuts(sequences(command.keys))
        if command.keys:
            made.setToolTip(f"{command.text} ({made.shortcut().toString(native)})")
        made.triggered.connect(lambda _=False, slot=slots[command.name]: slot())
        if command.scope == "canvas":
            made.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            canvas.addAction(made)
        else:
            made.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(made)
        if command.tool:
            made.setCheckable(True)
            tools.addAction(made)
        actions[command.name] = made
    actions["pen"].setChecked(True)
    _menus(window, actions)
    window.addToolBar(_toolbar(window, actions))
    return actions


def _menus(window: QMainWindow, actions: dict[str, QAction]) -> None:
    bar = window.menuBar()
    menus: dict[str, QMenu] = {}
    for command in COMMANDS:
        if command.menu not in menus:
            menus[command.menu] = bar.addMenu(f"&{command.menu}")
        menus[command.menu].addAction(actions[command.name])


def _toolbar(window: QMainWindow, actions: dict[str, QAction]) -> QToolBar:
    """Icons only, so every main command fits even in a small window."""
    bar = QToolBar("Tools", window)
    bar.setObjectName("tools")
    bar.setMovable(False)
    bar.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for group in TOOLBAR:
        for name in group:
            bar.addAction(actions[name])
        bar.addSeparator()
    menu = QMenu(window)
    for name in COPY_MENU:
        menu.addAction(actions[name])
    copy = QToolButton(bar)
    copy.setDefaultAction(actions["copy"])
    copy.setMenu(menu)
    copy.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    bar.addWidget(copy)
    bar.addAction(actions["settings"])
    return bar
