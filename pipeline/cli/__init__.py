"""The command line: one subcommand module per user-visible action group.

Each module in COMMANDS exposes ``register(subparsers)``, which adds its
subcommands and sets ``handler`` (a function ``Namespace -> int``) on them.
Exit codes: 0 success, 1 a gate said no (findings, failed lanes, refused
promotion), 2 bad input or something broke (a PipelineError).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli.lazy import register_commands
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the module of the command it names is imported."""
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Build, check, prove and promote runtime images by digest.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_commands(subparsers, COMMANDS, argv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except PipelineError as exc:
        print(f"pipeline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130
