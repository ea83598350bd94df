"""A registry that misbehaves, on 127.0.0.1, for fault tests: one mode per fault.

Every misbehaviour is bounded (at most BOUND_SECONDS of trickling or silence)
and the server stops with the test, so a client bug shows as a slow failing
test, never as a hung suite.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOUND_SECONDS = 30.0
DIGEST = "sha256:" + "ab" * 32

MODES = (
    "trickle",          # 200, then one byte every second
    "silent",           # accepts, reads the request, never answers
    "redirect-loop",    # 302 to itself
    "redirect-chain",   # 302 to a new URL each time
    "link-loop",        # tags list whose Link rel=next points at itself
    "link-endless",     # tags list whose Link rel=next always points at a new page
    "tags-not-list",    # {"tags": "latest"}
    "not-json",         # 200 with HTML
    "json-array",       # 200 with [] where an object is expected
    "index-bad-child",  # an index whose manifests are not objects
    "huge-body",        # Content-Length of 10 GB
    "garbage-http",     # not HTTP at all
    "error-shape",      # 500s whose error body has the wrong shape, every time
    "bad-digest-header",  # Docker-Content-Digest that is not a digest
    "echo-credentials",   # 401 whose error message quotes the credentials it was sent
    "scripted",           # whatever the test put in server.script: (status, headers, body)
)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:   # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:     # the client gave up (its deadline): expected, not news
            pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:  # noqa: C901 - one branch per mode reads best
        mode = self.server.mode
        stop = self.server.stopping
        if mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            end = time.monotonic() + BOUND_SECONDS
            while time.monotonic() < end and not stop.is_set():
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                stop.wait(1.0)
            return
        if mode == "silent":
            stop.wait(BOUND_SECONDS)
            return
        if mode == "redirect-loop":
            self._send(302, b"", {"Location": self.path})
            return
        if mode == "redirect-chain":
            self._send(302, b"", {"Location": self.path + "x"})
            return
        if mode == "garbage-http":
            self.wfile.write(b"\x00\xffNOT HTTP\r\n\r\n" * 10)
            return
        if mode == "huge-body":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1000**3))
            self.end_headers()
            return
        if mode == "scripted":
            status, headers, body = self.server.script
            self._send(status, body, headers)
            return
        if mode == "echo-credentials":
            sent = self.headers.get("Authorization", "")
            decoded = ""
            if sent.startswith("Basic "):
                decoded = base64.b64decode(sent[6:]).decode("utf-8", "replace")
            message = f"refused {sent} i.e. {decoded} for {self.path}"
            self._send(401, json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                                    "message": message}]}).encode(),
                       {"WWW-Authenticate": 'Basic realm="hostile"'})
            return
        if mode == "error-shape":
            self._send(500, json.dumps({"errors": "down"}).encode())
            return
        if "/tags/list" in self.path:
            self._tags(mode)
            return
        if "/manifests/" in self.path:
            self._manifest(mode)
            return
        self._send(404, b'{"errors": [{"code": "NOT_FOUND", "message": "nope"}]}')

    def _tags(self, mode: str) -> None:
        if mode == "link-loop":
            self._send(200, b'{"name": "x", "tags": ["a"]}', {"Link": f'<{self.path}>; rel="next"'})
        elif mode == "link-endless":
            page = self.path + "&n" if "?" in self.path else self.path + "?n"
            self._send(200, b'{"name": "x", "tags": ["a"]}', {"Link": f'<{page}>; rel="next"'})
        elif mode == "tags-not-list":
            self._send(200, b'{"name": "x", "tags": "latest"}')
        elif mode == "not-json":
            self._send(200, b"<html>hello</html>")
        elif mode == "json-array":
            self._send(200, b"[]")
        else:
            self._send(200, b'{"name": "x", "tags": []}')

    def _manifest(self, mode: str) -> None:
        media = "application/vnd.oci.image.manifest.v1+json"
        if mode == "not-json":
            self._send(200, b"<html>hello</html>", {"Content-Type": media})
        elif mode == "json-array":
            self._send(200, b"[1, 2]", {"Content-Type": media})
        elif mode == "index-bad-child":
            body = json.dumps({"schemaVersion": 2, "manifests": [1, "x", None]}).encode()
            self._send(200, body, {"Content-Type": "application/vnd.oci.image.index.v1+json"})
        elif mode == "bad-digest-header":
            self._send(200, b"{}", {"Content-Type": media, "Docker-Content-Digest": "../../etc"})
        else:
            self._send(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "x"}]}')

    do_POST = do_GET
    do_PUT = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode: str
    stopping: threading.Event
    script: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")


@contextmanager
def bad_registry(mode: str) -> Iterator[str]:
    """A misbehaving registry for the block; yields its host (127.0.0.1:PORT)."""
    with _serving(mode) as server:
        yield f"127.0.0.1:{server.server_address[1]}"


@contextmanager
def scripted_registry() -> Iterator[_Server]:
    """A registry answering every request with `server.script`, which the test sets."""
    with _serving("scripted") as server:
        yield server


@contextmanager
def _serving(mode: str) -> Iterator[_Server]:
    assert mode in MODES, mode
    server = _Server(("127.0.0.1", 0), _Handler)
    server.mode = mode
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
