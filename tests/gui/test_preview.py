"""The preview renders through mathpad.render off the GUI thread, or says why it cannot."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mathpad.render import render_png
from mathpad.ui import preview as preview_module
from mathpad.ui.preview import PLACEHOLDER, Preview


@pytest.fixture
def preview(qtbot) -> Iterator[Preview]:
    made = Preview()
    qtbot.addWidget(made)
    made.show()
    yield made
    made.shutdown()


def test_renders_at_the_screen_pixel_ratio(preview: Preview, qtbot) -> None:
    with qtbot.waitSignal(preview.updated, timeout=5000):
        preview.set_latex(r"x^{2}+\frac{1}{2}", debounce=False)
    pixmap = preview.pixmap()
    assert not pixmap.isNull()
    assert pixmap.devicePixelRatio() == preview.devicePixelRatioF()
    assert preview.notice is None


def test_unrenderable_latex_shows_a_plain_notice(preview: Preview, qtbot) -> None:
    with qtbot.waitSignal(preview.updated, timeout=5000):
        preview.set_latex(r"\foo x", debounce=False)
    assert preview.notice is not None
    assert r"mathtext does not know \foo" in preview.notice
    assert "You can still edit and copy the LaTeX." in preview._label.text()
    assert preview.pixmap().isNull()


def test_empty_text_shows_the_placeholder(preview: Preview, qtbot) -> None:
    with qtbot.waitSignal(preview.updated, timeout=5000):
        preview.set_latex("x", debounce=False)
    preview.set_latex("   ")
    assert preview._label.text() == PLACEHOLDER
    assert preview.notice is None
    assert preview.idle()


def test_typing_is_debounced_to_one_render(preview: Preview, qtbot, monkeypatch) -> None:
    rendered: list[str] = []

    def counting(latex: str, **kwargs: object):
        rendered.append(latex)
        return render_png(latex, **kwargs)

    monkeypatch.setattr(preview_module, "render_png", counting)
    for text in ("x", "x+", "x+1", "x+12"):
        preview.set_latex(text)
    assert rendered == []  # nothing until the keys rest
    with qtbot.waitSignal(preview.updated, timeout=5000):
        pass
    assert rendered == ["x+12"]


def test_text_changed_during_a_render_renders_the_newest_once(
    preview: Preview, qtbot, monkeypatch
) -> None:
    release = threading.Event()
    rendered: list[str] = []

    def slow(latex: str, **kwargs: object):
        rendered.append(latex)
        if latex == "a":
            release.wait(5)
        return render_png(latex, **kwargs)

    monkeypatch.setattr(preview_module, "render_png", slow)
    preview.set_latex("a", debounce=False)
    preview.set_latex("b", debounce=False)  # "a" is in flight: "b" waits
    preview.set_latex("c", debounce=False)
    release.set()
    qtbot.waitUntil(preview.idle, timeout=5000)
    assert rendered == ["a", "c"]  # "b" was superseded before it started; "a" never shown
    assert preview._shown is not None and preview._shown[0] == "c"
