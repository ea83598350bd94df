"""A real registry server for tests: Debian's ``docker-registry`` (distribution 2.8).

Started on 127.0.0.1:<free port> with filesystem storage in a temporary
directory; it can be killed and restarted on the same storage (the
"registry dies mid-promotion" test).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.registry.tokenserver import ISSUER, SERVICE, TokenService

BINARY = "docker-registry"

CONFIG = """\
version: 0.1
log:
  level: info
  formatter: json
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {bind}:{port}
{auth}"""

AUTH = """\
auth:
  htpasswd:
    realm: pipeline-tests
    path: {path}
"""

TOKEN_AUTH = """\
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {cert}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RegistryServer:
    """One registry process; ``host`` is what image references use (127.0.0.1:PORT)."""

    root: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None
    htpasswd: Path | None = None  # basic auth when set (bcrypt entries, user:hash lines)
    token: TokenService | None = None  # token auth when set (Docker's token protocol)
    bind: str = "127.0.0.1"  # where it listens; `host` stays 127.0.0.1 (a loopback dial test)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

    def start(self, timeout: float = 15.0) -> None:
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        auth = AUTH.format(path=self.htpasswd) if self.htpasswd else ""
        if self.token:
            auth = TOKEN_AUTH.format(realm=self.token.realm, service=SERVICE, issuer=ISSUER,
                                     cert=self.token.write_cert(self.root / "token-cert.pem"))
        config.write_text(CONFIG.format(storage=storage, bind=self.bind, port=self.port, auth=auth))
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log_path.read_text()[-500:]}")
            try:
                if httpx.get(f"http://{self.bind}:{self.port}/v2/", timeout=1).status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer /v2/ in time")

    def kill(self) -> None:
        """SIGKILL: the registry dies without finishing anything in flight."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()


def available() -> str | None:
    """None when the server can run here, else why not."""
    if shutil.which(BINARY) is None:
        return f"{BINARY} not installed (scripts/deps.d/registry.sh installs it)"
    return None
