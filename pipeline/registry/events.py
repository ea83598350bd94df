"""Structured promotion/rollback events: who moved which stage from what to what, and why.

Written as JSON lines to stderr through structlog, with a logger of our own so
that importing pipeline never reconfigures logging for its host (the CLI, a
Dagger function, a test). Nothing secret is ever passed here.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

import structlog


def actor() -> str:
    """Who acts: $PIPELINE_ACTOR (a CI user or bot) or the OS user."""
    explicit = os.environ.get("PIPELINE_ACTOR")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def _json_logger(sink: Any, name: str) -> Any:
    """JSON lines to `sink` with a UTC timestamp, under logger `name`."""
    return structlog.wrap_logger(
        structlog.PrintLogger(sink),
        # Our own wrapper class: a host's structlog.configure (the CLI's level filter)
        # must not drop these events.
        wrapper_class=structlog.BoundLogger,
        processors=[
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    ).bind(logger=name)


def emit(event: str, **fields: Any) -> None:
    """One structured event, e.g. emit("promotion", stage=..., to_digest=...)."""
    # Resolve sys.stderr per call: tests and callers may swap it.
    _json_logger(sys.stderr, "pipeline.registry").info(event, **fields)


EVENT_LOG_ENV = "PIPELINE_EVENT_LOG"


def event_log_path() -> Path:
    """Where release/stage events are logged as JSON lines: $PIPELINE_EVENT_LOG, else
    $XDG_STATE_HOME/pipeline/events.jsonl (~/.local/state/...). Not stderr: there, a
    refusal is one line, and a JSON line beside it would break that contract."""
    explicit = os.environ.get(EVENT_LOG_ENV)
    if explicit:
        return Path(explicit)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "pipeline" / "events.jsonl"


def emit_to_log(event: str, **fields: Any) -> None:
    """One structured event appended to the event log (best effort: a read-only home
    must not fail a promotion whose record is already in the registry)."""
    path = event_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as sink:
            _json_logger(sink, "pipeline.releases").info(event, **fields)
    except OSError:
        pass
