"""The portal client against a fake xdg-desktop-portal on a private D-Bus session bus."""

from __future__ import annotations

import threading
import time

import pytest

portal = pytest.importorskip("mathpad.ui.portal")  # jeepney: installed where Wayland runs
PortalError = portal.PortalError
URI = "file:///home/someone/Pictures/Screenshot%20from%20today.png"


def test_the_screenshot_comes_back_as_the_portals_file_uri(fake_portal) -> None:
    service = fake_portal(uri=URI)
    assert portal.screenshot(deadline_s=10) == URI
    (call,) = service.calls
    assert call["parent_window"] == "" and call["interactive"] is False
    assert str(call["handle_token"]).startswith("mathpad_")
    assert portal.file_path(URI) == "/home/someone/Pictures/Screenshot from today.png"


def test_an_answer_before_the_calls_reply_is_not_missed(fake_portal) -> None:
    fake_portal(uri=URI, early=True)  # the Response is on the bus before the reply
    assert portal.screenshot(deadline_s=10) == URI


def test_a_portal_that_names_its_own_request_path_still_answers(fake_portal) -> None:
    fake_portal(uri=URI, own_handle=True, delay_s=0.2)
    assert portal.screenshot(deadline_s=10) == URI


def test_the_user_cancelling_in_the_portal_is_no_error(fake_portal) -> None:
    fake_portal(code=1)
    assert portal.screenshot(deadline_s=10) is None


def test_a_failed_screenshot_is_one_line(fake_portal) -> None:
    fake_portal(code=2)
    with pytest.raises(PortalError, match="could not take the screenshot") as error:
        portal.screenshot(deadline_s=10)
    assert "\n" not in str(error.value)


def test_no_portal_on_the_bus_says_what_to_install_at_once(session_bus) -> None:
    started = time.monotonic()
    with pytest.raises(PortalError) as error:
        portal.screenshot(deadline_s=30)
    message = str(error.value)
    assert message.startswith("no screenshot portal runs on the session bus")
    assert "xdg-desktop-portal-gnome" in message and "Ctrl+V" in message
    assert time.monotonic() - started < 10  # an error reply, not the deadline


def test_a_portal_without_screenshot_says_so(fake_portal) -> None:
    fake_portal(error="org.freedesktop.DBus.Error.UnknownInterface")
    with pytest.raises(PortalError, match="the desktop portal has no Screenshot"):
        portal.screenshot(deadline_s=10)


def test_a_portal_that_refuses_the_call_says_why(fake_portal) -> None:
    fake_portal(error="org.freedesktop.portal.Error.NotAllowed")
    with pytest.raises(PortalError, match="the screenshot portal refused: the fake portal says no"):
        portal.screenshot(deadline_s=10)


def test_no_session_bus_says_what_to_do(monkeypatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(PortalError, match=r"no D-Bus session bus.*Ctrl\+V"):
        portal.screenshot(deadline_s=1)


def test_a_session_bus_that_is_gone_is_one_line(tmp_path) -> None:
    with pytest.raises(PortalError, match="cannot reach the D-Bus session bus"):
        portal.screenshot(deadline_s=1, address=f"unix:path={tmp_path / 'nothing'}")


def test_a_portal_that_never_answers_ends_at_the_deadline(fake_portal) -> None:
    service = fake_portal(answer=False)
    with pytest.raises(PortalError, match=r"did not answer within 0\.5 s"):
        portal.screenshot(deadline_s=0.5)
    _wait_for(lambda: service.closed)  # its dialog is taken away
    assert service.closed[0].endswith(service.calls[0]["handle_token"])


def test_cancel_ends_the_wait_and_closes_the_request(fake_portal) -> None:
    service = fake_portal(answer=False)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    assert portal.screenshot(deadline_s=30, cancel=cancel) is None
    assert time.monotonic() - started < 10  # the cancel, not the deadline
    _wait_for(lambda: service.closed)


def test_the_bus_going_away_during_the_wait_is_one_line(session_bus, fake_portal) -> None:
    service = fake_portal(answer=False)
    threading.Timer(0.3, session_bus.process.kill).start()
    with pytest.raises(PortalError, match="the D-Bus session bus closed the connection"):
        portal.screenshot(deadline_s=30)
    assert service.calls  # it was waiting for the answer


def test_a_uri_that_is_no_local_file_is_refused() -> None:
    with pytest.raises(PortalError, match="not a file on this computer"):
        portal.file_path("https://example.org/shot.png")


def _wait_for(condition, timeout: float = 5.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "timed out"
        time.sleep(0.01)
