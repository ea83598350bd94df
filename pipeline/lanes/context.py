"""What every lane of one validate run shares: the source, the contract, a scratch dir."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagger
from dagger import dag

from pipeline.contract import Contract
from pipeline.contract.secrets import parse_ref
from pipeline.errors import LaneError
from pipeline.lanes.result_store import ResultStore
from pipeline.lanes.source import Source

# A reusable change to a container, applied with `container.with_(step)` (Dagger's idiom).
ContainerStep = Callable[[dagger.Container], dagger.Container]

# Environment names whose values are treated as secrets even when the contract
# does not declare them (test credentials for dependencies, connection URLs).
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|_URL$|_DSN$", re.I)


@dataclass
class RunContext:
    """One validate run: the validated directory (pipeline.lanes.source) and its contract.

    `contract.root` is `source.root`: local files, so domain rules never talk to Dagger.
    References in the contract (image keys, service and dependency names) were
    checked when it was loaded: lanes index them without checking again.
    """

    source: Source
    contract: Contract
    run_id: str
    started_at: float = field(default_factory=time.time)  # wall time the run began
    # Local: image tarballs, lane logs and reports. None for a plan, whose lanes never run.
    scratch: Path | None = None
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
    # Where contract results are kept for reuse (pipeline.lanes.result_store); None: this
    # machine's store. `fresh`: measure again whatever is kept (--fresh).
    results: ResultStore | None = None
    fresh: bool = False

    def work_dir(self, *parts: str) -> Path:
        """A local directory under the run's scratch, made on first use."""
        if self.scratch is None:
            raise LaneError("a plan has no scratch directory: its lanes never run")
        path = self.scratch.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def lane_dir(self, lane: str) -> Path:
        return self.work_dir("lanes", lane.replace(":", "-").replace("/", "-"))

    def is_secret(self, name: str, declared: frozenset[str] | set[str] = frozenset()) -> bool:
        return name in declared or bool(_SECRET_NAME.search(name))

    def with_env(self, values: Mapping[str, str], field_key: str,
                 declared: frozenset[str] | set[str] = frozenset()) -> ContainerStep:
        """The step setting the env table at `field_key`: references and secret-looking
        names (or `declared` secrets) as Dagger secrets."""
        return with_env(self.env(values, field_key), is_secret=lambda n: self.is_secret(n, declared))

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


def with_env(env: Mapping[str, str | dagger.Secret], *,
             is_secret: Callable[[str], bool] = lambda name: False) -> ContainerStep:
    """The step setting variables; references and secret-looking ones go in as Dagger
    secrets, so no log shows them."""
    def step(container: dagger.Container) -> dagger.Container:
        for name, value in env.items():
            if isinstance(value, dagger.Secret):
                container = container.with_secret_variable(name, value)
            elif is_secret(name):
                container = container.with_secret_variable(name, dag.set_secret(f"env-{name}", value))
            else:
                container = container.with_env_variable(name, value)
        return container

    return step


def with_registry_auth(host: str, username: str, password: dagger.Secret | None) -> ContainerStep:
    """The step logging in to `host` for pulls and pushes (nothing without a user)."""
    def step(container: dagger.Container) -> dagger.Container:
        if not username or password is None:
            return container
        return container.with_registry_auth(host, username, password)

    return step

