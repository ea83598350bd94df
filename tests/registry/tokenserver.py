"""A token service for a real ``docker-registry`` in token-auth mode (Docker's token protocol,
as GHCR, Docker Hub, Harbor and GitLab use).

The registry answers 401 with ``Bearer realm=...,service=...,scope=...``; the client asks
this service for a token with Basic credentials and one ``scope`` parameter per scope; the
service grants what the user is allowed and signs an RS256 JWT whose ``x5c`` header carries
the certificate the registry trusts (its ``rootcertbundle``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SERVICE = "pipeline-tests"
ISSUER = "pipeline-test-token-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """Users and what each may do: {"ci": ("secret", {"team/*": {"pull", "push"}})}."""

    users: dict[str, tuple[str, dict[str, set[str]]]]
    lifetime: int = 300
    bind: str = "127.0.0.1"        # where it listens
    advertise: str | None = None   # the host its realm names (default: where it listens)
    scope_requests: list[list[str]] = field(default_factory=list)  # scopes asked, per request
    _key: rsa.RSAPrivateKey = field(init=False)
    _cert: x509.Certificate = field(init=False)
    _server: ThreadingHTTPServer | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    # -- the registry's side -------------------------------------------------------------
    def write_cert(self, path: Path) -> Path:
        path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        return path

    @property
    def realm(self) -> str:
        assert self._server is not None, "start() the token service first"
        host, port = self._server.server_address[:2]
        return f"http://{self.advertise or host}:{port}/token"

    # -- serving ---------------------------------------------------------------------------
    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urlsplit(self.path)
                if url.path != "/token":
                    self.send_error(404)
                    return
                status, body = service._answer(self.headers.get("Authorization", ""),
                                               parse_qs(url.query))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((self.bind, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- the protocol ----------------------------------------------------------------------
    def _answer(self, authorization: str, query: dict[str, list[str]]) -> tuple[int, dict]:
        user = self._user(authorization)
        if user is None:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}
        if query.get("service") != [SERVICE]:
            return 400, {"errors": [{"code": "DENIED", "message": "unknown service"}]}
        scopes = query.get("scope", [])
        self.scope_requests.append(scopes)
        access = []
        for scope in scopes:
            # Docker's grammar: one scope per parameter, "repository:NAME:ACTION[,ACTION]".
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if " " in scope or kind != "repository" or not name:
                return 400, {"errors": [{"code": "DENIED", "message": f"bad scope {scope!r}"}]}
            granted = self._granted(user, name) & set(actions.split(","))
            access.append({"type": kind, "name": name, "actions": sorted(granted)})
        return 200, {"token": self._sign(user, access), "expires_in": self.lifetime}

    def _user(self, authorization: str) -> str | None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        known = self.users.get(name)
        return name if known and secrets.compare_digest(known[0], password) else None

    def _granted(self, user: str, repository: str) -> set[str]:
        rights: set[str] = set()
        for pattern, actions in self.users[user][1].items():
            if pattern == repository or (pattern.endswith("/*")
                                         and repository.startswith(pattern[:-1])):
                rights |= actions
        return rights

    def _sign(self, user: str, access: list[dict]) -> str:
        now = int(time.time())
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        claims = {"iss": ISSUER, "sub": user, "aud": SERVICE, "exp": now + self.lifetime,
                  "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"
