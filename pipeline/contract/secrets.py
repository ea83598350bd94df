"""Secret references in contract values: `env:NAME` and `file:PATH`.

Wherever the contract takes a value a service or a test needs (runtime.env,
checks.env, a dependency's or a runner's env, build_secrets), the value may be
a reference instead of plaintext: `env:NAME` reads the variable NAME of the
environment `pipeline` runs in, `file:PATH` reads a file (relative to the
contract's directory, or absolute). The lanes hand the values to containers as
Dagger secrets, so they never reach a report, a log or an image layer.

This module is the domain half: syntax, where the references are, and reading
them with one-line errors naming the field and the variable or file (never the
value). pipeline.lanes.secretrefs turns what it reads into Dagger secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pipeline.contract.models import Contract

Loc = tuple[str | int, ...]

_REF = re.compile(r"^(env|file):(.*)$", re.S)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Dagger's set_secret limit; also bounds what is read from a file named by a contract.
MAX_SECRET_BYTES = 128_000


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret value comes from: an environment variable or a file."""

    kind: Literal["env", "file"]
    target: str

    def describe(self) -> str:
        return f"environment variable {self.target}" if self.kind == "env" else f"file {self.target}"


def parse_ref(value: str) -> SecretRef | None:
    """The reference `value` holds, or None for a plain value."""
    match = _REF.match(value)
    if match is None:
        return None
    return SecretRef(match.group(1), match.group(2))  # type: ignore[arg-type]


def check_value(value: str) -> str:
    """Validator for values that may be references: a malformed reference is an error."""
    ref = parse_ref(value)
    if ref is None:
        return value
    if ref.kind == "env" and not _ENV_NAME.match(ref.target):
        raise ValueError("env: must name an environment variable (env:NAME, letters, digits, _)")
    if ref.kind == "file" and not ref.target.strip():
        raise ValueError("file: must name a file (file:PATH)")
    if ref.kind == "file" and "\x00" in ref.target:
        raise ValueError("file: path contains a NUL byte")
    return value


def check_reference(value: str) -> str:
    """Validator for values that must be references (build secrets)."""
    if parse_ref(check_value(value)) is None:
        raise ValueError("must be a reference, env:NAME or file:PATH (a build secret is never "
                         "written in the contract)")
    return value


def check_not_reference(value: str) -> str:
    """Validator for build args: they are recorded in the image's history."""
    if parse_ref(value) is not None:
        raise ValueError("build args are recorded in the image history; pass secrets as "
                         "build_secrets (RUN --mount=type=secret)")
    return value


def field_key(loc: Loc) -> str:
    """The dotted field name of a location: services.api.runtime.env.TOKEN."""
    return ".".join(str(part) for part in loc)


def references(contract: Contract) -> Iterator[tuple[Loc, SecretRef]]:
    """Every reference in the contract, with the location of the field holding it."""

    def scan(env: Mapping[str, str], loc: Loc) -> Iterator[tuple[Loc, SecretRef]]:
        for name, value in env.items():
            ref = parse_ref(value)
            if ref is not None:
                yield (*loc, name), ref

    for sname, svc in contract.services.items():
        yield from scan(svc.runtime.env, ("services", sname, "runtime", "env"))
        yield from scan(getattr(svc, "build_secrets", {}), ("services", sname, "build_secrets"))
        if svc.checks is not None:
            yield from scan(svc.checks.env, ("services", sname, "checks", "env"))
    for dname, dep in contract.dependencies.items():
        yield from scan(dep.env, ("dependencies", dname, "env"))
    for lane in ("integration", "e2e"):
        runner = getattr(contract, lane)
        if runner is not None:
            yield from scan(runner.env, (lane, "env"))


def read_ref(ref: SecretRef, *, root: Path, environ: Mapping[str, str]) -> str:
    """The value `ref` names; ValueError saying what is missing (never the value)."""
    if ref.kind == "env":
        if ref.target not in environ:
            raise ValueError(f"environment variable {ref.target} is not set")
        value = environ[ref.target]
        if not value:
            raise ValueError(f"environment variable {ref.target} is empty")
        return value
    path = Path(os.path.expanduser(ref.target))
    path = path if path.is_absolute() else root / path
    try:
        if not path.is_file():
            raise ValueError(f"file {ref.target} does not exist" if not path.exists()
                             else f"file {ref.target} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"file {ref.target} cannot be read ({exc.strerror})") from None
    if len(data) > MAX_SECRET_BYTES:
        raise ValueError(f"file {ref.target} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"file {ref.target} is not UTF-8 text") from None
    # A file written by an editor or `echo` ends with a newline that is not part of the secret.
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ValueError(f"file {ref.target} is empty")
    return text


def read_all(contract: Contract, *, root: Path | None = None,
             environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every reference's value by field key; the first missing one is a located ContractError."""
    root = contract.root if root is None else root
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for loc, ref in references(contract):
        try:
            values[field_key(loc)] = read_ref(ref, root=root, environ=environ)
        except ValueError as exc:
            raise contract.error_at(loc, str(exc)) from None
    return values
