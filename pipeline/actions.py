"""Promotion actions as the user calls them: one function each, shared by the CLI
(`pipeline promote|rollback|history`) and the Dagger module's functions.

Each returns the line(s) to print; refusals raise PromotionRefused (exit 1),
bad input and registry trouble raise other PipelineErrors (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.dag.messages import one_line
from pipeline.deploy.files import ServiceImage, write_deploy_files
from pipeline.errors import PromotionRefused, StageEmpty
from pipeline.registry import release_stages, stages
from pipeline.registry.client import RegistryClient
from pipeline.registry.credentials import Credentials
from pipeline.registry.policy import DEFAULT_POLICY, Policy
from pipeline.registry.promotion import DigestMove, promote, rollback
from pipeline.registry.reference import ImageReference, parse_repository, require_digest
from pipeline.registry.releases import RELEASE_ARTIFACT_TYPE, load_release, require_release_id
from pipeline.registry.signing import load_public_key
from pipeline.textsafe import printable


def _key(key: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else load_public_key(key, source="public key")


def promote_image(image: str, stage: str, public_key: Ed25519PublicKey | bytes, reason: str = "",
                  *, policy: Policy = DEFAULT_POLICY, target_repository: str | None = None,
                  credentials: Credentials | None = None) -> str:
    """Point `stage` at the validated digest `image` (REPO@sha256:...)."""
    ref = require_digest(image)
    with RegistryClient.for_reference(ref, credentials=credentials) as client:
        event = promote(client, str(ref), stage, _key(public_key), reason,
                        policy=policy, target_repository=target_repository)
    return describe(event)


def rollback_stage(repository: str, stage: str, public_key: Ed25519PublicKey | bytes,
                   reason: str = "", *, policy: Policy = DEFAULT_POLICY,
                   credentials: Credentials | None = None) -> str:
    """Point `stage` of `repository` back at its previous validated digest."""
    repo = parse_repository(repository)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        event = rollback(client, str(repo), stage, _key(public_key), reason,
                         policy=policy)
    return describe(event)


def stage_history(repository: str, stage: str, *, as_json: bool = False,
                  credentials: Credentials | None = None) -> str:
    """The stage's current digest and its promotions and rollbacks, oldest first."""
    repo = parse_repository(repository)
    tag = stages.stage_tag(stage)  # validates the stage name before any request
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        if is_release_repository(client, repo.repository, stage):
            return release_history(client, repo, stage, as_json=as_json)
        entries = stages.history(stages.read_events(client, repo.repository, stage,
                                                    stages.DigestEvent))
        current = client.head_manifest(repo.repository, tag)
    if as_json:
        return json.dumps({
            "stage": stage, "repository": str(repo), "current": current,
            "entries": [{"status": e.status, **e.event.model_dump(mode="json")} for e in entries],
        }, indent=2)
    lines = [f"stage {stage} of {repo}: {current or '(never promoted)'}"]
    for entry in entries:
        e = entry.event
        lines.append(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.action:<8} {entry.status:<11} "
                     f"{_short(e.from_digest)} -> {_short(e.digest)}  by {e.actor}"
                     + (f"  ({e.reason})" if e.reason else ""))
    return "\n".join(lines)


def describe(event: DigestMove) -> str:
    if event.outcome == "unchanged":
        return f"{event.stage}: already at {event.reference} (unchanged)"
    origin = event.from_digest or "nothing"
    text = f"{event.stage}: {event.outcome} {event.reference} (from {origin})"
    if event.observed != event.digest:
        text += f"; a concurrent promotion won, stage now at {event.observed}"
    return text


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "(none)"


# --- Releases: a stage holding one release, moved and read as a whole ---------------------


def promote_release(release: str, repository: str, stage: str,
                    public_key: Ed25519PublicKey | bytes, reason: str = "", *,
                    policy: Policy = DEFAULT_POLICY,
                    credentials: Credentials | None = None) -> str:
    """Move every service of `stage` to release `release` of the release repository."""
    repo = parse_repository(repository)
    require_release_id(release)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        result = release_stages.promote_release(client, repo, release, stage, _key(public_key),
                                                reason, policy=policy)
    return result.describe()


def rollback_release(repository: str, stage: str, public_key: Ed25519PublicKey | bytes,
                     reason: str = "", *, policy: Policy = DEFAULT_POLICY,
                     credentials: Credentials | None = None) -> str:
    """Move `stage` back to its last verified release (or the one it held before)."""
    repo = parse_repository(repository)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        result = release_stages.rollback_release(client, repo, stage, _key(public_key), reason,
                                                 policy=policy)
    return result.describe()


def is_release_repository(client: RegistryClient, repository: str, stage: str) -> bool:
    """Does ``repository`` hold releases for ``stage`` (rather than one image's stage)?"""
    held = client.get_manifest(repository, stages.stage_tag(stage))
    if held is not None:
        doc = held.json()
        return isinstance(doc, dict) and doc.get("artifactType") == RELEASE_ARTIFACT_TYPE
    return any(t.startswith(f"{stages.stage_tag(stage)}.rel-") for t in client.list_tags(repository))


def release_history(client: RegistryClient, repo: ImageReference, stage: str, *,
                    as_json: bool = False) -> str:
    """The release a stage holds, then its moves and verifications: who, when, why."""
    events = release_stages.read_events(client, repo.repository, stage)
    held = release_stages.held_release(client, repo.repository, stage)
    ids = {e.release for e in events} | {e.from_release for e in events if e.from_release}
    releases = {}
    for rid in sorted(ids):
        try:
            releases[rid] = load_release(client, repo.repository, rid)[0]
        except PromotionRefused:
            continue  # deleted or unreadable: the events still say what happened
    entries = _release_entries(events)
    if as_json:
        return json.dumps({
            "stage": stage, "repository": str(repo), "release": held.id if held else None,
            "services": {n: s.reference for n, s in held.services.items()} if held else {},
            "entries": entries,
            "releases": {rid: r.model_dump(mode="json") for rid, r in releases.items()},
        }, indent=2)
    lines = [f"stage {stage} of {repo}: release {held.id if held else '(none)'}"]
    if held:
        lines += [f"  {name}: {s.reference}" for name, s in sorted(held.services.items())]
    for entry in entries:
        if entry["action"] == "verify":
            what = f"{entry['release']}  {entry['status']}"
        else:
            what = f"{entry['from_release'] or '(none)'} -> {entry['release']}"
        line = (f"{entry['at'][:19].replace('T', ' ')}Z  {entry['action']:<8} "
                f"{entry['status']:<11} {what}  by {_printable(entry['actor'])}")
        if entry["reason"]:
            line += f"  ({_printable(entry['reason'])})"
        lines.append(line)
        lines += [f"      {_printable(detail)}" for detail in entry["details"]]
    return "\n".join(lines)


def _printable(text: str) -> str:
    """Anyone with push rights writes events: one line, secrets masked, no control
    characters reach the terminal (pipeline.textsafe, as every other output)."""
    return printable(one_line(text))


def _release_entries(events: Sequence[release_stages.ReleaseEvent]) -> list[dict]:
    """One entry per operation: a move is completed (done) or interrupted (intent only)."""
    by_op: dict[str, dict] = {}
    for event in events:
        status = "completed" if event.phase == "done" else "interrupted"
        if event.action == "verify":
            status = "passed" if event.passed else "failed"
        by_op[event.id] = {"status": status, **event.model_dump(mode="json")}
    return sorted(by_op.values(), key=lambda e: e["at"])


def write_release_deploy_files(repository: str, stage: str, out: str | Path, *,
                               credentials: Credentials | None = None) -> list[Path]:
    """Write compose and Kubernetes files for the whole release `stage` holds."""
    repo = parse_repository(repository)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        held = release_stages.held_release(client, repo.repository, stage)
    if held is None:
        raise StageEmpty(f"{repo}: stage {stage} holds no release")
    services = [ServiceImage(name, s.reference, s.port) for name, s in sorted(held.services.items())]
    return write_deploy_files(Path(out), stage, services, release=held.id)


def rollback_any(repository: str, stage: str, public_key: Ed25519PublicKey | bytes,
                 reason: str = "", *, policy: Policy = DEFAULT_POLICY,
                 credentials: Credentials | None = None) -> str:
    """Roll back a stage held as a release (in a releases repository) or as one image."""
    repo = parse_repository(repository)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        releases = is_release_repository(client, repo.repository, stage)
    if releases:
        return rollback_release(repository, stage, public_key, reason, policy=policy,
                                credentials=credentials)
    return rollback_stage(repository, stage, public_key, reason, policy=policy,
                          credentials=credentials)
