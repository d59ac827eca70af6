"""The correction loop: a reading arrives, the user checks it, picks a better one.

A reading goes to the editor (which keeps the user's own text and offers the reading
beside it), its doubtful spans are underlined there and marked in the preview, and the
recognizer is asked for alternatives once the reading is on screen (beam search costs
more than the greedy answer, which never waits for it). Picking an alternative replaces
the text; picking a doubtful token's replacement reads the drawing again with that token
forced, and the recognizer keeps it forced on later readings of the same drawing.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QPoint, Signal
from PySide6.QtWidgets import QMenu, QWidget

from mathpad.errors import Cancelled, MathpadError
from mathpad.recognizer import DOUBT_THRESHOLD, Doubt, PageResult
from mathpad.ui.alternatives import AlternativesPanel, replacement_menu
from mathpad.ui.bridge import FutureBridge
from mathpad.ui.editor import LatexEditor, Span
from mathpad.ui.preview import Preview
from mathpad.ui.recognition import RecognitionController

log = logging.getLogger(__name__)

ALTERNATIVES = 5


class CorrectionLoop(QObject):
    """Connects a reading to the editor, the preview marks, the alternatives and the menu."""

    alternatives_ready = Signal(object, list)  # the PageResult, its alternative texts

    def __init__(
        self,
        window: QWidget,
        recognition: RecognitionController,
        editor: LatexEditor,
        preview: Preview,
        panel: AlternativesPanel,
    ) -> None:
        super().__init__(window)
        self.result: PageResult | None = None  # the reading the editor's marks belong to
        self.menu: QMenu | None = None  # the open replacement menu (tests pick from it)
        self.threshold = DOUBT_THRESHOLD  # tokens less likely than this are marked
        self._window, self._recognition = window, recognition
        self._editor, self._preview, self._panel = editor, preview, panel
        self._bridge = FutureBridge(self)
        recognition.recognized.connect(self.show)
        editor.textChanged.connect(lambda: self._update_preview(debounce=True))
        editor.doubt_clicked.connect(self._offer_replacements)
        panel.picked.connect(editor.take)
        panel.bind_keys(window)

    def show(self, result: PageResult) -> None:
        """A new reading of what is on the canvas."""
        self.result = result
        spans = [Span(d.start, d.end, d) for d in result.doubtful(self.threshold)]
        self._editor.show_reading(result.text(), spans)
        self._update_preview(debounce=False)
        self._ask_alternatives(result)

    def _update_preview(self, *, debounce: bool) -> None:
        marks = tuple((span.start, span.end) for span in self._editor.spans())
        self._preview.set_latex(self._editor.toPlainText(), marks=marks, debounce=debounce)

    def _ask_alternatives(self, result: PageResult) -> None:
        recognizer = self._recognition.recognizer
        if recognizer is None or not result.pieces:
            self._panel.show_alternatives([])
            return
        self._panel.computing()
        self._bridge.deliver(
            recognizer.submit_alternatives(result, k=ALTERNATIVES),
            lambda texts: self._alternatives_done(result, texts),
            lambda error: self._alternatives_failed(result, error),
        )

    def _alternatives_done(self, result: PageResult, texts: list[str]) -> None:
        if result is self.result:
            self._panel.show_alternatives(texts)
            self.alternatives_ready.emit(result, texts)

    def _alternatives_failed(self, result: PageResult, error: BaseException) -> None:
        if result is not self.result:
            return
        if isinstance(error, Cancelled):  # the user went on drawing: a new reading comes
            self._panel.unavailable("Other readings come after the next recognition.")
            return
        if not isinstance(error, MathpadError):
            log.error("looking for alternatives failed", exc_info=error)
        self._panel.unavailable(f"No other readings: {error}")

    def _offer_replacements(self, doubt: Doubt, at: QPoint) -> None:
        result = self.result
        if result is None or not doubt.replacements:
            return
        self.menu = replacement_menu(
            self._editor, doubt.replacements, lambda c: self.replace(doubt, c), at
        )

    def replace(self, doubt: Doubt, choice: str) -> None:
        """Read the drawing again with `choice` in place of the doubtful token."""
        if self.result is not None:
            self._recognition.replace(self.result, doubt, choice)
