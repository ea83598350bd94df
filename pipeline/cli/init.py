"""`pipeline init`: write a starting pipeline.toml guessed from the repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init", help="guess a starting pipeline.toml from the repository (no engine needed)",
        description="Read Dockerfiles, compose files, .dockerignore, settings, test folders, "
                    "package manifests and CI workflows; write a starting contract whose every "
                    "guess says where it came from. Never overwrites without --force; never "
                    "writes a secret value.")
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="the repository to read (default: .)")
    parser.add_argument("--output", default="pipeline.toml",
                        help="contract file to write, relative to --source (default: pipeline.toml)")
    parser.add_argument("--force", action="store_true", help="replace an existing contract")
    parser.add_argument("--stdout", action="store_true", help="print the contract instead of writing it")
    parser.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    from pipeline.atomic import write_atomic
    from pipeline.contract import load_contract
    from pipeline.errors import ContractError, PipelineError
    from pipeline.scaffold import render, scan_repository

    source = args.source.resolve()
    if not source.is_dir():
        raise PipelineError(f"--source {args.source}: no such directory")
    target = source / args.output
    if target.exists() and not args.force and not args.stdout:
        raise PipelineError(f"{target}: exists; pass --force to replace it (or --stdout to see "
                            "what init would write)")
    text = render(scan_repository(source))
    if args.stdout:
        print(text, end="")
        return 0
    write_atomic(target, text)
    try:  # what init writes must load: a guess the loader refuses is init's bug
        load_contract(target)
    except ContractError as exc:
        print(f"pipeline: warning: the written contract does not load: {exc}", file=sys.stderr)
        return 2
    print(f"pipeline: wrote {target}; check each guess, then `pipeline plan --source {args.source}`",
          file=sys.stderr)
    return 0
