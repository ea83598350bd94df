"""Where reused contract results are kept (pipeline.lanes.reuse): one text per key.

Client mode keeps them on this machine (`LocalStore`, a directory a user can read
and clear). A module's own disk is fresh on every `dagger call`, so module mode
keeps them in the engine, in a cache volume read and written through the
servicewrap helper (`VolumeStore`): every call on that engine sees them.

Either way a store that cannot be read is a miss and one that cannot be written is
skipped: a store never fails a lane, and never holds more than MAX_BYTES a key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import dagger
from dagger import dag

from pipeline.atomic import write_atomic

MAX_BYTES = 16 << 20        # a result is findings as JSON: far below this
VOLUME = "pipeline-contract-results"
_KEY = re.compile(r"[0-9a-f]{64}")  # sha256 hex: the only names a store makes


class ResultStore(Protocol):
    async def read(self, key: str) -> str | None: ...

    async def write(self, key: str, text: str) -> None: ...


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a result key: {key!r}")
    return f"{key}.json"


class LocalStore:
    """One file per key in a directory of this machine, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def read(self, key: str) -> str | None:
        path = self.directory / _checked(key)
        try:
            if not path.is_file() or path.stat().st_size > MAX_BYTES:
                return None
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    async def write(self, key: str, text: str) -> None:
        # Runs may finish together: each writes its own file, then one rename wins.
        try:
            write_atomic(self.directory / _checked(key), text)
        except OSError:
            return


class VolumeStore:
    """One file per key in the engine's cache volume `pipeline-contract-results`.

    `helper` gives the servicewrap binary (built by the engine, then cached); the
    containers that use it are empty but for it, so they need no image."""

    def __init__(self, helper: Callable[[], dagger.File], volume: str = VOLUME) -> None:
        self.helper, self.volume = helper, volume

    def _container(self) -> dagger.Container:
        return (dag.container()
                .with_mounted_file("/servicewrap", self.helper())
                .with_mounted_cache("/store", dag.cache_volume(self.volume)))

    async def read(self, key: str) -> str | None:
        name = _checked(key)
        try:
            # Copied out of the volume, not printed: an exec's output reaches the engine's
            # progress and traces.
            ran = await (self._container()
                         # Read now, never Dagger's cached answer of an earlier read.
                         .with_env_variable("PIPELINE_READ_AT", repr(time.time()))
                         .with_exec(["/servicewrap", "get", f"/store/{name}", "/out/result.json"],
                                    expect=dagger.ReturnType.ANY)
                         .sync())
            if await ran.exit_code() != 0:
                return None
            text = await ran.file("/out/result.json").contents()
        except dagger.DaggerError:
            return None
        return text if len(text) <= MAX_BYTES else None

    async def write(self, key: str, text: str) -> None:
        if len(text) > MAX_BYTES:
            return
        name = _checked(key)
        try:
            await (self._container()
                   # Written now: a cached write would leave a pruned volume empty.
                   .with_env_variable("PIPELINE_WRITE_AT", repr(time.time()))
                   .with_new_file("/in/result.json", text)
                   .with_exec(["/servicewrap", "put", "/in/result.json", f"/store/{name}"])
                   .sync())
        except dagger.DaggerError:
            return
