"""`promote`, `rollback`, `history`: move stages between validated digests, show how they moved."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.actions import promote_image, rollback_stage, stage_history
from pipeline.registry import deadline, signing
from pipeline.textsafe import printable_lines


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
    deadline.add_argument(h)
    h.set_defaults(handler=_history)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", help="why (recorded in the history and logs)")
    parser.add_argument("--public-key",
                        help=f"Ed25519 public key PEM (default: ${signing.PUBLIC_KEY_ENV})")
    parser.add_argument("--require-lane", action="append", default=[], metavar="LANE",
                        help="refuse unless the attestation says LANE passed (repeatable)")
    deadline.add_argument(parser)


def _promote(args: argparse.Namespace) -> int:
    key = signing.public_key(args.public_key)
    print(printable_lines(promote_image(
        args.image, args.stage, key, args.reason, required_lanes=args.require_lane,
        target_repository=args.target_repository)))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    key = signing.public_key(args.public_key)
    print(printable_lines(rollback_stage(args.repository, args.stage, key, args.reason,
                                         required_lanes=args.require_lane)))
    return 0


def _history(args: argparse.Namespace) -> int:
    # Reasons and actors come back from the registry: escaped before they reach a terminal.
    print(printable_lines(stage_history(args.repository, args.stage, as_json=args.json)))
    return 0
