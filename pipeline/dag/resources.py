"""Resource classes: lanes that time something run apart from lanes that load the machine.

A runtime probe measures startup against a budget in seconds; beside mypy and
pytest on two cores it measures the load instead. A lane of class TIMED waits
until no SHARED lane is running, then runs beside other TIMED lanes only, at most
one a core (each probe has a core, as a lone service on a small node would); while
one waits, no new SHARED lane starts (else a stream of short lanes would starve
it). SHARED lanes run together, up to the run's `--jobs` limit.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import AsyncIterator

import anyio


class ResourceClass(enum.Enum):
    SHARED = "shared"   # builds, lint, tests: they share the machine
    TIMED = "timed"     # measures time (startup, shutdown): runs with nothing else

    def __str__(self) -> str:
        return self.value


def cores() -> int:
    """The cores this process may run on (its affinity, which a container's cpuset sets)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ResourceGate:
    """Admits lanes by class: any number of SHARED together, or up to `timed_slots` TIMED
    together (default: one a core)."""

    def __init__(self, timed_slots: int | None = None) -> None:
        self.timed_slots = max(1, timed_slots or cores())
        self._changed = anyio.Condition()
        self._shared = 0
        self._timed = 0
        self._timed_waiting = 0

    @contextlib.asynccontextmanager
    async def hold(self, resource: ResourceClass) -> AsyncIterator[None]:
        timed = resource is ResourceClass.TIMED
        async with self._changed:
            if timed:
                self._timed_waiting += 1
                try:
                    while self._shared or self._timed >= self.timed_slots:
                        await self._changed.wait()
                finally:
                    self._timed_waiting -= 1
                self._timed += 1
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
                        self._timed -= 1
                    else:
                        self._shared -= 1
                    self._changed.notify_all()
