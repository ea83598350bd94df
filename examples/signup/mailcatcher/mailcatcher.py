"""A mail catcher for tests: accepts any mail over SMTP and lists it over HTTP.

    SMTP  :1025  HELO/EHLO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT (no auth, no TLS)
    HTTP  :8025  GET /health, GET /messages[?to=ADDRESS] (JSON), DELETE /messages

Mail is kept in memory, at most MAX_MESSAGES messages of MAX_BYTES each. Standard
library only, so it builds FROM any Python image.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import signal
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_MESSAGES = 1000
MAX_BYTES = 1_000_000
_lock = threading.Lock()
_messages: list[dict] = []


def _store(sender: str, recipients: list[str], data: bytes) -> None:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    with _lock:
        if len(_messages) >= MAX_MESSAGES:
            _messages.pop(0)
        _messages.append({
            "from": sender, "to": recipients, "subject": str(parsed.get("Subject", "")),
            "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
        })


class SMTPHandler(socketserver.StreamRequestHandler):
    timeout = 30

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 mailcatcher ready")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("HELO", "EHLO"):
                self.reply("250 mailcatcher")
            elif verb == "MAIL":
                sender, recipients = line.partition(":")[2].strip().strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line.partition(":")[2].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = self._data()
                if data is None:
                    return
                _store(sender, recipients, data)
                self.reply("250 OK: queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")

    def _data(self) -> bytes | None:
        lines, size = [], 0
        while True:
            raw = self.rfile.readline(MAX_BYTES)
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            size += len(raw)
            if size <= MAX_BYTES:  # past the cap, read to the end but keep nothing more
                lines.append(raw[1:] if raw.startswith(b"..") else raw)


class HTTPHandler(BaseHTTPRequestHandler):
    def _json(self, status: int, value: object) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        if url.path == "/health":
            self._json(200, {"status": "ok"})
        elif url.path == "/messages":
            wanted = parse_qs(url.query).get("to", [None])[0]
            with _lock:
                found = [m for m in _messages if wanted is None or wanted in m["to"]]
            self._json(200, found)
        else:
            self._json(404, {"error": "not found"})

    def do_DELETE(self) -> None:  # noqa: N802
        if urlparse(self.path).path != "/messages":
            self._json(404, {"error": "not found"})
            return
        with _lock:
            _messages.clear()
        self._json(200, {"deleted": True})

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write(f"mailcatcher http: {format % args}\n")


class SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    smtp = SMTPServer(("0.0.0.0", args.smtp_port), SMTPHandler)
    http = ThreadingHTTPServer(("0.0.0.0", args.http_port), HTTPHandler)
    http.daemon_threads = True
    # PID 1 in a container ignores SIGTERM unless it handles it: stop at once.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    print(f"mailcatcher: SMTP on {args.smtp_port}, HTTP on {args.http_port}", flush=True)
    try:
        http.serve_forever()
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
