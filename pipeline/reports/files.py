"""Write report files atomically: a reader never sees half a report."""

from __future__ import annotations

from pathlib import Path

from pipeline.atomic import write_atomic
from pipeline.errors import ReportError


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` via a temporary file in the same directory, then rename."""
    path = Path(path)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ReportError(f"{path}: cannot write report ({exc.strerror or exc})") from None
    return path
