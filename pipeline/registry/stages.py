"""Stages: a tag that deployments follow, plus an append-only history, both in the registry.

A stage ``staging`` of repository ``host/team/backend`` is the tag
``stage-staging`` there; the tag is the source of truth for what is deployed.

Its history is a set of events (`StageEvent`), each an immutable OCI artifact under
its own tag ``stage-staging.ev-<UTC time>-<op id>-<phase>`` (a stage holding one
digest: `DigestEvent`) or ``stage-staging.rel-...`` (a stage holding a release:
release_stages.ReleaseEvent). Why not one JSON list
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

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import InvalidStageName, StageEmpty
from pipeline.registry.artifact import artifact_manifest
from pipeline.registry.client import RegistryClient
from pipeline.registry.reference import parse_repository

EVENT_ARTIFACT_TYPE = "application/vnd.pipeline.stage-event.v1+json"
EVENT_ANNOTATION = "dev.pipeline.stage-event"
_STAGE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")

Action = Literal["promote", "rollback"]
Phase = Literal["intent", "done"]


def stage_tag(stage: str) -> str:
    """The tag a stage points with: ``staging`` -> ``stage-staging``."""
    if not _STAGE_NAME.match(stage):
        raise InvalidStageName(f"stage {stage!r}: expected lowercase letters, digits and '-'")
    return f"stage-{stage}"


class StageEvent(BaseModel):
    """One write-once event of a stage's history, stored under its own tag
    ``stage-<S>.<TAG_INFIX>-<UTC time>-<op id>-<phase>`` (``id`` groups an operation's
    intent and done). Each kind of stage declares its fields in a subclass."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    TAG_INFIX: ClassVar[str]
    if TYPE_CHECKING:  # every kind has these fields (declared there, in its own order)
        id: str
        phase: Phase
        stage: str
        at: datetime

    @property
    def tag(self) -> str:
        stamp = self.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return f"{stage_tag(self.stage)}.{self.TAG_INFIX}-{stamp}-{self.id[:12]}-{self.phase}"

    @classmethod
    def tag_prefix(cls, stage: str) -> str:
        """What every event tag of this kind on ``stage`` starts with."""
        return f"{stage_tag(stage)}.{cls.TAG_INFIX}-"


class DigestEvent(StageEvent):
    """One step of one promotion or rollback of a stage that holds one image digest."""

    TAG_INFIX: ClassVar[str] = "ev"
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


Event = TypeVar("Event", bound=StageEvent)


def new_operation_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


class Operation(BaseModel):
    """A digest stage's operation as the history shows it: its intent, and its done event."""

    model_config = ConfigDict(frozen=True)
    intent: DigestEvent | None
    done: DigestEvent | None

    @property
    def event(self) -> DigestEvent:
        return self.done or self.intent  # type: ignore[return-value]

    @property
    def status(self) -> str:
        return "completed" if self.done else "interrupted"


def write_event(client: RegistryClient, repository: str, event: StageEvent) -> None:
    """Store one event under its own, never-reused tag: an artifact with an empty config,
    no layers, the event JSON in one annotation (one small manifest to fetch per event)."""
    manifest = artifact_manifest(client, repository, EVENT_ARTIFACT_TYPE,
                                 annotations={EVENT_ANNOTATION: event.model_dump_json()})
    client.put_manifest(repository, event.tag, manifest)


def read_events(client: RegistryClient, repository: str, stage: str,
                kind: type[Event]) -> list[Event]:
    """Every event of ``kind`` on ``stage``, oldest first. Unreadable entries are skipped,
    not fatal: a tag someone else wrote under our prefix must not block promotions."""
    prefix = kind.tag_prefix(stage)
    found: list[Event] = []
    for tag in (t for t in client.list_tags(repository) if t.startswith(prefix)):
        manifest = client.get_manifest(repository, tag)
        try:
            raw = manifest.annotations().get(EVENT_ANNOTATION) if manifest else None
            if isinstance(raw, str):
                found.append(kind.model_validate_json(raw))
        except (ValueError, ValidationError):
            continue
    return sorted(found, key=lambda e: (e.at, e.id, e.phase == "done"))


def resolve_stage(
    client: RegistryClient, stage: str, repositories: Mapping[str, str]
) -> dict[str, str]:
    """service -> ``repo@digest`` the stage tag of each repository points at now."""
    tag = stage_tag(stage)
    pinned = {}
    for service, repository in repositories.items():
        repo = parse_repository(repository)
        digest = client.head_manifest(repo.repository, tag)
        if digest is None:
            raise StageEmpty(f"{repo}:{tag}: stage {stage} holds nothing for {service}")
        pinned[service] = str(repo.with_digest(digest))
    return pinned


def history(events: Iterable[DigestEvent]) -> list[Operation]:
    """Group events by operation, ordered by when each operation started."""
    intents: dict[str, DigestEvent] = {}
    dones: dict[str, DigestEvent] = {}
    for event in events:
        (intents if event.phase == "intent" else dones)[event.id] = event
    ids = sorted(set(intents) | set(dones), key=lambda i: ((intents.get(i) or dones[i]).at, i))
    return [Operation(intent=intents.get(i), done=dones.get(i)) for i in ids]


def deployed_stack(events: Iterable[DigestEvent]) -> list[str]:
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
