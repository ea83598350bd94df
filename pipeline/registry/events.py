"""Structured promotion/rollback events: who moved which stage from what to what, and why.

Written as JSON lines to stderr through structlog, with a logger of our own so
that importing pipeline never reconfigures logging for its host (the CLI, a
Dagger function, a test). Nothing secret is ever passed here.
"""

from __future__ import annotations

import getpass
import os
import sys
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


def _logger() -> Any:
    # Resolve sys.stderr per call: tests and callers may swap it.
    return structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        processors=[
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    ).bind(logger="pipeline.registry")


def emit(event: str, **fields: Any) -> None:
    """One structured event, e.g. emit("promotion", stage=..., to_digest=...)."""
    _logger().info(event, **fields)
