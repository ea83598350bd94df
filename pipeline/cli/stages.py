"""`promote`, `rollback`, `history`, `verify-stage`: move stages between validated releases
(or, for a one-service release, digests), verify what a stage holds, show how it moved."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli.options import add_source_options
from pipeline.errors import PipelineError
from pipeline.registry import deadline, keyenv
from pipeline.registry.policy import Policy
from pipeline.textsafe import printable_lines


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("promote", help="move a stage to a validated release (or digest)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--release", help="release id (rel-...), stored in --repository")
    what.add_argument("--image", help="REPO@sha256:... of a one-service release (tags are refused)")
    p.add_argument("--stage", required=True, help="stage name, e.g. staging")
    p.add_argument("--repository", help="with --release: HOST/REPO holding the releases")
    p.add_argument("--target-repository",
                   help="with --image: HOST/REPO to hold the stage (default: the image's)")
    _common(p)
    p.add_argument("--verify", action="store_true",
                   help="after the move, verify the stage (see verify-stage)")
    _verify_options(p)
    p.set_defaults(handler=_promote)

    r = subparsers.add_parser("rollback", help="move a stage back to its last verified release "
                                               "(or previous digest)")
    r.add_argument("--stage", required=True)
    r.add_argument("--repository", required=True,
                   help="HOST/REPO holding the stage (the releases, or one image's)")
    _common(r)
    r.set_defaults(handler=_rollback)

    h = subparsers.add_parser("history", help="show a stage's releases, moves and verifications")
    h.add_argument("--stage", required=True)
    h.add_argument("--repository", required=True, help="HOST/REPO holding the stage")
    h.add_argument("--json", action="store_true", help="print JSON instead of a table")
    deadline.add_argument(h)
    h.set_defaults(handler=_history)

    v = subparsers.add_parser("verify-stage",
                              help="start the stage's release by digest and test it")
    v.add_argument("--stage", required=True)
    v.add_argument("--repository", required=True, help="HOST/REPO holding the releases")
    v.add_argument("--reason", default="", help="why (recorded in the history and logs)")
    v.add_argument("--public-key",
                   help=f"Ed25519 public key PEM (default: ${keyenv.PUBLIC_KEY_ENV})")
    _verify_options(v)
    v.set_defaults(handler=_verify_stage)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", help="why (recorded in the history and logs)")
    parser.add_argument("--public-key",
                        help=f"Ed25519 public key PEM (default: ${keyenv.PUBLIC_KEY_ENV})")
    parser.add_argument("--require-lane", action="append", default=[], metavar="LANE",
                        help="refuse unless the attestation says LANE passed (repeatable)")
    parser.add_argument("--refuse-waivers", action="store_true",
                        help="refuse a validation that passed only thanks to a waiver, or whose "
                             "contract lanes did not gate its tests (--keep-going)")
    deadline.add_argument(parser)


def _policy(args: argparse.Namespace) -> Policy:
    return Policy(required_lanes=tuple(args.require_lane), refuse_waivers=args.refuse_waivers)


def _verify_options(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser, holding="the contract and the tests",
                       overlay="the stage's overlay over the contract, e.g. stages/staging.toml")
    parser.add_argument("--rollback-on-failure", action="store_true",
                        help="a failed verification moves the stage back to its last "
                             "verified release")
    parser.add_argument("--reports", type=Path, default=Path("reports"),
                        help="reports directory of the verification (default: ./reports)")


def _promote(args: argparse.Namespace) -> int:
    from pipeline.actions import promote_image, promote_release
    from pipeline.registry import signing

    key = signing.public_key(args.public_key)
    if args.image:
        if args.verify:
            raise PipelineError("--verify: verifies a release; use --release")
        print(printable_lines(promote_image(
            args.image, args.stage, key, args.reason, policy=_policy(args),
            target_repository=args.target_repository)))
        return 0
    if not args.repository:
        raise PipelineError("--release: needs --repository HOST/REPO (where releases are stored)")
    print(printable_lines(promote_release(args.release, args.repository, args.stage, key,
                                          args.reason, policy=_policy(args))),
          flush=True)
    return _run_verification(args, key) if args.verify else 0


def _rollback(args: argparse.Namespace) -> int:
    from pipeline.actions import rollback_any
    from pipeline.registry import signing

    key = signing.public_key(args.public_key)
    print(printable_lines(rollback_any(args.repository, args.stage, key, args.reason,
                                       policy=_policy(args))))
    return 0


def _history(args: argparse.Namespace) -> int:
    from pipeline.actions import stage_history

    # Reasons and actors come back from the registry: escaped before they reach a terminal.
    print(printable_lines(stage_history(args.repository, args.stage, as_json=args.json)))
    return 0


def _verify_stage(args: argparse.Namespace) -> int:
    from pipeline.registry import signing

    return _run_verification(args, signing.public_key(args.public_key))


def _run_verification(args: argparse.Namespace, key: Any) -> int:
    import anyio
    from dagger import dag

    from pipeline.engine import connection
    from pipeline.lanes.verify import VerifyOptions, verify_stage
    from pipeline.logs import configure_logging
    from pipeline.report.run import progress_printer
    from pipeline.validate import SOURCE_EXCLUDE

    configure_logging()
    source = args.source.resolve()
    if not source.is_dir():
        raise PipelineError(f"--source {args.source}: no such directory")
    options = VerifyOptions(repository=args.repository, stage=args.stage, public_key=key,
                            contract=args.contract, overlays=tuple(args.overlay),
                            rollback_on_failure=args.rollback_on_failure, reason=args.reason)

    async def main():
        async with connection(show_progress=False):
            directory = dag.host().directory(str(source), exclude=SOURCE_EXCLUDE)
            return await verify_stage(directory, options, reports=args.reports,
                                      local_root=source, on_event=progress_printer())

    # The engine run takes minutes: the command's registry deadline covers the promotion
    # before it, not the verification's own registry calls (its rollback included).
    with deadline.each_client_its_own():
        result = anyio.run(main)
    print(printable_lines(result.describe()))
    print(f"pipeline: reports in {result.reports.directory}", file=sys.stderr)
    return 0 if result.passed else 1
