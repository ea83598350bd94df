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
import threading
from bisect import bisect_right
from collections.abc import Sequence
from functools import cache
from itertools import accumulate
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
    import tempfile  # only when the cache is written: once per user

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


class _Scanner:
    """The compiled patterns and one scratch space per thread (a scratch serves one scan at
    a time: contract lanes read images on several threads at once)."""

    def __init__(self, hyperscan: Any) -> None:
        self._hyperscan = hyperscan
        self._database = _database(hyperscan)
        self._local = threading.local()

    def first_end(self, data: bytes | memoryview) -> int | None:
        """Where the first match in `data` ends (exclusive), or None: the scan stops at it."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hyperscan.Scratch(self._database)
        ends: list[int] = []

        def stop(_id: int, _start: int, end: int, *_: object) -> bool:
            ends.append(end)
            return True      # stop here; the binding reports that as ScanTerminated
        try:
            self._database.scan(data, match_event_handler=stop, scratch=scratch)
        except self._hyperscan.ScanTerminated:
            return ends[0]
        return None


@cache
def _scanner() -> _Scanner | None:
    try:
        import hyperscan  # type: ignore[import-untyped]
    except ImportError:
        return None
    return _Scanner(hyperscan)


def may_hold_secret(data: bytes) -> bool:
    """False only when no content pattern can match `data` (then RE2 need not run)."""
    scan = _scanner()
    return True if scan is None else scan.first_end(data) is not None


def candidates(buffers: Sequence[bytes]) -> list[int]:
    """The indices of `buffers` that may hold a secret: at least those `may_hold_secret`
    says yes to, in order. One scan over all of them joined by newlines (per-call costs
    are most of the work on small files, and the scan runs without the GIL), restarted
    after the file holding each match. A newline at a file's edges is what the patterns'
    `\\b` and whitespace see at a buffer's, so no match is lost; one spanning two files
    only adds a candidate, which the caller's RE2 pass then finds empty."""
    scan = _scanner()
    if scan is None:
        return list(range(len(buffers)))
    joined = b"\n".join(buffers)
    view = memoryview(joined)
    ends = list(accumulate(len(b) + 1 for b in buffers))   # past each file's newline
    found: list[int] = []
    start = 0
    while start < len(joined):
        end = scan.first_end(view[start:])
        if end is None:
            break
        index = bisect_right(ends, start + end - 1)      # the file holding its last byte
        found.append(index)
        start = ends[index]
    return found
