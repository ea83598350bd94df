"""Import only the command module the command line names: a command's fixed cost is then
its own imports, and `pipeline --help` imports none (the registry client, cryptography,
pydantic and Dagger cost ~0.5 s of start-up together).

INDEX names every command and the line `pipeline --help` shows for it; a test checks it
against what the modules register. A command missing from INDEX still works: any name
INDEX does not know makes every module register, as before.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# command -> (module under pipeline.cli, its line in `pipeline --help`), in listing order
INDEX: dict[str, tuple[str, str]] = {
    "check-image": ("check_image", "check an image tarball against its service's contract"),
    "promote": ("stages", "move a stage to a validated release (or digest)"),
    "rollback": ("stages", "move a stage back to its last verified release (or previous digest)"),
    "history": ("stages", "show a stage's releases, moves and verifications"),
    "verify-stage": ("stages", "start the stage's release by digest and test it"),
    "attest": ("attest", "sign and store a validation attestation for a digest"),
    "verify": ("attest", "verify the attestation of a digest"),
    "keygen": ("attest", "write a new Ed25519 signing key pair"),
    "render": ("render", "write a stage's deployment files pinned to digests"),
    "validate": ("validate", "run every lane: build, checks, contract, tests"),
    "build": ("validate", "build each service's runtime image"),
    "lint": ("validate", "lint each service in its tooling container"),
    "unit-test": ("validate", "unit-test each service in its tooling container"),
    "check-images": ("validate", "build, then check each image against its contract"),
    "integration": ("validate", "black-box tests against the started services"),
    "e2e": ("validate", "browser tests against the started services"),
    "plan": ("validate", "print the lanes' DAG without running it"),
    "init": ("init", "guess a starting pipeline.toml from the repository (no engine needed)"),
}


def register_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
                      modules: Sequence[str], argv: Sequence[str] | None) -> None:
    """Register the module of the command `argv` names; with none, list INDEX only;
    `argv` None: every module (the whole parser, for tools and tests)."""
    indexed = {module for module, _ in INDEX.values()}
    command = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    if command is None:
        wanted = set(modules)
    elif not command:                         # `pipeline --help`, or no command at all
        for name, (module, text) in INDEX.items():
            if module in modules:
                subparsers.add_parser(name, help=text)
        wanted = {m for m in modules if m not in indexed}
    elif command in INDEX and INDEX[command][0] in modules:
        wanted = {INDEX[command][0]}
    else:                                     # unknown here: let every module say
        wanted = set(modules)
    for module in modules:
        if module in wanted:
            importlib.import_module(f"pipeline.cli.{module}").register(subparsers)
