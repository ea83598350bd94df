"""`promote`, `rollback`, `history`: move stages between validated digests, show how they moved."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipeline.registry import signing, stages
from pipeline.registry.client import RegistryClient
from pipeline.registry.promotion import PromotionEvent, promote, rollback
from pipeline.registry.reference import parse_repository, require_digest


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("promote", help="point a stage at a validated image digest")
    p.add_argument("--image", required=True, help="REPO@sha256:... (tags are refused)")
    p.add_argument("--stage", required=True, help="stage name, e.g. staging")
    p.add_argument("--target-repository",
                   help="HOST/REPO to hold the stage (default: the image's)")
    _common(p)
    p.set_defaults(handler=_promote)

    r = subparsers.add_parser("rollback", help="point a stage back at its previous validated one")
    r.add_argument("--stage", required=True)
    r.add_argument("--repository", required=True, help="HOST/REPO holding the stage")
    _common(r)
    r.set_defaults(handler=_rollback)

    h = subparsers.add_parser("history", help="show a stage's promotions and rollbacks")
    h.add_argument("--stage", required=True)
    h.add_argument("--repository", required=True, help="HOST/REPO holding the stage")
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    h.set_defaults(handler=_history)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", help="why (recorded in the history and logs)")
    parser.add_argument("--public-key",
                        help=f"Ed25519 public key PEM (default: ${signing.PUBLIC_KEY_ENV})")
    parser.add_argument("--require-lane", action="append", default=[], metavar="LANE",
                        help="refuse unless the attestation says LANE passed (repeatable)")


def _promote(args: argparse.Namespace) -> int:
    image = require_digest(args.image)
    key = signing.public_key(args.public_key)
    with RegistryClient.for_reference(image) as client:
        event = promote(client, str(image), args.stage, key, args.reason,
                        required_lanes=args.require_lane, target_repository=args.target_repository)
    print(_summary(event))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    repo = parse_repository(args.repository)
    key = signing.public_key(args.public_key)
    with RegistryClient.for_reference(repo) as client:
        event = rollback(client, str(repo), args.stage, key, args.reason,
                         required_lanes=args.require_lane)
    print(_summary(event))
    return 0


def _history(args: argparse.Namespace) -> int:
    repo = parse_repository(args.repository)
    stages.stage_tag(args.stage)
    with RegistryClient.for_reference(repo) as client:
        entries = stages.history(stages.read_events(client, repo.repository, args.stage))
        current = client.head_manifest(repo.repository, stages.stage_tag(args.stage))
    if args.json:
        print(json.dumps({
            "stage": args.stage, "repository": str(repo), "current": current,
            "entries": [{"status": e.status, **e.event.model_dump(mode="json")} for e in entries],
        }, indent=2))
        return 0
    print(f"stage {args.stage} of {repo}: {current or '(never promoted)'}")
    for entry in entries:
        e = entry.event
        print(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.action:<8} {entry.status:<11} "
              f"{_short(e.from_digest)} -> {_short(e.digest)}  by {e.actor}"
              + (f"  ({e.reason})" if e.reason else ""))
    return 0


def _summary(event: PromotionEvent) -> str:
    if event.outcome == "unchanged":
        return f"{event.stage}: already at {event.reference} (unchanged)"
    origin = event.from_digest or "nothing"
    text = f"{event.stage}: {event.outcome} {event.reference} (from {origin})"
    if event.observed != event.digest:
        text += f"; a concurrent promotion won, stage now at {event.observed}"
    return text


def _short(digest: str | None) -> str:
    return digest[:19] if digest else "(none)"
