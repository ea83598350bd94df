"""Blob digests checked while the layers are read.

A blob that lies plainly in the tarball file is hashed on a worker thread,
straight from the file, while the main thread parses its headers (hashlib
releases the GIL on large buffers, so the two run on two cores); a blob that
can only be streamed (the outer tarball is compressed) is hashed inline as
its bytes pass through `HashingReader`. Either way memory is one buffer.
"""

from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.errors import ImageError

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Expected:
    """A digest a blob must hash to, and where the claim comes from (for the error)."""

    what: str               # "layer 2 (blobs/sha256/ab..)"
    claim: str              # "digest" or "diff_id in the config"
    algo: str               # sha256 / sha512
    hex: str

    @property
    def digest(self) -> str:
        return f"{self.algo}:{self.hex}"


def _mismatch(source: Path, expected: Expected, actual: str) -> ImageError:
    return ImageError(f"{source}: {expected.what} does not match its {expected.claim} "
                      f"{expected.digest} (it hashes to {expected.algo}:{actual})")


def _compare(source: Path, expected: list[Expected], digests: dict[str, str]) -> None:
    for item in expected:
        if digests[item.algo] != item.hex:
            raise _mismatch(source, item, digests[item.algo])


class Verifier:
    """Hashes blobs on one worker thread; `check()` raises the first mismatch."""

    def __init__(self, source: Path) -> None:
        self._source = source
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: list[tuple[Future[dict[str, str]], list[Expected]]] = []
        self._stop = threading.Event()

    def span(self, start: int, size: int, expected: list[Expected]) -> None:
        """Hash `size` bytes of the tarball file from `start` in the background."""
        if not expected:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="digest")
        algos = sorted({e.algo for e in expected})
        self._jobs.append((self._pool.submit(self._hash_span, start, size, algos), expected))

    def _hash_span(self, start: int, size: int, algos: list[str]) -> dict[str, str]:
        hashers = [hashlib.new(a) for a in algos]
        buffer = bytearray(min(_CHUNK, max(size, 1)))
        view = memoryview(buffer)
        with open(self._source, "rb", buffering=0) as raw:
            raw.seek(start)
            left = size
            while left and not self._stop.is_set():
                got = raw.readinto(view[:min(len(buffer), left)])
                if not got:
                    raise ImageError(f"{self._source}: truncated while checking digests")
                for hasher in hashers:
                    hasher.update(view[:got])
                left -= got
        return {a: h.hexdigest() for a, h in zip(algos, hashers, strict=True)}

    def check(self) -> None:
        """Wait for every hash submitted; ImageError on the first that does not match."""
        for future, expected in self._jobs:
            _compare(self._source, expected, future.result())
        self._jobs.clear()

    def close(self) -> None:
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class HashingReader(io.RawIOBase):
    """A raw stream that hashes every byte read through it (not seekable: a skip reads)."""

    def __init__(self, inner: IO[bytes], algos: list[str]) -> None:
        self._inner = inner
        self._algos = algos
        self._hashers = [hashlib.new(a) for a in algos]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        got = self._inner.readinto(buffer) or 0  # type: ignore[attr-defined]
        if got:
            view = memoryview(buffer)[:got]
            for hasher in self._hashers:
                hasher.update(view)
        return got

    def finish(self, source: Path, expected: list[Expected]) -> None:
        """Read what is left (bytes after the tar's end still count) and compare."""
        buffer = bytearray(_CHUNK)
        while self.readinto(buffer):
            pass
        _compare(source, expected,
                 {a: h.hexdigest() for a, h in zip(self._algos, self._hashers, strict=True)})

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()

