"""The command line: one subcommand module per user-visible action group.

Each module in COMMANDS exposes ``register(subparsers)``, which adds its
subcommands and sets ``handler`` (a function ``Namespace -> int``) on them.
Exit codes: 0 success, 1 a gate said no (findings, failed lanes, refused
promotion), 2 bad input or something broke (a PipelineError).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

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


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line too (argparse prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        from pipeline.textsafe import printable

        self.exit(2, f"{self.prog}: error: {printable(message)} (see --help)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the module of the command it names is imported."""
    parser = _Parser(
        prog="pipeline",
        description="Build, check, prove and promote runtime images by digest.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    register_commands(subparsers, COMMANDS, argv)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
    except SystemExit:             # argparse: --help, usage errors; its exit code stands
        _flush_stdout()
        raise
    except BrokenPipeError:
        code = 1
    return code if _flush_stdout() else code or 1


def _flush_stdout() -> bool:
    """Flush here, not at exit, so a closed stdout (`pipeline ... | head -c0`) is handled:
    nothing is left to say to a reader that went away. stdout then points at /dev/null so
    the interpreter's last flush cannot fail. False when the reader had gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False
    return True


def _main(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(_run(args))
    except PipelineError as exc:
        print(f"pipeline: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    """The handler, under one registry deadline when the command talks to a registry."""
    if not hasattr(args, "deadline"):
        return int(args.handler(args))
    from pipeline.registry.deadline import command_deadline

    with command_deadline(args.deadline):
        return int(args.handler(args))
