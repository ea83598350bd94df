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
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.errors import ImageError

# 4 MiB a read and update: each returns to Python for the GIL, which the reader holds
# most of the time; fewer returns, fewer waits on either side (1 MiB measured ~20 ms slower).
_CHUNK = 4 << 20


class _Pending:
    """One hash's outcome, handed from the worker to the reader (concurrent.futures' Future
    would do, but imports logging: ~3 ms of check-image's start-up)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: dict[str, str] | None = None
        self._error: BaseException | None = None
        self.cancelled = False

    def set(self, value: dict[str, str] | None = None, error: BaseException | None = None
            ) -> None:
        self._value, self._error = value, error
        self._done.set()

    def cancel(self, error: BaseException) -> None:
        """Not to be hashed any more; a result asked for after this raises `error`."""
        self.cancelled = True
        if not self._done.is_set():
            self.set(error=error)

    def result(self) -> dict[str, str]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


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
    """Hashes blobs on one worker thread; `check()` raises the first mismatch.

    The worker is a daemon thread: a command that fails before reading the image (a bad
    contract) exits at once rather than waiting for a gigabyte to be hashed. The same
    span asked twice is hashed once, so `prefetch` can start the work early.
    """

    def __init__(self, source: Path) -> None:
        self._source = source
        self._queue: queue.SimpleQueue[tuple[_Pending, int, int, list[str]] | None] \
            | None = None
        self._futures: dict[tuple[int, int, tuple[str, ...]], _Pending] = {}
        self._checks: list[tuple[_Pending, list[Expected]]] = []
        self._stop = threading.Event()

    def span(self, start: int, size: int, expected: list[Expected]) -> None:
        """Hash `size` bytes of the tarball file from `start` in the background."""
        if not expected:
            return
        algos = sorted({e.algo for e in expected})
        key = (start, size, tuple(algos))
        future = self._futures.get(key)
        if future is None:
            if self._queue is None:
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._work, args=(self._queue,), daemon=True,
                                 name="digest").start()
            future = self._futures[key] = _Pending()
            self._queue.put((future, start, size, algos))
        self._checks.append((future, expected))

    def _work(self, jobs: queue.SimpleQueue[tuple[_Pending, int, int, list[str]]
                                             | None]) -> None:
        while (job := jobs.get()) is not None:
            future, start, size, algos = job
            if future.cancelled:
                continue
            try:
                future.set(self._hash_span(start, size, algos))
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                future.set(error=exc)

    def _hash_span(self, start: int, size: int, algos: list[str]) -> dict[str, str]:
        hashers = [hashlib.new(a) for a in algos]
        buffer = bytearray(min(_CHUNK, max(size, 1)))
        view = memoryview(buffer)
        with open(self._source, "rb", buffering=0) as raw:
            raw.seek(start)
            left = size
            while left:
                if self._stop.is_set():
                    raise ImageError(f"{self._source}: digest check stopped")
                got = raw.readinto(view[:min(len(buffer), left)])
                if not got:
                    raise ImageError(f"{self._source}: truncated while checking digests")
                for hasher in hashers:
                    hasher.update(view[:got])
                left -= got
        return {a: h.hexdigest() for a, h in zip(algos, hashers, strict=True)}

    def check(self) -> None:
        """Wait for every hash asked for; ImageError on the first that does not match."""
        for future, expected in self._checks:
            try:
                digests = future.result()
            except OSError as exc:
                raise ImageError(f"{self._source}: cannot read to check digests "
                                 f"({exc.strerror or exc})") from None
            _compare(self._source, expected, digests)
        self._checks.clear()

    def close(self) -> None:
        self._stop.set()
        for future in self._futures.values():
            future.cancel(ImageError(f"{self._source}: digest check stopped"))
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None

    # --- started early, taken up later by the reader ---------------------------------

    @staticmethod
    def _identity(path: Path) -> tuple[object, ...] | None:
        try:
            info = path.stat()
        except OSError:
            return None
        return (str(path.resolve()), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)

    def share(self) -> None:
        """Offer this verifier to the next `for_file` of the same, unchanged file."""
        identity = self._identity(self._source)
        if identity is not None:
            _SHARED[identity] = self

    @classmethod
    def for_file(cls, path: Path) -> Verifier:
        """The verifier `share()`d for this file (its hashes already under way), or a new one."""
        identity = cls._identity(path)
        shared = _SHARED.pop(identity, None) if identity is not None else None
        if shared is None:
            return cls(path)
        shared._checks.clear()     # the reader states its own expectations
        return shared


_SHARED: dict[tuple[object, ...], Verifier] = {}


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

