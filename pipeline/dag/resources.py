"""Resource classes: lanes that time something run apart from lanes that load the machine.

A runtime probe measures startup against a budget in seconds; beside mypy and
pytest on two cores it measures the load instead. A lane of class TIMED waits
until no SHARED lane is running and runs alone; while one waits, no new SHARED
lane starts (else a stream of short lanes would starve it). SHARED lanes run
together, up to the run's `--jobs` limit.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator

import anyio


class ResourceClass(enum.Enum):
    SHARED = "shared"   # builds, lint, tests: they share the machine
    TIMED = "timed"     # measures time (startup, shutdown): runs with nothing else

    def __str__(self) -> str:
        return self.value


class ResourceGate:
    """Admits lanes by class: any number of SHARED together, or one TIMED alone."""

    def __init__(self) -> None:
        self._changed = anyio.Condition()
        self._shared = 0
        self._timed = False
        self._timed_waiting = 0

    @contextlib.asynccontextmanager
    async def hold(self, resource: ResourceClass) -> AsyncIterator[None]:
        timed = resource is ResourceClass.TIMED
        async with self._changed:
            if timed:
                self._timed_waiting += 1
                try:
                    while self._shared or self._timed:
                        await self._changed.wait()
                finally:
                    self._timed_waiting -= 1
                self._timed = True
            else:
                while self._timed or self._timed_waiting:
                    await self._changed.wait()
                self._shared += 1
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled lane still gives its place back
                async with self._changed:
                    if timed:
                        self._timed = False
                    else:
                        self._shared -= 1
                    self._changed.notify_all()
