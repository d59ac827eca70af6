"""A screenshot from the desktop through xdg-desktop-portal, over D-Bus (for Wayland).

Wayland lets no application read the screen: the portal's Screenshot call asks the
compositor (and, the first time, the user) for one, and its answer comes later as a
`Request.Response` signal on a request object. The bus daemon routes a signal only to a
connection that asked for it (AddMatch; jeepney's own filters sort what has arrived), and
a fast portal answers before the call's reply is in, so the match is added before the call,
on the request path the portal documents: our unique name and a `handle_token` of ours.
Every wait is cut into POLL_S slices, so the deadline and the caller's cancel event end it;
nothing waits for ever.

The call is not interactive: the pad freezes the picture in its own overlay and the user
drags the region there, as on X11; the portal's interactive dialog would ask for an area a
first time before that. The file is the user's (GNOME keeps it in ~/Pictures/Screenshots,
and the portal does not say it is temporary), so it is never deleted.

Qt-free (jeepney's blocking API), so it runs on any worker and is tested against a fake
portal on a private bus.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from urllib.parse import unquote, urlsplit

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from mathpad.errors import MathpadError

PORTAL = DBusAddress(
    "/org/freedesktop/portal/desktop",
    bus_name="org.freedesktop.portal.Desktop",
    interface="org.freedesktop.portal.Screenshot",
)
REQUEST = "org.freedesktop.portal.Request"
POLL_S = 0.1  # how often a wait looks at the cancel event
INSTEAD = "or take a screenshot with the desktop's tool (Print Screen) and paste it with Ctrl+V"
NO_PORTAL = {
    "org.freedesktop.DBus.Error.ServiceUnknown": "no screenshot portal runs",
    "org.freedesktop.DBus.Error.NameHasNoOwner": "no screenshot portal runs",
    "org.freedesktop.DBus.Error.UnknownInterface": "the desktop portal has no Screenshot",
    "org.freedesktop.DBus.Error.UnknownMethod": "the desktop portal has no Screenshot",
    "org.freedesktop.DBus.Error.UnknownObject": "the desktop portal has no Screenshot",
}
INSTALL = (
    "install xdg-desktop-portal and the backend of your desktop "
    "(xdg-desktop-portal-gnome, -kde or -wlr)"
)


class PortalError(MathpadError):
    """No screenshot came: the message is one line that says what to do."""


class _Stopped(Exception):
    """The caller set the cancel event."""


def screenshot(
    *,
    deadline_s: float,
    cancel: threading.Event | None = None,
    address: str | None = None,
) -> str | None:
    """The file URI of a screenshot of the desktop; None when the user cancelled it in the
    portal's dialog or `cancel` was set. `deadline_s` bounds the whole wait, the user's
    answer to a permission dialog included; `address`: the bus (default: the session bus)."""
    cancel = cancel or threading.Event()
    until = time.monotonic() + deadline_s
    with _connect(address) as connection:
        token = "mathpad_" + secrets.token_hex(8)
        requests = {request_path(connection.unique_name, token)}
        options = {"handle_token": ("s", token), "interactive": ("b", False)}
        call = new_method_call(PORTAL, "Screenshot", "sa{sv}", ("", options))
        serial = next(connection.outgoing_serial)
        try:
            _subscribe(connection, *requests)  # before the call: the answer may beat its reply
            connection.send(call, serial)
            while True:
                message = _receive(connection, until, cancel)
                if message.header.fields.get(HeaderFields.reply_serial) == serial:
                    handle = _handle(message)
                    if handle not in requests:  # a portal older than handle_token (< 0.9)
                        requests.add(handle)
                        _subscribe(connection, handle)
                elif _is_response(message, requests):
                    return _uri(message)
        except _Stopped:
            _close(connection, requests)
            return None
        except TimeoutError:
            _close(connection, requests)
            raise PortalError(
                f"the desktop's screenshot portal did not answer within {deadline_s:g} s"
            ) from None
        except ConnectionError as error:
            raise PortalError(f"the D-Bus session bus closed the connection ({error})") from None


def request_path(unique_name: str, token: str) -> str:
    """The portal's request object for a call with `token` from `unique_name` (":1.42")."""
    sender = unique_name.removeprefix(":").replace(".", "_")
    return f"/org/freedesktop/portal/desktop/request/{sender}/{token}"


def file_path(uri: str) -> str:
    """The local path of the portal's `file://` URI."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise PortalError(f"the screenshot portal answered {uri!r}, not a file on this computer")
    return unquote(parts.path)


def _connect(address: str | None) -> DBusConnection:
    address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise PortalError(f"no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset), {INSTEAD}")
    try:
        return open_dbus_connection(address, auth_timeout=2.0)
    except (OSError, RuntimeError, ValueError) as error:  # refused, unsupported, bad auth
        raise PortalError(f"cannot reach the D-Bus session bus ({error}), {INSTEAD}") from None


def _subscribe(connection: DBusConnection, path: str) -> None:
    """Ask the bus to route the request's Response to us. Not waited for: the bus applies
    a connection's messages in order, so the match is in place before the next call."""
    connection.send(message_bus.AddMatch(_response_rule(path)))


def _response_rule(path: str) -> MatchRule:
    return MatchRule(type="signal", interface=REQUEST, member="Response", path=path)


def _is_response(message: Message, requests: set[str]) -> bool:
    return any(_response_rule(path).matches(message) for path in requests)


def _receive(connection: DBusConnection, until: float, cancel: threading.Event) -> Message:
    """The next message; `_Stopped` once `cancel` is set, TimeoutError past `until`."""
    while not cancel.is_set():
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError
        try:
            return connection.receive(timeout=min(POLL_S, left))
        except TimeoutError:
            continue
    raise _Stopped


def _handle(reply: Message) -> str:
    """The request path of the Screenshot call's reply; an error reply as one line."""
    if reply.header.message_type == MessageType.error:
        name = reply.header.fields.get(HeaderFields.error_name, "")
        if name in NO_PORTAL:
            raise PortalError(f"{NO_PORTAL[name]} on the session bus: {INSTALL}, {INSTEAD}")
        detail = reply.body[0] if reply.body else name
        raise PortalError(f"the screenshot portal refused: {detail}")
    return reply.body[0]


def _uri(response: Message) -> str | None:
    code, results = response.body
    if code == 1:
        return None  # the user said no in the portal's dialog
    uri = results.get("uri", ("s", ""))[1]
    if code != 0 or not uri:
        raise PortalError("the desktop could not take the screenshot (its portal failed)")
    return uri


def _close(connection: DBusConnection, requests: set[str]) -> None:
    """Take the portal's dialog away: nobody waits for its answer any more."""
    for path in requests:
        close = new_method_call(
            DBusAddress(path, bus_name=PORTAL.bus_name, interface=REQUEST), "Close"
        )
        connection.send(close)
