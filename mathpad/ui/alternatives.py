"""Choices for the user: the list of whole alternatives, and a doubtful token's replacements.

Both are picked by mouse or key: the list's rows by click or Alt+1..Alt+5 anywhere in the
window, a replacement menu's entries by click or their number key. Nothing here decides
what the choices are; the recognizer's beam search and per-token probabilities do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QListWidget, QMenu, QVBoxLayout, QWidget

KEYS = 5  # Alt+1..Alt+5


class AlternativesPanel(QWidget):
    """The k best other readings of the drawing, best first."""

    picked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = QLabel("Other readings appear here after a recognition.", wordWrap=True)
        self.list = QListWidget()
        self.list.setToolTip("Click one, or press Alt+1 … Alt+5, to use it instead")
        self.list.itemClicked.connect(lambda item: self.picked.emit(item.data(Qt.UserRole)))
        self.list.itemActivated.connect(lambda item: self.picked.emit(item.data(Qt.UserRole)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)

    def bind_keys(self, window: QWidget) -> None:
        """Alt+1..Alt+5 pick the first five rows wherever the focus is in `window`."""
        for number in range(1, KEYS + 1):
            key = QShortcut(QKeySequence(f"Alt+{number}"), window)
            key.setContext(Qt.ShortcutContext.WindowShortcut)
            key.activated.connect(lambda n=number: self.pick(n - 1))

    def computing(self) -> None:
        self.list.clear()
        self.status.setText("Looking for other readings…")

    def show_alternatives(self, texts: Sequence[str]) -> None:
        self.list.clear()
        for number, text in enumerate(texts, 1):
            label = f"Alt+{number}   {text}" if number <= KEYS else f"      {text}"
            self.list.addItem(label.replace("\n", "  ⏎  "))
            self.list.item(self.list.count() - 1).setData(Qt.UserRole, text)
        self.status.setText("Other readings, best first:" if texts else "No other reading.")

    def unavailable(self, reason: str) -> None:
        self.list.clear()
        self.status.setText(reason)

    def texts(self) -> list[str]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def pick(self, row: int) -> None:
        texts = self.texts()
        if 0 <= row < len(texts):
            self.picked.emit(texts[row])


def replacement_menu(
    parent: QWidget, choices: Sequence[str], pick: Callable[[str], None], at: QPoint
) -> QMenu:
    """Pop up (without blocking) the replacements for one doubtful token, keys 1..9."""
    menu = QMenu(parent)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    menu.setToolTipsVisible(True)
    title = menu.addAction("Replace this symbol with:")
    title.setEnabled(False)
    for number, choice in enumerate(choices[:9], 1):
        shown = choice.replace("&", "&&") or "(nothing)"
        action = menu.addAction(f"&{number}   {shown}")
        action.triggered.connect(lambda _=False, c=choice: pick(c))
    menu.popup(at)
    return menu
