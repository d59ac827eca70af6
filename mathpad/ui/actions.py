"""The window's commands: one QAction each, with its shortcuts, on the toolbar.

Actions carry window-wide shortcuts; when the LaTeX editor has focus it keeps its own
text shortcuts (Ctrl+Z, Delete, Ctrl+V edit the text), which is what people expect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

if TYPE_CHECKING:
    from mathpad.ui.window import MainWindow

Key = QKeySequence.StandardKey


def build_actions(window: MainWindow) -> dict[str, QAction]:
    """Create the actions, put them on a toolbar of `window`, and return them by name."""
    canvas = window.canvas

    def action(name: str, text: str, icon: str, slot: object, *keys: object) -> QAction:
        made = QAction(QIcon.fromTheme(icon), text, window)
        made.setShortcuts(_sequences(keys))
        made.triggered.connect(slot)
        if keys:
            made.setToolTip(
                f"{text} ({made.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
            )
        window.addAction(made)
        actions[name] = made
        return made

    actions: dict[str, QAction] = {}
    tools = QActionGroup(window)
    for name, text, icon in (("pen", "Pen", "draw-freehand"), ("eraser", "Eraser", "draw-eraser")):
        tool = action(name, text, icon, lambda _=False, n=name: canvas.set_tool(n))
        tool.setCheckable(True)
        tools.addAction(tool)
    actions["pen"].setChecked(True)
    action("undo", "Undo", "edit-undo", canvas.undo, Key.Undo)
    action("redo", "Redo", "edit-redo", canvas.redo, Key.Redo, "Ctrl+Shift+Z", "Ctrl+Y")
    action("clear", "Clear", "edit-clear", canvas.clear, Qt.Key.Key_Delete)
    action(
        "recognize",
        "Recognize",
        "system-run",
        window.recognize,
        "Ctrl+Return",
        "Ctrl+Enter",
    )
    action("open", "Open…", "document-open", lambda: window.open_file(), Key.Open)
    action("paste", "Paste picture", "edit-paste", window.paste, Key.Paste)
    action("save", "Save ink…", "document-save", window.save_ink, Key.Save)
    action("copy", "Copy", "edit-copy", lambda: window.copy(), "Ctrl+Shift+C")
    action("copy_as_is", "LaTeX as is", "", lambda: window.copy("as_is"))
    action("copy_inline", "Inline  $…$", "", lambda: window.copy("inline"))
    action("copy_display", "Display  \\[…\\]", "", lambda: window.copy("display"))
    action("copy_picture", "Rendered picture (PNG)", "image-x-generic", window.copy_picture)
    action("settings", "Settings…", "preferences-system", window.open_settings)
    actions["undo"].setEnabled(False)
    actions["redo"].setEnabled(False)
    window.addToolBar(_toolbar(window, actions))
    return actions


def _sequences(keys: tuple[object, ...]) -> list[QKeySequence]:
    """Each key as a sequence (a standard key as all its platform bindings), no repeats."""
    found: dict[str, QKeySequence] = {}
    for key in keys:
        bound = QKeySequence.keyBindings(key) if isinstance(key, Key) else [QKeySequence(key)]
        for sequence in bound:
            found.setdefault(sequence.toString(), sequence)
    return list(found.values())


def _toolbar(window: MainWindow, actions: dict[str, QAction]) -> QToolBar:
    bar = QToolBar("Tools", window)
    bar.setObjectName("tools")
    bar.setMovable(False)
    bar.setIconSize(QSize(20, 20))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    groups = (("pen", "eraser"), ("undo", "redo", "clear"), ("recognize", "open", "paste", "save"))
    for group in groups:
        for name in group:
            bar.addAction(actions[name])
        bar.addSeparator()
    menu = QMenu(window)
    for name in ("copy_as_is", "copy_inline", "copy_display", "copy_picture"):
        menu.addAction(actions[name])
    copy = QToolButton(bar)
    copy.setDefaultAction(actions["copy"])
    copy.setMenu(menu)
    copy.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    copy.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    bar.addWidget(copy)
    bar.addSeparator()
    bar.addAction(actions["settings"])
    return bar
