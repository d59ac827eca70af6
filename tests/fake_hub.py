"""A local stand-in for the Hugging Face Hub, served over HTTP on 127.0.0.1.

It answers what `huggingface_hub` asks when it downloads one file: HEAD and GET on
`/{repo}/resolve/{revision}/{file}`, with the headers the real hub sends (`ETag`,
`X-Repo-Commit`, and for LFS files `X-Linked-Etag` = the SHA-256 and `X-Linked-Size`), 404s
with the hub's `X-Error-Code`, and the model-info endpoint `/api/models/{repo}[/revision/{rev}]`
with each file's LFS oid. `faults[name]` makes one file fail: "500", "reset" (the connection
is cut in the middle of the body) or "stall" (the body never comes).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    def __init__(self, repo: str, files: dict[str, bytes]) -> None:
        self.repo = repo
        self.files = files
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.url = ""

    @classmethod
    def from_folder(cls, repo: str, folder: Path) -> FakeHub:
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        return cls(repo, files)

    @staticmethod
    def is_lfs(name: str) -> bool:
        return name.endswith(".onnx")

    def etag(self, name: str) -> str:
        data = self.files[name]
        return hashlib.sha256(data).hexdigest() if self.is_lfs(name) else git_blob_sha1(data)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            hub.requests.append((self.command, self.path))
            path = self.path.split("?")[0]
            if path.startswith("/api/models/"):
                return self._info(path)
            prefix = f"/{hub.repo}/resolve/"
            if not path.startswith(prefix):
                return self._error(404, "RepoNotFound", body)
            _revision, _, name = path[len(prefix) :].partition("/")
            if name not in hub.files:
                return self._error(404, "EntryNotFound", body)
            fault = hub.faults.get(name)
            if fault == "500":
                return self._error(500, "", body)
            data = hub.files[name]
            self.send_response(200)
            self.send_header("ETag", f'"{hub.etag(name)}"')
            self.send_header("X-Repo-Commit", COMMIT)
            if hub.is_lfs(name):
                self.send_header("X-Linked-Etag", f'"{hub.etag(name)}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not body:
                return None
            if fault == "reset":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            if fault == "stall":
                self.wfile.write(data[:10])
                self.wfile.flush()
                threading.Event().wait(30)  # not time.sleep: tests may patch that
                return None
            self.wfile.write(data)
            return None

        def _info(self, path: str) -> None:
            siblings = []
            for name, data in hub.files.items():
                entry: dict[str, object] = {"rfilename": name, "size": len(data)}
                if hub.is_lfs(name):
                    entry["lfs"] = {"sha256": hub.etag(name), "size": len(data)}
                siblings.append(entry)
            payload = json.dumps({"id": hub.repo, "sha": COMMIT, "siblings": siblings}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, code: str, body: bool) -> None:
            payload = json.dumps({"error": code or "server error"}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            if code == "EntryNotFound":  # the hub names the commit it looked in
                self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

    return Handler


@contextmanager
def serve(hub: FakeHub) -> Iterator[FakeHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_socket() -> Iterator[str]:
    """An endpoint that accepts connections and never answers: an unreachable hub."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def closed_port() -> str:
    """An endpoint that refuses connections."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"
