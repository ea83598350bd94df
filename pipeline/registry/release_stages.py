"""A stage holding a release: moves (promote, rollback), verification results, history.

Where the truth is: the release repository's tag ``stage-<S>`` points at the release
manifest the stage holds. That one tag PUT is the commit point of a move. Each
service repository also gets its own ``stage-<S>`` tag (what a plain ``docker pull``
of the stage gives), written *before* the commit, so once a release is recorded all
its images are in place.

Order of a move (each step can fail; a retry runs them all again):
  1. the release is verified as a whole (releases.verify_release);
  2. an ``intent`` event is written;
  3. every service's stage tag is PUT with its validated manifest, byte for byte;
  4. the release repository's stage tag is PUT: the stage now holds the release;
  5. convergence: the recorded release is read back and every service tag set to its
     digests again, until a read after that finds the record unchanged (so two
     concurrent moves end with the service tags of whichever release was recorded
     last, whole);
  6. a ``done`` event records the release observed.
Readers (render, history, verification) read the record (step 4) and take every
digest from the release it names, never from the service tags, so they see one
release or the other, never a mix. During a move, only the service tags can be
seen mixed (between steps 3 and 5).

Events are stage events (stages.StageEvent, written once by stages.write_event) under
``stage-<S>.rel-<UTC time>-<op id>-<phase>``, and each is also one JSON log line
(events.emit_to_log).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.errors import PromotionRefused, RegistryError, StageEmpty
from pipeline.registry import events, stages
from pipeline.registry.client import RegistryClient
from pipeline.registry.policy import DEFAULT_POLICY, Policy
from pipeline.registry.reference import ImageReference
from pipeline.registry.releases import Release, read_release_manifest, verify_release

ReleaseAction = Literal["promote", "rollback", "verify"]
_CONVERGE_ROUNDS = 8


class ReleaseEvent(stages.StageEvent):
    """One step of a move (intent/done), or one verification result (done only), of a
    stage that holds a release."""

    TAG_INFIX: ClassVar[str] = "rel"
    id: str
    phase: stages.Phase
    action: ReleaseAction
    stage: str
    release: str
    from_release: str | None = None
    observed: str | None = None  # moves: the release recorded right after ours
    passed: bool | None = None   # verifications
    details: list[str] = []      # verifications: what failed, one line each
    actor: str
    reason: str = ""
    at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseMove:
    """The outcome of one move (promote or rollback) of a release stage."""

    action: ReleaseAction
    outcome: str  # "promoted", "rolled-back", "unchanged"
    stage: str
    release: str
    from_release: str | None
    observed: str | None
    operation: str | None

    def describe(self) -> str:
        if self.outcome == "unchanged":
            return f"{self.stage}: already holds release {self.release} (unchanged)"
        text = (f"{self.stage}: {self.outcome} release {self.release} "
                f"(from {self.from_release or 'nothing'})")
        if self.observed != self.release:
            text += f"; a concurrent promotion won, stage now holds {self.observed}"
        return text


def write_event(client: RegistryClient, repository: str, event: ReleaseEvent) -> None:
    """Store the event (stages.write_event) and append it to the event log."""
    stages.write_event(client, repository, event)
    events.emit_to_log(f"stage.{event.action}", **event.model_dump(mode="json", exclude={"at"}),
                       event_at=event.at.isoformat())


def read_events(client: RegistryClient, repository: str, stage: str) -> list[ReleaseEvent]:
    """Every release event of ``stage``, oldest first (unreadable ones skipped)."""
    return stages.read_events(client, repository, stage, ReleaseEvent)


def held_release(client: RegistryClient, repository: str, stage: str) -> Release | None:
    """The release the stage records (one consistent set of digests), or None."""
    tag = stages.stage_tag(stage)
    manifest = client.get_manifest(repository, tag)
    if manifest is None:
        return None
    return read_release_manifest(manifest, f"{client.host}/{repository}:{tag}")


def promote_release(
    client: RegistryClient, repository: ImageReference, rid: str, stage: str,
    public_key: Ed25519PublicKey, reason: str = "", *, policy: Policy = DEFAULT_POLICY,
    action: ReleaseAction = "promote",
) -> ReleaseMove:
    """Move every service of ``stage`` to release ``rid`` of ``repository`` (host/repo)."""
    if repository.host != client.host:
        raise PromotionRefused(f"{repository}: not on this client's registry ({client.host})")
    repo = repository.repository
    tag = stages.stage_tag(stage)
    release, images, manifest = verify_release(client, repo, rid, public_key,
                                               policy=policy)
    current = held_release(client, repo, stage)
    if (current is not None and current.id == rid and _services_at(client, release, tag)
            and _last_move(read_events(client, repo, stage)) == rid):
        result = ReleaseMove(action, "unchanged", stage, rid, rid, rid, None)
        events.emit_to_log("stage.unchanged", stage=stage, release=rid, actor=events.actor(),
                           reason=reason)
        return result
    op = stages.new_operation_id()
    common = dict(id=op, action=action, stage=stage, release=rid,
                  from_release=current.id if current else None, actor=events.actor(),
                  reason=reason)
    write_event(client, repo, ReleaseEvent(phase="intent", at=stages.now(), **common))
    for name in sorted(images):
        client.put_manifest(release.services[name].image.repository, tag, images[name])
    client.put_manifest(repo, tag, manifest)  # the commit point
    observed = _converge(client, repo, stage, public_key, release)
    write_event(client, repo, ReleaseEvent(phase="done", at=stages.now(), observed=observed,
                                           **common))
    outcome = "promoted" if action == "promote" else "rolled-back"
    return ReleaseMove(action, outcome, stage, rid, common["from_release"], observed, op)  # type: ignore[arg-type]


def rollback_release(
    client: RegistryClient, repository: ImageReference, stage: str,
    public_key: Ed25519PublicKey, reason: str = "", *, policy: Policy = DEFAULT_POLICY,
) -> ReleaseMove:
    """Move the stage back to the last verified release before the current one (or, if
    none was ever verified, the release it held before)."""
    current = held_release(client, repository.repository, stage)
    if current is None:
        raise StageEmpty(f"{repository}: stage {stage} holds no release")
    target = rollback_target(read_events(client, repository.repository, stage), current.id)
    if target is None:
        raise PromotionRefused(f"{repository}: stage {stage} has no earlier release to return to")
    return promote_release(client, repository, target, stage, public_key, reason,
                           policy=policy, action="rollback")


def record_verification(
    client: RegistryClient, repository: ImageReference, stage: str, rid: str, passed: bool,
    details: Sequence[str], reason: str = "",
) -> ReleaseEvent:
    event = ReleaseEvent(id=stages.new_operation_id(), phase="done", action="verify", stage=stage,
                         release=rid, passed=passed, details=list(details),
                         actor=events.actor(), reason=reason, at=stages.now())
    write_event(client, repository.repository, event)
    return event


def rollback_target(history: Iterable[ReleaseEvent], current: str) -> str | None:
    """The last release verified on this stage, other than ``current``; failing that,
    the release the stage held before ``current`` was last moved in."""
    verified: list[str] = []
    moved: list[str] = []
    for event in history:
        if event.action == "verify" and event.passed:
            verified.append(event.release)
        elif event.action != "verify" and event.phase == "done":
            moved.append(event.release)
    for rid in reversed(verified):
        if rid != current:
            return rid
    if current in moved:
        moved = moved[:len(moved) - moved[::-1].index(current) - 1]
    return next((rid for rid in reversed(moved) if rid != current), None)


def _last_move(history: Iterable[ReleaseEvent]) -> str | None:
    done = [e for e in history if e.action != "verify" and e.phase == "done"]
    return done[-1].observed if done else None


def _services_at(client: RegistryClient, release: Release, tag: str) -> bool:
    return all(client.head_manifest(s.image.repository, tag) == s.digest
               for s in release.services.values())


def _converge(client: RegistryClient, repo: str, stage: str, public_key: Ed25519PublicKey,
              ours: Release) -> str:
    """Set every service tag to the recorded release until the record stays put; the
    release id observed. Another release found recorded is verified before following it."""
    tag = stages.stage_tag(stage)
    for _ in range(_CONVERGE_ROUNDS):
        held = held_release(client, repo, stage)
        if held is None:
            raise RegistryError(f"{client.host}/{repo}:{tag}: stage record vanished during a move")
        if held.id != ours.id:
            held, _, _ = verify_release(client, repo, held.id, public_key)
        for service in held.services.values():
            image = service.image
            if client.head_manifest(image.repository, tag) != service.digest:
                manifest = client.get_manifest(image.repository, service.digest)
                if manifest is None:
                    raise RegistryError(f"{service.reference}: vanished during a move")
                client.put_manifest(image.repository, tag, manifest)
        again = held_release(client, repo, stage)
        if again is not None and again.id == held.id:
            return held.id
    raise RegistryError(f"{client.host}/{repo}:{tag}: stage kept moving under concurrent moves")

