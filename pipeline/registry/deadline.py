"""One overall deadline per command for every registry request it makes.

httpx's timeouts bound each read, not the whole exchange: a registry that
sends a byte every few seconds never trips them. So a command carries a
`Deadline` (``--deadline SECONDS`` or $PIPELINE_REGISTRY_DEADLINE, default
120 s); each request's timeouts are cut to what remains of it, bodies are read
in chunks with the clock checked between them, and retries never sleep past it.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from pipeline.errors import PipelineError

DEADLINE_ENV = "PIPELINE_REGISTRY_DEADLINE"
DEFAULT_SECONDS = 120.0
MAX_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point on the monotonic clock after which no registry request may run."""

    seconds: float
    end: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not self.end:
            object.__setattr__(self, "end", time.monotonic() + self.seconds)

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


_current: ContextVar[Deadline | None] = ContextVar("pipeline_registry_deadline", default=None)


def parse_seconds(text: str, *, source: str) -> float:
    """Seconds in `text` (0 < s <= 24 h); PipelineError naming `source` otherwise."""
    try:
        value = float(text.strip())
    except ValueError:
        raise PipelineError(f"{source}: not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > MAX_SECONDS:
        raise PipelineError(f"{source}: must be more than 0 and at most {MAX_SECONDS:.0f} seconds")
    return value


def default_seconds() -> float:
    text = os.environ.get(DEADLINE_ENV)
    return parse_seconds(text, source=DEADLINE_ENV) if text else DEFAULT_SECONDS


def current() -> Deadline:
    """The running command's deadline, else a new default-length one."""
    return _current.get() or Deadline(default_seconds())


@contextmanager
def command_deadline(seconds: float | None = None) -> Iterator[Deadline]:
    """Every client made inside shares one deadline, `seconds` (or the default) from now."""
    deadline = Deadline(seconds if seconds is not None else default_seconds())
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


@contextmanager
def each_client_its_own() -> Iterator[None]:
    """Inside, no command deadline: each client gets a default-length one of its own. For
    registry calls after a long engine run (a verification, then its rollback), which the
    command's deadline must not have eaten."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def add_argument(parser: argparse.ArgumentParser) -> None:
    """``--deadline SECONDS`` on a command that talks to a registry."""

    def seconds(text: str) -> float:
        try:
            return parse_seconds(text, source="--deadline")
        except PipelineError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument(
        "--deadline", type=seconds, default=None, metavar="SECONDS",
        help=f"give up on the registry after SECONDS in all (default: ${DEADLINE_ENV} "
             f"or {DEFAULT_SECONDS:.0f})")
