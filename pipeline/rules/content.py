"""The content scan: secrets by content, in every layer, collected while the image is read.

`ContentScan.feed` is the reader's `on_file`, so it sees files a later layer
deletes: they still ship in the earlier layer's blob. The `secrets` rule family
(pipeline.rules.secrets) turns its hits into findings; every rule receives the
scan through its Subject.
"""

from __future__ import annotations

import posixpath
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.image.model import Layer
from pipeline.rules import patterns, prefilter

# .env files hold configuration and usually secrets; templates are meant to ship.
_DOTENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")


def is_dotenv(path: str) -> bool:
    if ".env" not in path:
        return False
    base = posixpath.basename(path)
    if base != ".env" and not base.startswith(".env."):
        return False
    return not base.endswith(_DOTENV_TEMPLATES)


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    label: str
    path: str
    layer: Layer
    excerpt: str                  # redacted


# Text files are scanned in batches of about this many bytes, at most IN_FLIGHT batches
# waiting at a time: the memory held stays a few MiB whatever the image.
BATCH_BYTES = 1 << 20
IN_FLIGHT = 3
_Pending = tuple[int, Layer, str, bytes]       # (file number, layer, path, content)


class ContentScan:
    """Collects secret hits from every file offered to `feed`.

    `feed` runs on the reader's thread and keeps it short: text files wait in batches,
    which a worker thread scans (hyperscan runs without the GIL, so on the other core
    while the reader parses the next headers: ~0.05 s of a 300 MB image's). `hits` waits
    for the last batch and lists the hits in the order the files came, as one thread
    scanning each file in turn would. A small image (one batch) never starts the thread.
    """

    def __init__(self) -> None:
        self._found: list[tuple[int, int, Hit]] = []    # (file number, order in file, hit)
        self._batch: list[_Pending] = []
        self._batch_bytes = 0
        self._files = 0
        self._worker: _Worker | None = None

    def feed(self, layer: Layer, path: str, data: bytes) -> None:
        number = self._files
        self._files += 1
        if ".env" in path and is_dotenv(path):
            self._found.append((number, 0, Hit("secret.dotenv", ".env file", path, layer,
                                               f"{len(data)} bytes")))
        # Binary files (a NUL in the first 8 KiB) are skipped, as trivy's secret scanner
        # does: the patterns are text formats, and binaries are most of an image's bytes.
        # No pattern matches an empty file.
        if not data or data.find(b"\0", 0, 8192) != -1:
            return
        self._batch.append((number, layer, path, data))
        self._batch_bytes += len(data)
        if self._batch_bytes >= BATCH_BYTES:
            if self._worker is None:
                self._worker = _Worker(self._scan)
            self._worker.put(self._batch)
            self._batch, self._batch_bytes = [], 0

    @property
    def hits(self) -> list[Hit]:
        self._finish()
        return [hit for _, _, hit in sorted(self._found, key=lambda f: (f[0], f[1]))]

    def close(self) -> None:
        """Stop the worker, if any, without waiting for what it has left (an error path)."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _finish(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.put(self._batch)
            worker.join()
        elif self._batch:
            self._scan(self._batch)
        self._batch, self._batch_bytes = [], 0

    def _scan(self, batch: list[_Pending]) -> None:
        """Hits of the files in `batch`: the candidate test over all of them at once, then
        RE2 over each candidate alone, for the match text the finding shows."""
        for index in prefilter.candidates([data for *_, data in batch]):
            number, layer, path, data = batch[index]
            seen: set[str] = set()
            for found in patterns.CONTENT.finditer(data):
                rule_id, label = patterns.KINDS[(found.lastindex or 1) - 1]
                if label in seen:          # one hit per kind per file is enough evidence
                    continue
                seen.add(label)
                self._found.append((number, 1 + len(seen),
                                    Hit(rule_id, label, path, layer,
                                        patterns.redact(found.group(0)))))


class _Worker:
    """One daemon thread scanning batches in order; `join` re-raises what it raised."""

    def __init__(self, scan: Callable[[list[_Pending]], None]) -> None:
        self._scan = scan
        self._jobs: queue.SimpleQueue[list[_Pending] | None] = queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(IN_FLIGHT)
        self._error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="content-scan")
        self._thread.start()

    def put(self, batch: list[_Pending]) -> None:
        self._room.acquire()            # the reader waits while IN_FLIGHT batches do
        self._jobs.put(batch)

    def _run(self) -> None:
        while (batch := self._jobs.get()) is not None:
            try:
                if self._error is None and not self._stopped:
                    self._scan(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                self._error = exc
            finally:
                self._room.release()

    def join(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        self._stopped = True
        self._jobs.put(None)
