"""Option blocks more than one command shares, so a flag means the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_source_options(parser: argparse.ArgumentParser, *, holding: str, overlay: str) -> None:
    """`--source DIR`, `--contract FILE` relative to it, and repeatable `--overlay FILE`.

    `holding`: what the source directory holds, for the help; `overlay`: the overlay's help.
    """
    parser.add_argument("--source", type=Path, default=Path("."),
                        help=f"directory holding {holding} (default: .)")
    parser.add_argument("--contract", default="pipeline.toml",
                        help="contract file, relative to --source (default: pipeline.toml)")
    parser.add_argument("--overlay", action="append", default=[], help=overlay)
