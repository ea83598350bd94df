"""Which Dagger engine a client-mode run talks to, checked before connecting.

With `_EXPERIMENTAL_DAGGER_RUNNER_HOST` set (scripts/engine env, or a shared
remote engine), that engine is used; without it, the Dagger SDK provisions its
own engine through Docker as usual, which needs Docker and a registry.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

from pipeline.errors import EngineError

RUNNER_HOST = "_EXPERIMENTAL_DAGGER_RUNNER_HOST"
_SESSION_LOG: Path | None = None  # where the current session's progress output goes


def check_engine_environment() -> None:
    """Raise EngineError, in one line, when no engine can be reached."""
    runner = os.environ.get(RUNNER_HOST)
    if not runner:
        if shutil.which("docker") is None and not os.environ.get("_EXPERIMENTAL_DAGGER_CLI_BIN"):
            raise EngineError(
                f"no Dagger engine: {RUNNER_HOST} is unset and Docker is not installed",
                hint='run `scripts/engine up && eval "$(scripts/engine env)"`',
            )
        return
    url = urlparse(runner)
    if url.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        try:
            sock.connect(url.path)
        except OSError as exc:
            raise EngineError(f"engine not answering at {runner}: {exc.strerror or exc}",
                              hint="start it with `scripts/engine up`") from None
        finally:
            sock.close()


@contextlib.asynccontextmanager
async def connection(*, show_progress: bool = False) -> AsyncIterator[None]:
    """`dagger.connection()` to the engine the environment names, after checking it answers.

    The session's own output goes to stderr with `show_progress`, else nowhere:
    with no log_output the SDK pipes the CLI's stderr and never reads it, and a
    chatty run then blocks the CLI (and the session's close) once the pipe is full.
    """
    import dagger

    global _SESSION_LOG
    check_engine_environment()
    # Without progress on the terminal, the session's output goes to a file: the engine's
    # errors for a failed build step name the process only, and its output is read there.
    with tempfile.NamedTemporaryFile("w", prefix="pipeline-session-", suffix=".log",
                                     encoding="utf-8") as session:
        _SESSION_LOG = None if show_progress else Path(session.name)
        config = dagger.Config(log_output=sys.stderr if show_progress else session)
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(dagger.connection(config))
            except dagger.DaggerError as exc:  # provisioning: no CLI download, no engine...
                lines = str(exc).strip().splitlines()
                raise EngineError(
                    f"cannot connect to a Dagger engine: {lines[0] if lines else type(exc).__name__}",
                    hint='without Docker and a registry, run `scripts/engine up && eval "$(scripts/engine env)"`',
                ) from None
            try:
                yield
            finally:
                _SESSION_LOG = None


def session_log_tail(limit: int = 4 * 2**20) -> str:
    """The last `limit` bytes of this process's engine session output ("" when not kept)."""
    path = _SESSION_LOG
    if path is None:
        return ""
    try:
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - limit))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""
