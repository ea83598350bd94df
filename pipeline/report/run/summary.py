"""summary.json: the run as data, as pydantic models so that readers validate it on load.

Lane outputs may hold engine objects or sensitive strings: only scalars reach the
file, URL passwords are masked, and keys that name a secret are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.dag.graph import critical_path_of
from pipeline.dag.status import LaneResult, LaneStatus, RunResult
from pipeline.textsafe import portable

SCHEMA: Literal["pipeline/run-summary@1"] = "pipeline/run-summary@1"

Scalar = str | int | float | bool | None
# Key names that say "this is a credential": never write their values.
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|credential|api[-_]?key|private", re.I)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tests(_Model):
    total: int
    failures: int
    errors: int
    skipped: int


class WaiverSummary(_Model):
    """A contract waiver as the run applied it (pipeline.waivers.WaiverStatus)."""

    subject: str
    rule: str
    reason: str
    until: str | None = None
    expired: bool = False
    findings: int = 0


class LaneSummary(_Model):
    name: str
    kind: str
    needs: list[str]
    status: LaneStatus
    message: str
    skipped_because: str | None
    started: datetime | None
    finished: datetime | None
    duration_seconds: float
    waited_seconds: float = 0.0  # of the duration, waiting to probe alone (not on the critical path)
    outputs: dict[str, Scalar]
    findings: dict[str, int] | None
    tests: Tests | None
    files: list[str]  # copied into the reports directory, relative to it
    missing_files: list[str]  # declared by the lane but absent when reports were written
    waivers: list[WaiverSummary] = []


class CriticalPathSummary(_Model):
    lanes: list[str]
    duration_seconds: float


class RunSummary(_Model):
    # "schema" would shadow BaseModel.schema(); the JSON key stays "schema".
    schema_: Literal["pipeline/run-summary@1"] = Field(alias="schema")
    status: LaneStatus
    exit_code: int
    started: datetime | None
    finished: datetime | None
    duration_seconds: float
    counts: dict[str, int]
    critical_path: CriticalPathSummary
    lanes: list[LaneSummary]
    # "passed", "passed with waivers", "not gating"..., never plain "passed" when a waiver
    # let a finding pass or the contract lanes did not gate the tests (--keep-going).
    result: str = ""
    gating: bool = True
    waivers: list[WaiverSummary] = []

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> RunSummary:
        return cls.model_validate_json(text)


def public_outputs(outputs: Mapping[str, Any]) -> dict[str, Scalar]:
    """Scalars only (an engine object is named by its type), secrets never."""
    public: dict[str, Scalar] = {}
    for key, value in outputs.items():
        if _SECRET_KEY.search(key):
            public[key] = "<redacted>"
        elif isinstance(value, str):
            public[key] = portable(value)
        elif value is None or isinstance(value, bool | int | float):
            public[key] = value
        else:
            public[key] = f"<{type(value).__name__}>"
    return public


def lane_summary(
    result: LaneResult, *, files: list[str] | None = None, missing: list[str] | None = None,
) -> LaneSummary:
    tests = result.tests
    return LaneSummary(
        name=result.name,
        kind=result.kind,
        needs=list(result.needs),
        status=result.status,
        message=portable(result.message),
        skipped_because=result.skipped_because,
        started=result.started,
        finished=result.finished,
        duration_seconds=round(result.duration, 6),
        waited_seconds=round(result.waited, 6),
        outputs=public_outputs(result.outputs),
        findings=dict(result.findings) if result.findings is not None else None,
        tests=Tests(total=tests.total, failures=tests.failures, errors=tests.errors,
                    skipped=tests.skipped) if tests is not None else None,
        files=files or [],
        missing_files=missing or [],
        waivers=[WaiverSummary(**w.as_dict()) for w in result.waivers],
    )


def run_summary(
    results: RunResult | list[LaneResult],
    *,
    files: Mapping[str, list[str]] | None = None,
    missing: Mapping[str, list[str]] | None = None,
) -> RunSummary:
    """The summary of a run; ``files``/``missing`` map lane names to copied/absent reports."""
    run = RunResult.of(results)
    path = critical_path_of(run)
    files, missing = files or {}, missing or {}
    return RunSummary(
        schema=SCHEMA,
        status=run.status,
        exit_code=run.exit_code,
        started=run.started,
        finished=run.finished,
        duration_seconds=round(run.duration, 6),
        counts={status.value: count for status, count in run.counts.items()},
        critical_path=CriticalPathSummary(
            lanes=list(path.lanes), duration_seconds=round(path.duration, 6)),
        lanes=[
            lane_summary(result, files=files.get(result.name), missing=missing.get(result.name))
            for result in run
        ],
        result=run.result,
        gating=run.gating,
        waivers=[WaiverSummary(**w.as_dict()) for w in run.waivers],
    )
