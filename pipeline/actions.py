"""Promotion actions as the user calls them: one function each, shared by the CLI
(`pipeline promote|rollback|history`) and the Dagger module's functions.

Each returns the line(s) to print; refusals raise PromotionRefused (exit 1),
bad input and registry trouble raise other PipelineErrors (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.registry import stages
from pipeline.registry.client import Credentials, RegistryClient
from pipeline.registry.promotion import PromotionEvent, promote, rollback
from pipeline.registry.reference import parse_repository, require_digest
from pipeline.registry.signing import load_public_key


def _key(key: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else load_public_key(key, source="public key")


def promote_image(image: str, stage: str, public_key: Ed25519PublicKey | bytes, reason: str = "",
                  *, required_lanes: Sequence[str] = (), target_repository: str | None = None,
                  credentials: Credentials | None = None) -> str:
    """Point `stage` at the validated digest `image` (REPO@sha256:...)."""
    ref = require_digest(image)
    with RegistryClient.for_reference(ref, credentials=credentials) as client:
        event = promote(client, str(ref), stage, _key(public_key), reason,
                        required_lanes=required_lanes, target_repository=target_repository)
    return describe(event)


def rollback_stage(repository: str, stage: str, public_key: Ed25519PublicKey | bytes,
                   reason: str = "", *, required_lanes: Sequence[str] = (),
                   credentials: Credentials | None = None) -> str:
    """Point `stage` of `repository` back at its previous validated digest."""
    repo = parse_repository(repository)
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        event = rollback(client, str(repo), stage, _key(public_key), reason,
                         required_lanes=required_lanes)
    return describe(event)


def stage_history(repository: str, stage: str, *, as_json: bool = False,
                  credentials: Credentials | None = None) -> str:
    """The stage's current digest and its promotions and rollbacks, oldest first."""
    repo = parse_repository(repository)
    tag = stages.stage_tag(stage)  # validates the stage name before any request
    with RegistryClient.for_reference(repo, credentials=credentials) as client:
        entries = stages.history(stages.read_events(client, repo.repository, stage))
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


def describe(event: PromotionEvent) -> str:
    if event.outcome == "unchanged":
        return f"{event.stage}: already at {event.reference} (unchanged)"
    origin = event.from_digest or "nothing"
    text = f"{event.stage}: {event.outcome} {event.reference} (from {origin})"
    if event.observed != event.digest:
        text += f"; a concurrent promotion won, stage now at {event.observed}"
    return text


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "(none)"
