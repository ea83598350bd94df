"""Which files can hold a secret at all: the content scan's candidate test.

Hyperscan runs the very patterns of `patterns.CONTENT` as a SIMD automaton
(~7 GB/s against RE2's ~0.6 GB/s on source text), answering only "does any
pattern match here"; RE2 then runs on the rare file that does, for the match
text the finding shows. Where hyperscan has no wheel (Linux on arm64), every
text file is a candidate and RE2 alone decides: the same findings, slower.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.rules import patterns


def _cache_file(version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha256(repr((version, patterns.PATTERNS)).encode()).hexdigest()[:16]
    return Path(base) / "pipeline" / f"secrets-{key}.hsdb"


def _database(hyperscan: Any) -> Any:
    """The compiled patterns, from the user's cache when there: compiling costs ~20 ms and
    ~7 MB of peak memory, loading a fraction of either. Any cache trouble: compile."""
    cached = _cache_file(str(getattr(hyperscan, "__version__", "")))
    try:
        return hyperscan.loadb(cached.read_bytes(), hyperscan.HS_MODE_BLOCK)
    except (OSError, TypeError, ValueError, hyperscan.error):
        pass
    expressions = [p.encode() for _, _, p in patterns.PATTERNS]
    database = hyperscan.Database()
    database.compile(expressions=expressions, ids=list(range(len(expressions))),
                     elements=len(expressions),
                     flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(expressions))
    written = ""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False) as out:
            written = out.name
            out.write(hyperscan.dumpb(database))
        os.replace(written, cached)
    except OSError:
        if written:
            Path(written).unlink(missing_ok=True)
    return database


@cache
def _scanner() -> Callable[[bytes], bool] | None:
    try:
        import hyperscan  # type: ignore[import-untyped]
    except ImportError:
        return None
    database = _database(hyperscan)
    # A scratch space serves one scan at a time: contract lanes read images on several
    # threads at once, so each thread has its own.
    local = threading.local()

    def may_match(data: bytes) -> bool:
        scratch = getattr(local, "scratch", None)
        if scratch is None:
            scratch = local.scratch = hyperscan.Scratch(database)
        # The callback returning True stops the scan at the first match (one is enough);
        # the binding reports that as ScanTerminated.
        try:
            database.scan(data, match_event_handler=_first, scratch=scratch)
        except hyperscan.ScanTerminated:
            return True
        return False

    def _first(*_: object) -> bool:
        return True

    return may_match


def may_hold_secret(data: bytes) -> bool:
    """False only when no content pattern can match `data` (then RE2 need not run)."""
    scan = _scanner()
    return True if scan is None else scan(data)
