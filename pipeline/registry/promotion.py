"""Promote and roll back: point a stage at a validated digest, never at anything else.

Order of a promotion (each step can fail; none leaves a stage unvalidated):
  1. the reference must be ``repo@sha256:...`` (a tag is refused);
  2. the digest must exist in the registry (unknown is refused);
  3. its attestation must verify (signature, subject digest, no failed gate);
  4. an ``intent`` event is written to the stage history;
  5. the stage tag is PUT with the manifest's exact bytes (same digest, no layer
     moves; another repository gets blobs by cross-repository mount);
  6. the tag is read back and a ``done`` event records what it holds.
Repeating a completed promotion changes nothing and writes nothing. A promotion
cut between 4 and 6 is retried from the start: verification runs again before
the tag moves, so the stage only ever points at a digest that passed step 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.errors import InvalidReference, PromotionRefused, StageEmpty
from pipeline.registry import events, stages
from pipeline.registry.attestation import attestation_tag, verify_attestation
from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import Manifest
from pipeline.registry.policy import DEFAULT_POLICY, Policy
from pipeline.registry.reference import ImageReference, parse_repository, require_digest
from pipeline.registry.transfer import mount_manifest


@dataclass(frozen=True, slots=True)
class DigestMove:
    """The outcome of one promote/rollback of a digest stage (also what is logged)."""

    action: stages.Action
    outcome: str  # "promoted", "rolled-back" or "unchanged"
    stage: str
    repository: str
    digest: str
    from_digest: str | None
    observed: str | None
    actor: str
    reason: str
    operation: str | None
    at: datetime

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"


def promote(
    client: RegistryClient, image_ref: str, stage: str, public_key: Ed25519PublicKey,
    reason: str = "", *, policy: Policy = DEFAULT_POLICY, target_repository: str | None = None,
) -> DigestMove:
    """Point ``stage`` (in the image's repository, or ``target_repository``) at ``image_ref``."""
    image = require_digest(image_ref)
    _same_host(client, image)
    tag = stages.stage_tag(stage)
    target = parse_repository(target_repository) if target_repository else image
    _same_host(client, target)
    manifest = _validated(client, image, public_key, policy,
                          unknown="unknown digest, no such manifest in the registry")
    if target.repository != image.repository:
        _carry_attestation(client, image, manifest, target.repository)
    return _move(client, "promote", target, stage, tag, manifest, reason)


def rollback(
    client: RegistryClient, repository: str, stage: str, public_key: Ed25519PublicKey,
    reason: str = "", *, policy: Policy = DEFAULT_POLICY,
) -> DigestMove:
    """Point ``stage`` back at the validated digest it held before the current one."""
    repo = parse_repository(repository)
    _same_host(client, repo)
    tag = stages.stage_tag(stage)
    current = client.head_manifest(repo.repository, tag)
    if current is None:
        raise StageEmpty(f"{repo}:{tag}: stage {stage} has never been promoted")
    previous = stages.previous_digest(_deployed(client, repo, stage), current)
    if previous is None:
        raise PromotionRefused(f"{repo}:{tag}: no previous digest in the stage history")
    manifest = _validated(client, repo.with_digest(previous), public_key, policy,
                          unknown="previous digest is no longer in the registry")
    return _move(client, "rollback", repo, stage, tag, manifest, reason)


def _validated(client: RegistryClient, image: ImageReference, public_key: Ed25519PublicKey,
               policy: Policy, *, unknown: str) -> Manifest:
    """Steps 2-3: the manifest of ``image`` once its attestation verified, and only if it
    may move alone; PromotionRefused (``unknown`` when the registry lacks it) otherwise."""
    manifest = client.get_manifest(image.repository, image.digest or "")
    if manifest is None:
        raise PromotionRefused(f"{image}: {unknown}")
    statement = verify_attestation(client, image, public_key, policy=policy)
    # A digest published in a multi-service release moves with its release, never alone:
    # a stage would otherwise hold a pair no lane ever tested together.
    together = statement.predicate.release_services
    if len(together) > 1:
        raise PromotionRefused(
            f"{image}: part of release {statement.predicate.release} ({', '.join(together)}); "
            "promote the release (promote --release), not one image")
    return manifest


def _deployed(client: RegistryClient, repo: ImageReference, stage: str) -> list[str]:
    return stages.deployed_stack(stages.read_events(client, repo.repository, stage,
                                                    stages.DigestEvent))


def _move(
    client: RegistryClient, action: stages.Action, repo: ImageReference, stage: str, tag: str,
    manifest: Manifest, reason: str,
) -> DigestMove:
    """Steps 4-6: intent, move the tag, read back, done."""
    current = client.head_manifest(repo.repository, tag)
    who = events.actor()
    # Already there? Only then is the history read (it grows; a promotion should not):
    # "unchanged" needs a completed record too, else this finishes an interrupted one.
    if current == manifest.digest and _deployed(client, repo, stage)[-1:] == [current]:
        result = DigestMove(
            action, "unchanged", stage, repo.name, manifest.digest, current, current, who,
            reason, None, stages.now(),
        )
        _log(result)
        return result
    common = dict(
        id=stages.new_operation_id(), action=action, stage=stage, repository=repo.name,
        digest=manifest.digest, from_digest=current, actor=who, reason=reason,
        attestation=attestation_tag(manifest.digest),
    )
    stages.write_event(client, repo.repository, stages.DigestEvent(
        phase="intent", at=stages.now(), **common))
    client.put_manifest(repo.repository, tag, manifest)
    observed = client.head_manifest(repo.repository, tag)
    done = stages.DigestEvent(phase="done", at=stages.now(), observed=observed, **common)
    stages.write_event(client, repo.repository, done)
    result = DigestMove(
        action, "promoted" if action == "promote" else "rolled-back", stage, repo.name,
        manifest.digest, current, observed, who, reason, done.id, done.at,
    )
    _log(result)
    return result


def _carry_attestation(
    client: RegistryClient, image: ImageReference, manifest: Manifest, target: str
) -> None:
    """Mount the image (``manifest``, already fetched) and its attestation into ``target`` so
    the stage there stands alone (rollback there verifies the attestation it finds there)."""
    attestation = client.get_manifest(image.repository, attestation_tag(image.digest or ""))
    if attestation is None:
        raise PromotionRefused(f"{image}: attestation vanished while being promoted")
    mount_manifest(client, manifest, image.repository, target)
    mount_manifest(client, attestation, image.repository, target)
    client.put_manifest(target, attestation_tag(image.digest or ""), attestation)


def _same_host(client: RegistryClient, ref: ImageReference) -> None:
    if ref.host != client.host:
        raise InvalidReference(f"{ref}: registry {ref.host} is not this client's ({client.host})")


def _log(event: DigestMove) -> None:
    events.emit(
        "promotion" if event.action == "promote" else "rollback",
        outcome=event.outcome, stage=event.stage, repository=event.repository,
        to_digest=event.digest, from_digest=event.from_digest, observed=event.observed,
        actor=event.actor, reason=event.reason, operation=event.operation,
    )
