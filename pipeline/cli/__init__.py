"""The command line: one subcommand module per user-visible action group.

Each module in COMMANDS exposes ``register(subparsers)``, which adds its
subcommands and sets ``handler`` (a function ``Namespace -> int``) on them.
Exit codes: 0 success, 1 a gate said no (findings, failed lanes, refused
promotion), 2 bad input or something broke (a PipelineError).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pipeline.errors import PipelineError

# Modules under pipeline.cli, imported lazily so `--help` stays fast and a
# command that needs Dagger does not load it for one that does not.
COMMANDS: tuple[str, ...] = (
    "check_image",
    "stages",
    "attest",
    "render",
    "validate",
    "init",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Build, check, prove and promote runtime images by digest.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"pipeline.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except PipelineError as exc:
        print(f"pipeline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130
