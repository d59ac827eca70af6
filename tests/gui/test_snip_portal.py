"""Snip on Wayland: the screenshot comes from a fake xdg-desktop-portal on a private bus,
the region is dragged on the frozen overlay with real mouse events, and reaches the window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest

from mathpad.ui.snip import Snipper

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
PRESS, RELEASE = QPoint(20, 30), QPoint(140, 90)  # a 120 x 60 point region


def desktop_picture(folder: Path, scale: int, window) -> tuple[Path, np.ndarray]:
    """A screenshot the portal would save: noise at `scale` pixels per logical point."""
    size = window.screen().virtualGeometry().size()
    pixels = np.random.default_rng(7).integers(
        0, 256, (size.height() * scale, size.width() * scale, 3)
    )
    path = folder / "Screenshot from today.png"
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path, pixels.astype(np.uint8)


def wayland_snipper(window, deadline_s: float = 20.0) -> Snipper:
    window.snipper = Snipper(window, platform="wayland", portal_deadline_s=deadline_s)
    return window.snipper


def drag_region(window, qtbot) -> None:
    qtbot.waitUntil(lambda: window.snipper.overlay is not None, timeout=10_000)
    overlay = window.snipper.overlay
    qtbot.waitExposed(overlay)
    QTest.mousePress(overlay, LEFT, NONE, PRESS)
    QTest.mouseMove(overlay, QPoint(90, 70))
    QTest.mouseRelease(overlay, LEFT, NONE, RELEASE)


def failure(window, qtbot) -> str:
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() != "", timeout=10_000)
    assert window.isVisible()
    return window.statusBar().currentMessage()


@pytest.mark.parametrize("scale", [1, 2])
def test_the_dragged_region_of_the_portals_picture_is_recognized(
    window, fake_portal, tmp_path, qtbot, scale
) -> None:
    path, pixels = desktop_picture(tmp_path, scale, window)
    fake_portal(uri=path.as_uri())
    wayland_snipper(window)
    with qtbot.waitSignal(window.recognition.recognized, timeout=20_000):
        window.actions["snip"].trigger()
        assert not window.isVisible()  # out of its own screenshot
        drag_region(window, qtbot)
    assert window.isVisible()
    picture = window.document.picture
    assert picture.size == (120 * scale, 60 * scale)  # the screen's real pixels
    x, y = PRESS.x() * scale, PRESS.y() * scale
    region = pixels[y : y + 60 * scale, x : x + 120 * scale]
    assert np.array_equal(np.asarray(picture.image.convert("RGB")), region)
    assert path.exists()  # the user's screenshot stays where the desktop saved it


def test_cancelling_in_the_portals_dialog_brings_the_window_back_quietly(
    window, fake_portal, qtbot
) -> None:
    fake_portal(code=1)
    wayland_snipper(window)
    window.actions["snip"].trigger()
    qtbot.waitUntil(window.isVisible, timeout=10_000)
    assert window.statusBar().currentMessage() == ""
    assert window.snipper.overlay is None and window.document.page.is_empty


def test_a_failed_portal_screenshot_is_one_line(window, fake_portal, qtbot) -> None:
    fake_portal(code=2)
    wayland_snipper(window)
    window.actions["snip"].trigger()
    message = failure(window, qtbot)
    assert message.startswith("Cannot snip the screen: the desktop could not take")
    assert "\n" not in message and window.document.page.is_empty


def test_without_a_portal_snip_says_what_to_install_and_what_to_do(
    window, session_bus, qtbot
) -> None:
    wayland_snipper(window, deadline_s=60)
    window.actions["snip"].trigger()
    message = failure(window, qtbot)  # within 10 s: the bus answers at once
    assert "no screenshot portal" in message and "xdg-desktop-portal" in message
    assert "Ctrl+V" in message and "\n" not in message


def test_without_a_session_bus_snip_says_what_to_do(window, monkeypatch, qtbot) -> None:
    pytest.importorskip("jeepney")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    wayland_snipper(window)
    window.actions["snip"].trigger()
    message = failure(window, qtbot)
    assert "no D-Bus session bus" in message and "Ctrl+V" in message


def test_a_portal_that_never_answers_gives_up_at_the_deadline(window, fake_portal, qtbot) -> None:
    service = fake_portal(answer=False)
    wayland_snipper(window, deadline_s=0.5)
    window.actions["snip"].trigger()
    assert "did not answer within 0.5 s" in failure(window, qtbot)
    qtbot.waitUntil(lambda: bool(service.closed), timeout=5000)  # its dialog is taken away


def test_a_file_that_is_no_picture_is_one_line(window, fake_portal, tmp_path, qtbot) -> None:
    path = tmp_path / "shot.png"
    path.write_bytes(b"not a png at all")
    fake_portal(uri=path.as_uri())
    wayland_snipper(window)
    window.actions["snip"].trigger()
    message = failure(window, qtbot)
    assert "is not an image mathpad can read" in message and "\n" not in message


def test_the_window_keeps_running_while_the_portal_waits(
    window, fake_portal, tmp_path, qtbot
) -> None:
    """The portal answers only after a timer on the GUI thread has ticked ten times since
    the call came: a GUI thread waiting for the portal could not tick, and the snip would
    end at the deadline instead."""
    import threading

    path, _ = desktop_picture(tmp_path, 1, window)
    hold = threading.Event()
    service = fake_portal(uri=path.as_uri(), hold=hold)
    wayland_snipper(window, deadline_s=8)
    ticks: list[int] = []

    def tick() -> None:
        if service.calls:
            ticks.append(1)
        if len(ticks) == 10:
            hold.set()

    timer = QTimer(window, interval=20)
    timer.timeout.connect(tick)
    timer.start()
    window.actions["snip"].trigger()
    qtbot.waitUntil(lambda: window.snipper.overlay is not None, timeout=10_000)
    timer.stop()
    assert hold.is_set()
    QTest.keyClick(window.snipper.overlay, Qt.Key.Key_Escape)
    assert window.isVisible()


def test_closing_the_window_ends_the_wait_for_the_portal(make_window, fake_portal, qtbot) -> None:
    service = fake_portal(answer=False)
    window = make_window()
    wayland_snipper(window, deadline_s=60)
    window.actions["snip"].trigger()
    qtbot.waitUntil(lambda: bool(service.calls), timeout=10_000)
    window.close()  # the snip worker ends (the thread check after the test) ...
    qtbot.waitUntil(lambda: bool(service.closed), timeout=5000)  # ... and closes the request
