"""Resource classes: lanes that time something run apart from lanes that load the machine.

A runtime probe measures startup against a budget in seconds; beside mypy and
pytest on two cores it measures the load instead. A lane of class TIMED runs
like any other until it measures: inside `LaneContext.measuring()` it holds the
machine alone, waiting until no other lane is running (what it does before, such
as exporting and reading its image, overlaps the rest of the run); while one waits,
no new lane starts (else a stream of short lanes would starve it), and what it
waited is not counted as its work (`LaneResult.waited`). Between two measurements
a lane that only waits (its service idles before the stop is timed) pauses inside
`LaneContext.pausing()`: another lane measures meanwhile. SHARED lanes run
together, up to the run's `--jobs` limit.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections.abc import AsyncIterator

import anyio


class ResourceClass(enum.Enum):
    SHARED = "shared"   # builds, lint, tests: they share the machine
    TIMED = "timed"     # measures time (startup, shutdown): measures with nothing else running

    def __str__(self) -> str:
        return self.value


class ResourceGate:
    """Admits running lanes (`hold`), and gives one of them the machine alone (`alone`)."""

    def __init__(self) -> None:
        self._changed = anyio.Condition()
        self._running = 0          # lanes holding a place, not measuring
        self._alone = False        # a lane is measuring
        self._waiting_alone = 0    # lanes waiting to measure, or paused between measurements
        self._returning = 0        # paused lanes waiting to measure again: they go first

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """A running lane's place, for as long as it runs."""
        await self._take_place()
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled lane still gives its place back
                await self._leave_place()

    @contextlib.asynccontextmanager
    async def alone(self, waited: list[float]) -> AsyncIterator[None]:
        """From inside `hold`: trade the lane's place for the machine alone, then take a
        place again. The seconds it waited for either are appended to `waited`."""
        clock = time.monotonic()
        await self._leave_place()
        try:
            async with self._changed:
                self._waiting_alone += 1
                await self._take_machine(returning=False)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._take_place()  # `hold` gives it up
            raise
        waited.append(time.monotonic() - clock)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with self._changed:
                    self._alone = False
                    self._changed.notify_all()
                clock = time.monotonic()
                await self._take_place()
                waited.append(time.monotonic() - clock)

    @contextlib.asynccontextmanager
    async def pause(self, waited: list[float]) -> AsyncIterator[None]:
        """From inside `alone` (once: see `LaneGate`), while the lane only waits between
        two measurements (its started service idles before the stop is timed): another
        lane may measure meanwhile, but no new lane starts, as while it waits to measure;
        then it has the machine alone again, before any lane that has not measured yet
        (its service is still running). The seconds it waited are appended to `waited`."""
        async with self._changed:
            self._alone = False
            self._waiting_alone += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            # Shielded: `alone` gives the machine up on the way out, so it must hold it.
            with anyio.CancelScope(shield=True):
                clock = time.monotonic()
                async with self._changed:
                    await self._take_machine(returning=True)
                waited.append(time.monotonic() - clock)

    async def _take_machine(self, *, returning: bool) -> None:
        """With the lock held, for a lane counted in `_waiting_alone` (taken off here):
        wait until no lane runs or measures and, unless this one is `returning` from a
        pause, none is returning; then measure."""
        self._returning += returning
        try:
            while self._running or self._alone or (self._returning and not returning):
                await self._changed.wait()
        finally:
            self._returning -= returning
            self._waiting_alone -= 1
            self._changed.notify_all()
        self._alone = True

    async def _take_place(self) -> None:
        async with self._changed:
            while self._alone or self._waiting_alone:
                await self._changed.wait()
            self._running += 1

    async def _leave_place(self) -> None:
        async with self._changed:
            self._running -= 1
            self._changed.notify_all()


class LaneGate:
    """One lane's use of the gate, as its LaneContext offers it: `measuring`, and inside
    it `pausing`, once at a time. A pause anywhere else would wait on the lane itself, and
    shielded, hang the whole run: it raises instead."""

    def __init__(self, gate: ResourceGate, waited: list[float]) -> None:
        self._gate, self._waited = gate, waited
        self._measuring = self._paused = False

    @contextlib.asynccontextmanager
    async def measuring(self) -> AsyncIterator[None]:
        if self._measuring:
            raise RuntimeError("measuring() inside measuring(): the lane already has the machine")
        async with self._gate.alone(self._waited):
            self._measuring = True
            try:
                yield
            finally:
                self._measuring = False

    @contextlib.asynccontextmanager
    async def pausing(self) -> AsyncIterator[None]:
        if not self._measuring or self._paused:
            raise RuntimeError("pausing() is only for a lane inside measuring(), once at a time")
        self._paused = True
        try:
            async with self._gate.pause(self._waited):
                yield
        finally:
            self._paused = False
