"""Runs the taskflow example directly on this machine: its pinned Python deps in a cached
venv, a throwaway PostgreSQL, the backend under its image's own command, the frontend built
with npm and served by nginx through the image's own entrypoint.

Everything listens on 127.0.0.1. PostgreSQL (which refuses root) and nginx run as `nobody`
when the tests run as root.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "taskflow"
BACKEND = EXAMPLE / "backend"
FRONTEND = EXAMPLE / "frontend"
INTEGRATION = EXAMPLE / "tests" / "integration"
E2E = EXAMPLE / "tests" / "e2e"
REQUIREMENTS = (
    BACKEND / "requirements-dev.txt",
    INTEGRATION / "requirements.txt",
    E2E / "requirements.txt",
)


class Unavailable(Exception):
    """A real component this machine lacks (the caller turns it into `missing(...)`)."""


def contract() -> dict:
    with (EXAMPLE / "pipeline.toml").open("rb") as handle:
        return tomllib.load(handle)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    # Plain text to parse: test runners colour their output when CI is set.
    env = {**(os.environ if env is None else env), "NO_COLOR": "1"}
    return subprocess.run(argv, check=False, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def check(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = run(argv, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def unprivileged() -> list[str]:
    """Prefix that drops root to nobody; setpriv leaves the environment alone (runuser does not)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def shared_tempdir(prefix: str) -> Path:
    """A temp dir `nobody` can enter (pytest's own tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def give_to_nobody(path: Path) -> None:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)


def wait_for(url: str, *, status: int = 200, timeout: float = 30,
             process: subprocess.Popen[bytes] | None = None) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited {process.returncode} before {url} answered")
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
            last = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {timeout:.0f}s (last: {last})")


# --- Python: the example's own pinned requirements, installed once per requirements hash ---

def app_python() -> Path:
    """The venv holding the example's pinned requirements (runtime, dev, test suites)."""
    digest = hashlib.sha256(sys.version.encode())
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    home = ROOT / ".cache" / "taskflow-venv" / digest.hexdigest()[:16]
    python, complete = home / "bin" / "python", home / ".complete"
    if complete.exists():
        return python
    shutil.rmtree(home, ignore_errors=True)  # a half-built venv from an interrupted run
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        check([sys.executable, "-m", "venv", str(home)])
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        for path in REQUIREMENTS:
            pip += ["-r", str(path)]
        check(pip, timeout=600)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    complete.touch()
    return python


# --- PostgreSQL: Debian's server binaries, a throwaway cluster on a free port ---

def postgres_bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise Unavailable("no initdb: install Debian's postgresql (scripts/deps.d/sample-app.sh)")


@dataclass
class Postgres:
    bindir: Path
    home: Path
    port: int
    user: str = "taskflow"
    database: str = "taskflow"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @classmethod
    def start(cls) -> Postgres:
        bindir = postgres_bindir()
        home = shared_tempdir("taskflow-pg-")
        give_to_nobody(home)
        server = cls(bindir=bindir, home=home, port=free_port())
        data = home / "data"
        try:
            check(unprivileged() + [str(bindir / "initdb"), "-D", str(data), "-U", server.user,
                                    "-A", "trust", "-E", "UTF8", "--no-sync"])
            options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {home} "
                       "-c fsync=off -c full_page_writes=off")
            check(unprivileged() + [str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                    str(home / "server.log"), "-o", options, "-w", "-t", "60",
                                    "start"])
            check(unprivileged() + [str(bindir / "createdb"), "-h", "127.0.0.1", "-p",
                                    str(server.port), "-U", server.user, server.database])
        except BaseException:
            server.stop()
            raise
        return server

    def stop(self) -> None:
        pid_file = self.home / "data" / "postmaster.pid"
        if pid_file.exists():
            run(unprivileged() + [str(self.bindir / "pg_ctl"), "-D", str(self.home / "data"),
                                  "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.home, ignore_errors=True)


# --- Backend: the image's own ENTRYPOINT, host and port swapped for a local run ---

def backend_command(python: Path, port: int) -> list[str]:
    """The Dockerfile's ENTRYPOINT, so what runs here is what runs in the image."""
    text = (BACKEND / "Dockerfile").read_text()
    match = re.search(r"^ENTRYPOINT\s+(\[.*?\])\s*$", text.replace("\\\n", " "), re.MULTILINE | re.DOTALL)
    if match is None:
        raise AssertionError("backend/Dockerfile: no exec-form ENTRYPOINT")
    argv = json.loads(match.group(1))
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    # uvicorn is on the image's PATH through the venv; here the same venv is run by path.
    return [str(python.parent / argv[0]), *argv[1:]]


@dataclass
class Service:
    """A process started for a test, with its output in a file (a pipe nobody reads can
    fill up and stall the server)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, path: str, *, status: int = 200, timeout: float = 30) -> httpx.Response:
        """Wait for `path` to answer `status`; on failure, say what the process printed."""
        try:
            return wait_for(f"{self.url}{path}", status=status, timeout=timeout,
                            process=self.process)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- output ---\n{self.output()}") from None

    def stop(self, *, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def spawn(argv: list[str], *, url: str, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> Service:
    fd, name = tempfile.mkstemp(prefix="taskflow-", suffix=".log")
    log = Path(name)
    give_to_nobody(log)
    with os.fdopen(fd, "wb") as sink:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Service(process=process, url=url, log=log)


def start_backend(python: Path, database_url: str | None, *, port: int | None = None) -> Service:
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return spawn(backend_command(python, port), url=f"http://127.0.0.1:{port}", cwd=BACKEND,
                 env=env)


# --- Frontend: npm ci + build in a copy, nginx through the image's entrypoint script ---

def build_frontend() -> Path:
    """Copy the sources (not node_modules/dist), `npm ci`, lint, test, build; return the copy."""
    if not shutil.which("npm"):
        raise Unavailable("no npm: install Node.js (scripts/deps.d/sample-app.sh)")
    work = shared_tempdir("taskflow-fe-")
    shutil.copytree(FRONTEND, work, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("node_modules", "dist"))
    for path in [work, *work.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644 | (path.stat().st_mode & 0o111))
    check(["npm", "ci", "--no-audit", "--no-fund"], cwd=work, timeout=600)
    check(["npm", "run", "build"], cwd=work)
    return work


def start_nginx(site: Path, backend_url: str, *, env_extra: dict[str, str] | None = None
                ) -> tuple[Service, Path]:
    """nginx as the image runs it: the entrypoint renders the config, then execs nginx."""
    if not shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin"):
        raise Unavailable("no nginx: install Debian's nginx-light (scripts/deps.d/sample-app.sh)")
    port = free_port()
    run_dir = shared_tempdir("taskflow-nginx-")
    give_to_nobody(run_dir)
    env = {
        **os.environ,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin",
        "BACKEND_URL": backend_url,
        "LISTEN_PORT": str(port),
        "HTML_ROOT": str(site / "dist"),
        "RUN_DIR": str(run_dir / "run"),
        "NGINX_TEMPLATE": str(FRONTEND / "nginx.conf.template"),
        **(env_extra or {}),
    }
    service = spawn(unprivileged() + ["sh", str(FRONTEND / "docker-entrypoint.sh")],
                    url=f"http://127.0.0.1:{port}", env=env)
    return service, run_dir
