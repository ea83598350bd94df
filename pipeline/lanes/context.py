"""What every lane of one validate run shares: the source, the contract, a scratch dir."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
from dagger import dag

from pipeline.contract import Contract
from pipeline.contract.secrets import parse_ref
from pipeline.errors import ContractError, LaneError

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
    # The contract's env:/file: references as Dagger secrets, by field key
    # (services.api.runtime.env.TOKEN); see pipeline.lanes.secretrefs.
    secret_refs: Mapping[str, dagger.Secret] = field(default_factory=dict)
    # Per-run memo for what happens once per run whichever lane asks first (a
    # dependency's health check, a service's init steps): see pipeline.lanes.dependencies.
    shared: dict[str, Any] = field(default_factory=dict, repr=False)
    # What the references held, only to mask them in files the engine does not scrub
    # (a started service's own output, kept by pipeline.lanes.servicewrap).
    secret_plaintexts: tuple[str, ...] = field(default=(), repr=False)
    gating: bool = True     # False: test lanes ran whatever the contract said (--keep-going)
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

    def env(self, values: Mapping[str, str], field_key: str) -> dict[str, str | dagger.Secret]:
        """`values` (the env table at `field_key`) with env:/file: references as secrets."""
        out: dict[str, str | dagger.Secret] = {}
        for name, value in values.items():
            if parse_ref(value) is None:
                out[name] = value
                continue
            key = f"{field_key}.{name}"
            if key not in self.secret_refs:
                raise LaneError(f"{key}: secret reference was not resolved for this run")
            out[name] = self.secret_refs[key]
        return out


def with_env(
    container: dagger.Container, env: Mapping[str, str | dagger.Secret], *,
    is_secret=lambda name: False,
) -> dagger.Container:
    """Set variables; references and secret-looking ones go in as Dagger secrets, so no log
    shows them."""
    for name, value in env.items():
        if isinstance(value, dagger.Secret):
            container = container.with_secret_variable(name, value)
        elif is_secret(name):
            container = container.with_secret_variable(name, dag.set_secret(f"env-{name}", value))
        else:
            container = container.with_env_variable(name, value)
    return container


def upstream_images(lane) -> dict[str, dagger.Container]:
    """The images built upstream of a lane (a pipeline.dag LaneContext), by service name."""
    return {need.split(":", 1)[1]: outputs["image"] for need, outputs in lane.upstream.items()
            if "image" in outputs}
