"""structlog setup for the command line: key=value lines on stderr, quiet by default."""

from __future__ import annotations

import logging
import os
import sys

import structlog


def configure_logging(level: str | None = None) -> None:
    """Log at `level` (default $PIPELINE_LOG_LEVEL, else error) to stderr.

    The progress lines and the summary table already tell a person each lane's
    outcome; structured logs are for machines and debugging, so they are opt-in
    below error (PIPELINE_LOG_LEVEL=info shows every lane event)."""
    name = (level or os.environ.get("PIPELINE_LOG_LEVEL") or "error").upper()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, name, logging.WARNING)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
