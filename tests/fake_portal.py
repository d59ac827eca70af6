"""A private D-Bus session bus and a fake xdg-desktop-portal Screenshot service on it.

The bus is a real `dbus-daemon` with a config of its own (no service folders: nothing on
this machine is activated on it), started for one test and killed after it. The portal is
a jeepney connection served on a thread; it answers Screenshot as the real portal does
(the request path from the caller's name and its `handle_token`, then a Response signal),
and each test sets how: the code, the file, a delay, an answer before the reply, none.
"""

from __future__ import annotations

import select
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

from mathpad.ui.portal import PORTAL, REQUEST, request_path

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
START_S = 10.0


class PrivateBus:
    """A dbus-daemon of our own; `address` is its DBUS_SESSION_BUS_ADDRESS."""

    def __init__(self) -> None:
        # A short folder: a socket's path has at most 107 bytes, pytest's tmp_path may not.
        self.folder = Path(tempfile.mkdtemp(prefix="mp-bus-"))
        config = self.folder / "bus.conf"
        config.write_text(CONFIG.format(socket=self.folder / "socket"), encoding="utf-8")
        command = ["dbus-daemon", f"--config-file={config}", "--print-address", "--nofork"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], START_S)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line:
            self.close()
            raise RuntimeError(f"dbus-daemon printed no address within {START_S:g} s")
        self.address = line

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class FakePortal:
    """Owns org.freedesktop.portal.Desktop on `address` and answers Screenshot."""

    address: str
    code: int = 0
    uri: str = ""
    delay_s: float = 0.0  # between the reply and the Response
    hold: threading.Event | None = None  # the Response waits for this too
    early: bool = False  # the Response before the call's reply (a fast portal)
    answer: bool = True  # False: the call is answered, the Response never comes
    own_handle: bool = False  # reply with a path of its own (portals before handle_token)
    error: str | None = None  # answer the call with this D-Bus error instead
    calls: list[dict[str, object]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # Request.Close calls, by path

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._due: list[tuple[float, str]] = []  # Responses to send: when, on which path
        self._connection = open_dbus_connection(self.address)
        reply = self._connection.send_and_get_reply(
            message_bus.RequestName(PORTAL.bus_name), timeout=5
        )
        assert reply.body == (1,), reply.body  # the primary owner
        self._thread = threading.Thread(target=self._serve, name="fake-portal", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._connection.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self._send_due()
            try:
                message = self._connection.receive(timeout=0.01)
            except TimeoutError:
                continue
            except ConnectionError:
                return  # the bus is gone (a test killed it)
            if message.header.message_type != MessageType.method_call:
                continue
            member = message.header.fields.get(HeaderFields.member)
            if member == "Screenshot":
                self._screenshot(message)
            elif member == "Close":
                self.closed.append(message.header.fields[HeaderFields.path])
                self._connection.send(new_method_return(message))

    def _screenshot(self, call: Message) -> None:
        parent, options = call.body
        self.calls.append({"parent_window": parent, **{k: v[1] for k, v in options.items()}})
        if self.error is not None:
            self._connection.send(new_error(call, self.error, "s", ("the fake portal says no",)))
            return
        sender = call.header.fields[HeaderFields.sender]
        token = "own" if self.own_handle else options["handle_token"][1]
        handle = request_path(sender, token)
        reply = new_method_return(call, "o", (handle,))
        if not self.early:
            self._connection.send(reply)
        if self.answer:
            self._respond(handle)
        if self.early:
            self._connection.send(reply)

    def _respond(self, handle: str) -> None:
        if self.delay_s or self.hold is not None:
            self._due.append((time.monotonic() + self.delay_s, handle))
        else:
            self._send_response(handle)

    def _send_due(self) -> None:
        if self.hold is not None and not self.hold.is_set():
            return
        now = time.monotonic()
        for due in [d for d in self._due if d[0] <= now]:
            self._due.remove(due)
            self._send_response(due[1])

    def _send_response(self, handle: str) -> None:
        results = {"uri": ("s", self.uri)} if self.code == 0 else {}
        response = new_signal(
            DBusAddress(handle, interface=REQUEST), "Response", "ua{sv}", (self.code, results)
        )
        self._connection.send(response)


def dbus_daemon_missing() -> bool:
    return shutil.which("dbus-daemon") is None
