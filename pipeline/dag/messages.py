"""One-line, credential-free messages for lane results, logs and reports.

An exception raised inside a lane may carry anything (a traceback-sized text,
a database URL with its password); what reaches a report is one line with any
URL password masked.
"""

from __future__ import annotations

from pipeline.errors import PipelineError
from pipeline.textsafe import mask_secrets, printable

MAX_LENGTH = 300


def redact(text: str) -> str:
    """Mask URL passwords, private keys and bearer tokens in ``text`` (pipeline.textsafe)."""
    return mask_secrets(text)


def one_line(text: str) -> str:
    """The first non-empty line, marked when more followed, masked and bounded."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else ""
    if len(lines) > 1:
        line += " [...]"
    line = printable(line)
    if len(line) > MAX_LENGTH:
        line = line[: MAX_LENGTH - 3] + "..."
    return line


def describe_exception(exc: BaseException) -> str:
    """A one-line account of an exception; a group is described by its first leaf."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, PipelineError):
        return one_line(str(exc)) or type(exc).__name__
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
