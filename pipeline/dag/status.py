"""Lane statuses and results: small frozen values, no behaviour beyond predicates.

Keeps "the gate said no" (FAILED: the lane returned ``passed=False``) apart from
"something broke" (ERRORED: the lane raised), as Kargo's Failed vs Errored phases do.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.waivers import WaiverStatus

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class LaneStatus(enum.Enum):
    """Where a lane is in its life; PENDING and RUNNING are the only non-final ones."""

    PENDING = "pending"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_success(self) -> bool:
        """Dependants may run: only a passed lane unblocks them."""
        return self is LaneStatus.PASSED

    @property
    def is_problem(self) -> bool:
        """The lane itself went wrong (as opposed to being skipped because of another)."""
        return self in (LaneStatus.FAILED, LaneStatus.ERRORED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class CaseCounts:
    """Test-case counts a lane reports (e.g. parsed from its pytest JUnit file)."""

    total: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def passed(self) -> int:
        return self.total - self.failures - self.errors - self.skipped


@dataclass(frozen=True, slots=True)
class LaneOutcome:
    """What a lane's ``run`` returns. ``passed=False`` means its gate said no (FAILED).

    ``outputs`` go to dependants (they may hold engine objects such as containers);
    ``junit`` files are merged into the run's JUnit report; ``reports`` and ``log``
    are copied into the run's reports directory under the lane's folder.
    """

    passed: bool = True
    message: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    findings: Mapping[str, int] | None = None  # severity -> count
    tests: CaseCounts | None = None
    junit: tuple[Path, ...] = ()
    reports: tuple[Path, ...] = ()
    log: Path | None = None
    waivers: tuple[WaiverStatus, ...] = ()  # the contract's waivers this lane applied or ignored

    @classmethod
    def success(cls, message: str = "", **kwargs: Any) -> LaneOutcome:
        return cls(passed=True, message=message, **kwargs)

    @classmethod
    def failure(cls, message: str, **kwargs: Any) -> LaneOutcome:
        return cls(passed=False, message=message, **kwargs)


@dataclass(frozen=True, slots=True)
class LaneResult:
    """The final record of one lane in one run."""

    name: str
    status: LaneStatus
    message: str = ""
    kind: str = ""
    needs: tuple[str, ...] = ()
    started: datetime | None = None  # wall clock, UTC; None if the lane never started
    finished: datetime | None = None
    duration: float = 0.0  # seconds, from a monotonic clock
    waited: float = 0.0    # of the duration, seconds waiting to measure alone (pipeline.dag.resources)
    outputs: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    findings: Mapping[str, int] | None = None
    tests: CaseCounts | None = None
    skipped_because: str | None = None  # the upstream lane that did not pass (or tripped fail-fast)
    junit: tuple[Path, ...] = ()
    reports: tuple[Path, ...] = ()
    log: Path | None = None
    waivers: tuple[WaiverStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """Every lane's result, in the graph's topological order, and the run's wall time."""

    results: tuple[LaneResult, ...]
    started: datetime | None = None
    finished: datetime | None = None
    duration: float = 0.0  # wall time of the whole run, seconds
    # False when test lanes ran whatever the contract lanes said (validate --keep-going).
    gating: bool = True

    @classmethod
    def of(cls, results: RunResult | Iterable[LaneResult]) -> RunResult:
        """Accept either a run or bare lane results (e.g. from a caller's own loop)."""
        if isinstance(results, RunResult):
            return results
        return cls(results=tuple(results))

    def __iter__(self) -> Iterator[LaneResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, name: str) -> LaneResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def counts(self) -> Mapping[LaneStatus, int]:
        return Counter(result.status for result in self.results)

    @property
    def status(self) -> LaneStatus:
        """ERRORED if anything broke, else FAILED if any lane did not pass, else PASSED."""
        statuses = {result.status for result in self.results}
        if LaneStatus.ERRORED in statuses:
            return LaneStatus.ERRORED
        if statuses - {LaneStatus.PASSED}:
            return LaneStatus.FAILED
        return LaneStatus.PASSED

    @property
    def waivers(self) -> tuple[WaiverStatus, ...]:
        """Every lane's waivers, in lane order."""
        return tuple(w for result in self.results for w in result.waivers)

    @property
    def result(self) -> str:
        """The run's verdict in words: never a plain "passed" when a waiver let a finding
        pass or the contract did not gate the tests."""
        if self.status is not LaneStatus.PASSED:
            return self.status.value
        waived = any(w.findings for w in self.waivers)
        if not self.gating:
            return "not gating, with waivers" if waived else "not gating"
        return "passed with waivers" if waived else "passed"

    @property
    def exit_code(self) -> int:
        """The CLI convention: 0 all passed, 1 a gate said no, 2 something broke."""
        return {LaneStatus.PASSED: 0, LaneStatus.FAILED: 1}.get(self.status, 2)
