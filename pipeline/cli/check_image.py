"""`pipeline check-image IMAGE.tar --contract pipeline.toml --service NAME`: static checks.

Runs without Dagger. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.findings import Severity


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check-image", help="check an image tarball against its service's contract",
        description="Static checks of an OCI/docker-save image tarball against pipeline.toml.")
    parser.add_argument("image", type=Path, help="image tarball (OCI layout or docker save)")
    parser.add_argument("--contract", type=Path, default=Path("pipeline.toml"),
                        help="contract file (default: ./pipeline.toml)")
    parser.add_argument("--overlay", type=Path, action="append", default=[],
                        help="contract overlay merged over the contract (repeatable)")
    parser.add_argument("--service", required=True, help="service name in the contract")
    parser.add_argument("--context", type=Path, default=None,
                        help="build context (default: the service's context, if it exists)")
    parser.add_argument("--fail-on", default="high", type=_severity,
                        help="lowest failing severity: info, low, medium, high, critical "
                             "(default: high)")
    parser.add_argument("--format", default="text",
                        choices=("text", "json", "junit", "sarif", "markdown"),
                        help="what to print on stdout (default: text)")
    parser.add_argument("--base", default=None, metavar="REF|auto",
                        help="the final stage's base image (HOST/REPO:TAG), or `auto` for the "
                             "Dockerfile's FROM: its layers are fetched from its registry and "
                             "findings in them say `inherited from <base>`")
    parser.add_argument("--hide-inherited", action="store_true",
                        help="leave out findings inherited from the base image (needs --base)")
    parser.add_argument("--reports", type=Path, default=None,
                        help="also write every report format into this directory")
    parser.set_defaults(handler=run)


def _severity(text: str) -> Severity:
    from pipeline.findings import Severity

    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from pipeline.image.view import prefetch_digests

    # The image's layer digests start hashing on another core while the contract loads.
    prefetch_digests(args.image)
    # Here, not at the top: `--help` and argument errors need none of these. The contract
    # is read without pydantic unless it holds an error (pipeline.contract.plain).
    from pipeline.contract.plain import load
    from pipeline.errors import ContractError
    from pipeline.findings import Verdict
    from pipeline.report import findings as reports
    from pipeline.rules import check_image, static_rule_ids
    from pipeline.waivers import apply_waivers

    contract = load(args.contract, args.overlay)
    if args.service not in contract.services:
        known = ", ".join(contract.services)
        raise ContractError(f"unknown service {args.service!r} (known: {known})",
                            path=str(args.contract), field="--service")
    context = args.context
    if context is None:
        default = contract.context_dir(args.service)
        context = default if default.is_dir() else None
    elif not context.is_dir():
        raise ContractError(f"build context {context} is not a directory", field="--context")
    base = None
    if args.base is not None:
        from pipeline.registry.baseimage import base_reference, fetch_base_layers
        reference = base_reference(contract, args.service) if args.base == "auto" else args.base
        base = fetch_base_layers(reference) if reference else None
        if base is None:
            print(f"pipeline: note: base image {reference or '(none in the Dockerfile)'!r}: layers "
                  "unknown, findings are not attributed", file=sys.stderr)
    findings = check_image(args.image, contract, args.service, context_dir=context, base=base)
    # The contract's waivers apply here as in the contract lane: both say the same.
    findings, waivers = apply_waivers(findings, contract.services[args.service].waive,
                                      subject=args.service)
    if args.hide_inherited:
        from pipeline.rules.inherited import own
        findings = own(findings)
    checked = static_rule_ids(contract.services[args.service])
    name = f"check-image-{args.service}"
    if args.reports is not None:
        reports.write_all(findings, args.reports, name=name, fail_on=args.fail_on,
                          checked=checked, artifact=str(args.image), waivers=waivers)
    sys.stdout.write(reports.render(args.format, findings, name=name, fail_on=args.fail_on,
                                    checked=checked, artifact=str(args.image), waivers=waivers))
    return Verdict.of(findings, args.fail_on).exit_code
