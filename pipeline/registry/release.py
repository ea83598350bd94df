"""The release record: what one run published, as JSON beside the run's reports.

Written by the publish lane after every gate passed: each service's image by
digest and its attestation, the git revision, the contract's hash, every lane's
result and the run's timestamps. The file is written atomically (temporary file
then rename), so a reader never sees half a record.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.atomic import write_atomic
from pipeline.errors import PipelineError
from pipeline.registry.reference import require_digest

RECORD_VERSION = 1


class RecordedLane(BaseModel):
    """One lane's result as the release record keeps it (the run's own report has
    pipeline.report.run.summary.LaneSummary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    status: str  # e.g. "passed", "failed", "skipped"
    duration_seconds: float | None = None
    message: str = ""


class PublishedImage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    service: str
    reference: str  # repo@sha256:...
    digest: str
    attestation: str | None = None  # repo@sha256:... of the attestation artifact


class ReleaseRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = RECORD_VERSION
    run_id: str
    git_revision: str
    contract_sha256: str
    started_at: datetime
    finished_at: datetime
    images: list[PublishedImage]
    lanes: list[RecordedLane] = Field(default_factory=list)
    # Never plain "passed" when a waiver let a finding pass ("passed with waivers") or the
    # contract lanes did not gate the tests ("not gating"); see RunResult.result.
    result: str = "passed"
    gating: bool = True
    waivers: list[dict[str, Any]] = Field(default_factory=list)
    release: str | None = None             # the release id (releases.release_id)
    release_repository: str | None = None  # host/repo where the release is stored


def publish_record(
    path: str | os.PathLike[str],
    *,
    run_id: str,
    git_revision: str,
    contract_sha256: str,
    images: Mapping[str, str],
    lanes: Sequence[RecordedLane],
    started_at: datetime,
    finished_at: datetime | None = None,
    attestations: Mapping[str, str] | None = None,
    result: str = "passed",
    gating: bool = True,
    waivers: Sequence[Mapping[str, Any]] = (),
    release: str | None = None,
    release_repository: str | None = None,
) -> ReleaseRecord:
    """Build the record (images: service -> ``repo@sha256:...``) and write it to ``path``."""
    published = []
    for service, reference in sorted(images.items()):
        ref = require_digest(reference)
        published.append(PublishedImage(
            service=service, reference=str(ref), digest=ref.digest or "",
            attestation=(attestations or {}).get(service),
        ))
    record = ReleaseRecord(
        run_id=run_id, git_revision=git_revision, contract_sha256=contract_sha256,
        started_at=started_at, finished_at=finished_at or datetime.now(UTC),
        images=published, lanes=list(lanes), result=result, gating=gating,
        waivers=[dict(w) for w in waivers], release=release,
        release_repository=release_repository,
    )
    write_record(Path(path), record)
    return record


def write_record(path: Path, record: ReleaseRecord) -> None:
    try:
        write_atomic(path, record.model_dump_json(indent=2) + "\n")
    except OSError as exc:
        raise PipelineError(f"{path}: cannot write release record ({exc.strerror})") from exc

