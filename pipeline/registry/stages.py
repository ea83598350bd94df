"""Stages: a tag that deployments follow, plus an append-only history, both in the registry.

A stage ``staging`` of repository ``host/team/backend`` is the tag
``stage-staging`` there; the tag is the source of truth for what is deployed.

Its history is a set of events, each an immutable OCI artifact under its own
tag ``stage-staging.ev-<UTC time>-<op id>-<phase>``. Why not one JSON list
under one tag, updated read-append-write? Distribution 2.8 has no conditional
PUT (no If-Match on manifests), so two writers that read the same list each
write "list + mine" and the second silently drops the first's event, even
after the first re-read and saw its event. Tags that are written once and never
overwritten cannot lose an event, with no lock and no retry loop; reading the
history is "list tags, fetch each event" (one small manifest each).

Every promotion writes an ``intent`` event before moving the stage tag and a
``done`` event after, so a promotion interrupted between the two (the registry
died) shows in the history as ``interrupted``; the retry writes its own pair.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import InvalidReference
from pipeline.registry.client import OCI_MANIFEST, Manifest, RegistryClient

EVENT_ARTIFACT_TYPE = "application/vnd.pipeline.stage-event.v1+json"
EVENT_ANNOTATION = "dev.pipeline.stage-event"
_STAGE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")

Action = Literal["promote", "rollback"]
Phase = Literal["intent", "done"]


def stage_tag(stage: str) -> str:
    """The tag a stage points with: ``staging`` -> ``stage-staging``."""
    if not _STAGE_NAME.match(stage):
        raise InvalidReference(f"stage {stage!r}: expected lowercase letters, digits and '-'")
    return f"stage-{stage}"


class StageEvent(BaseModel):
    """One step of one promotion or rollback (``id`` groups its intent and done)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    phase: Phase
    action: Action
    stage: str
    repository: str
    digest: str
    from_digest: str | None = None
    observed: str | None = None  # what the stage tag held right after our write (done only)
    attestation: str | None = None
    actor: str
    reason: str = ""
    at: datetime

    @property
    def tag(self) -> str:
        stamp = self.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return f"{stage_tag(self.stage)}.ev-{stamp}-{self.id[:12]}-{self.phase}"


def new_operation_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


class HistoryEntry(BaseModel):
    """An operation as the history shows it: its intent, and its done event if any."""

    model_config = ConfigDict(frozen=True)
    intent: StageEvent | None
    done: StageEvent | None

    @property
    def event(self) -> StageEvent:
        return self.done or self.intent  # type: ignore[return-value]

    @property
    def status(self) -> str:
        return "completed" if self.done else "interrupted"


def write_event(client: RegistryClient, repository: str, event: StageEvent) -> None:
    """Store one event under its own, never-reused tag."""
    put_event_artifact(client, repository, event.tag, event.model_dump_json())


def read_events(client: RegistryClient, repository: str, stage: str) -> list[StageEvent]:
    """Every event of a stage, oldest first. Unreadable entries are skipped, not fatal:
    a tag someone else wrote under our prefix must not block promotions."""
    events: list[StageEvent] = []
    for raw in read_event_payloads(client, repository, f"{stage_tag(stage)}.ev-"):
        try:
            events.append(StageEvent.model_validate_json(raw))
        except (ValueError, ValidationError):
            continue
    return sorted(events, key=lambda e: (e.at, e.id, e.phase == "done"))


def put_event_artifact(client: RegistryClient, repository: str, tag: str, payload: str) -> None:
    """An event artifact: empty config, no layers, the event JSON in one annotation (one
    small manifest to fetch per event), under a tag written once."""
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": EVENT_ARTIFACT_TYPE,
        "config": client.empty_config(repository),
        "layers": [],
        "annotations": {EVENT_ANNOTATION: payload},
    }
    manifest = Manifest.from_bytes(json.dumps(doc, sort_keys=True).encode(), OCI_MANIFEST)
    client.put_manifest(repository, tag, manifest)


def read_event_payloads(client: RegistryClient, repository: str, prefix: str) -> list[str]:
    """The annotation JSON of every event artifact whose tag starts with ``prefix``."""
    payloads = []
    for tag in (t for t in client.list_tags(repository) if t.startswith(prefix)):
        manifest = client.get_manifest(repository, tag)
        if manifest is None:
            continue
        try:
            raw = manifest.annotations().get(EVENT_ANNOTATION)
        except ValueError:
            continue
        if isinstance(raw, str):
            payloads.append(raw)
    return payloads


def history(events: Iterable[StageEvent]) -> list[HistoryEntry]:
    """Group events by operation, ordered by when each operation started."""
    intents: dict[str, StageEvent] = {}
    dones: dict[str, StageEvent] = {}
    for event in events:
        (intents if event.phase == "intent" else dones)[event.id] = event
    ids = sorted(set(intents) | set(dones), key=lambda i: ((intents.get(i) or dones[i]).at, i))
    return [HistoryEntry(intent=intents.get(i), done=dones.get(i)) for i in ids]


def deployed_stack(events: Iterable[StageEvent]) -> list[str]:
    """Replay completed operations into the stack of digests the stage went through.

    A promotion pushes its digest (unless it is already on top); a rollback
    returns to its digest's last position, so repeated rollbacks walk back.
    """
    stack: list[str] = []
    for event in events:
        if event.phase != "done":
            continue
        if event.action == "rollback" and event.digest in stack:
            del stack[len(stack) - stack[::-1].index(event.digest):]
        elif not stack or stack[-1] != event.digest:
            stack.append(event.digest)
    return stack


def previous_digest(stack: Sequence[str], current: str) -> str | None:
    """The digest before ``current``'s last position in the stack (rollback's target)."""
    if current not in stack:
        return stack[-1] if stack else None
    position = len(stack) - 1 - stack[::-1].index(current)
    for digest in reversed(stack[:position]):
        if digest != current:
            return digest
    return None
