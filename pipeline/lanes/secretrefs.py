"""The contract's `env:`/`file:` references, read once per run and made Dagger secrets.

Client mode (`python -m pipeline`) reads them where pipeline runs: its environment,
files relative to the contract's directory. Inside a module (`dagger call`) there is
no host: `env:` goes through Dagger's env:// secret provider (the caller's
environment) and a relative `file:` is read from the source directory. Either way a
missing variable or file is a one-line error naming the field and the variable or
file, before any lane runs; the value itself is never printed.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagger
from dagger import dag

from pipeline.contract import Contract
from pipeline.contract.secrets import MAX_SECRET_BYTES, field_key, read_all, references
from pipeline.lanes.source import Source


def _secret_name(key: str) -> str:
    # A build secret's Dagger name is the id the Dockerfile mounts (RUN --mount=type=secret,id=X).
    parts = key.split(".")
    return parts[-1] if len(parts) == 4 and parts[2] == "build_secrets" else f"contract:{key}"


async def load_secret_refs(
    contract: Contract, source: Source, *, environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, dagger.Secret], tuple[str, ...]]:
    """Every reference of `contract` as a Dagger secret, by field key; and the values, which
    only the masking of files the engine does not scrub may use."""
    directory = source.mirror_of
    if directory is None:  # client mode: read where pipeline runs
        values = read_all(contract, root=source.root, environ=environ)
        return ({key: dag.set_secret(_secret_name(key), value) for key, value in values.items()},
                tuple(values.values()))
    secrets: dict[str, dagger.Secret] = {}
    plaintexts: list[str] = []
    for loc, ref in references(contract):
        key = field_key(loc)
        try:
            if ref.kind == "file" and not ref.target.startswith("/"):
                if not await directory.exists(ref.target):
                    raise contract.error_at(loc, f"file {ref.target} does not exist in the source")
                text = (await directory.file(ref.target).contents())[: MAX_SECRET_BYTES + 1]
                if len(text) > MAX_SECRET_BYTES:
                    raise contract.error_at(loc, f"file {ref.target} is larger than "
                                                 f"{MAX_SECRET_BYTES} bytes")
                text = text.removesuffix("\n")
                secret = dag.set_secret(_secret_name(key), text)
            else:
                uri = f"env://{ref.target}" if ref.kind == "env" else f"file://{ref.target}"
                secret = dag.secret(uri)
                text = await secret.plaintext()   # resolves it now: a missing one fails here
        except dagger.QueryError:
            missing = "is not set" if ref.kind == "env" else "cannot be read"
            raise contract.error_at(loc, f"{ref.describe()} {missing}") from None
        secrets[key] = secret
        plaintexts.append(text)
    return secrets, tuple(plaintexts)
