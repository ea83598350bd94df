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
import dataclasses
import enum
import time
from collections.abc import AsyncIterator

import anyio


class ResourceClass(enum.Enum):
    SHARED = "shared"   # builds, lint, tests: they share the machine
    TIMED = "timed"     # measures time (startup, shutdown): measures with nothing else running

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass
class Turn:
    """One lane's time with the machine (`ResourceGate.alone`): whether it holds it now
    (not while it pauses, nor once cancelled on its way back)."""

    holds_machine: bool = True


def _cancelled(exc: BaseException) -> bool:
    return isinstance(exc, anyio.get_cancelled_exc_class())


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
    async def alone(self, waited: list[float]) -> AsyncIterator[Turn]:
        """From inside `hold`: trade the lane's place for the machine alone, then take a
        place again. The seconds it waited for either are appended to `waited`. A lane
        cancelled here (its timeout, fail-fast) ends: it takes its place back at once,
        for `hold` to give up, instead of waiting for the lanes that measure."""
        clock = time.monotonic()
        await self._leave_place()
        try:
            async with self._changed:
                self._waiting_alone += 1
                await self._take_machine(returning=False)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await self._place_back(now=_cancelled(exc))  # `hold` gives it up
            raise
        waited.append(time.monotonic() - clock)
        turn = Turn()
        try:
            yield turn
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await self._give_machine_up(turn)
                await self._place_back(now=_cancelled(exc))
            raise
        with anyio.CancelScope(shield=True):
            await self._give_machine_up(turn)
            clock = time.monotonic()
            await self._place_back(now=False)
            waited.append(time.monotonic() - clock)

    @contextlib.asynccontextmanager
    async def pause(self, waited: list[float], turn: Turn) -> AsyncIterator[None]:
        """From inside `alone` (once: see `LaneGate`), while the lane only waits between
        two measurements (its started service idles before the stop is timed): another
        lane may measure meanwhile, but no new lane starts, as while it waits to measure;
        then it has the machine alone again, before any lane that has not measured yet
        (its service is still running). The seconds it waited are appended to `waited`.
        A lane cancelled meanwhile does not wait for the machine back: `turn` says so."""
        async with self._changed:
            self._alone = False
            turn.holds_machine = False
            self._waiting_alone += 1
            self._changed.notify_all()
        clock: float | None = None
        try:
            yield
            clock = time.monotonic()
        finally:
            if clock is None:          # the pause ended by an error or a cancellation
                clock = time.monotonic()
            await self._come_back()        # cancellable: a cancelled lane ends unmeasured
            turn.holds_machine = True
            waited.append(time.monotonic() - clock)

    async def _come_back(self) -> None:
        """For a paused lane (counted in `_waiting_alone`): the machine again, or, if it is
        cancelled first, no longer counted."""
        entered = False
        try:
            async with self._changed:
                entered = True
                await self._take_machine(returning=True)
        except BaseException:
            if not entered:           # cancelled before `_take_machine` took it off
                with anyio.CancelScope(shield=True):
                    async with self._changed:
                        self._waiting_alone -= 1
                        self._changed.notify_all()
            raise

    async def _give_machine_up(self, turn: Turn) -> None:
        async with self._changed:
            if turn.holds_machine:
                self._alone = False
                turn.holds_machine = False
                self._changed.notify_all()

    async def _place_back(self, *, now: bool) -> None:
        """A place again after measuring; `now`: without waiting for the lanes that wait to
        measure (a cancelled lane, which only gives it up)."""
        if now:
            async with self._changed:
                self._running += 1
        else:
            await self._take_place()

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
    shielded, hang the whole run: it raises instead. A cancellation that reaches either
    must end the lane: the gate then lets the lane go at once, without the machine."""

    def __init__(self, gate: ResourceGate, waited: list[float]) -> None:
        self._gate, self._waited = gate, waited
        self._measuring = self._paused = False
        self._turn = Turn()

    @contextlib.asynccontextmanager
    async def measuring(self) -> AsyncIterator[None]:
        if self._measuring:
            raise RuntimeError("measuring() inside measuring(): the lane already has the machine")
        async with self._gate.alone(self._waited) as turn:
            self._measuring, self._turn = True, turn
            try:
                yield
            finally:
                self._measuring = False
            if not turn.holds_machine:
                # A cancellation inside (a pause's way back) was caught and the lane went
                # on: it measured without the machine. Said, not measured on quietly.
                raise RuntimeError("a cancellation inside measuring() was caught and the lane "
                                   "went on without the machine; let it end the lane")

    @contextlib.asynccontextmanager
    async def pausing(self) -> AsyncIterator[None]:
        if not self._measuring or self._paused:
            raise RuntimeError("pausing() is only for a lane inside measuring(), once at a time")
        self._paused = True
        try:
            async with self._gate.pause(self._waited, self._turn):
                yield
        finally:
            self._paused = False
