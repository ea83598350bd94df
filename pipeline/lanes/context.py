"""What every lane of one validate run shares: the source, the contract, a scratch dir."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dagger
from dagger import dag

from pipeline.contract import Contract
from pipeline.errors import ContractError

# Environment names whose values are treated as secrets even when the contract
# does not declare them (test credentials for dependencies, connection URLs).
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|_URL$|_DSN$", re.I)


@dataclass
class RunContext:
    """One validate run: the validated directory (as Dagger sees it) and its contract.

    `source` is the directory holding the contract file; `contract.root` is a
    local mirror of the few small files domain rules read (contract, Dockerfiles,
    .dockerignore), so rules never talk to Dagger.
    """

    source: dagger.Directory
    contract: Contract
    scratch: Path                      # local: image tarballs, lane logs and reports
    run_id: str
    ca_bundle: dagger.File | None = None  # PEM bundle every tooling container trusts (--ca-bundle)

    def lane_dir(self, lane: str) -> Path:
        path = self.scratch / "lanes" / lane.replace(":", "-").replace("/", "-")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def image_ref(self, key: str, *, field_name: str) -> str:
        try:
            return self.contract.images[key]
        except KeyError:
            raise ContractError(f"unknown image key {key!r}", field=field_name) from None

    def is_secret(self, name: str, declared: frozenset[str] | set[str] = frozenset()) -> bool:
        return name in declared or bool(_SECRET_NAME.search(name))


def with_env(
    container: dagger.Container, env: Mapping[str, str], *, is_secret=lambda name: False
) -> dagger.Container:
    """Set variables; secret-looking ones go in as Dagger secrets, so no log shows them."""
    for name, value in env.items():
        if is_secret(name):
            container = container.with_secret_variable(name, dag.set_secret(f"env-{name}", value))
        else:
            container = container.with_env_variable(name, value)
    return container
