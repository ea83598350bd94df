"""The contract file's models (pydantic v2): what each service's runtime image must be and do.

Every model forbids unknown keys. Defaults make a short contract work: only
`[services.X].context` and `port` are required. Cross-references (image keys,
dependency and service names) are checked by `Contract.references()`, which the
loader turns into errors naming the field.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.contract.crossrefs import broken_references
from pipeline.contract.defaults import DEFAULT_TOOL_CLASSES, effective_classes
from pipeline.contract.secrets import check_not_reference, check_reference, check_value
from pipeline.contract.sizes import parse_cpu, parse_size
from pipeline.errors import ContractError

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=63)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
Command = list[NonEmpty]
Size = Annotated[int, BeforeValidator(parse_size)]
Millicores = Annotated[float, BeforeValidator(parse_cpu)]
Port = Annotated[int, Field(ge=1, le=65535)]
HttpStatus = Annotated[int, Field(ge=100, le=599)]
# Values that may be secret references (pipeline.contract.secrets), must be, or must not.
EnvValue = Annotated[str, AfterValidator(check_value)]
SecretValue = Annotated[str, AfterValidator(check_reference)]
BuildArgValue = Annotated[str, AfterValidator(check_not_reference)]


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"{path!r} must be an absolute path")
    return path


def _relative(path: str) -> str:
    if "\0" in path:
        raise ValueError("a path cannot hold a NUL byte")
    if path.startswith("/") or ".." in Path(path).parts:
        raise ValueError(f"{path!r} must be relative and stay inside the contract's directory")
    return path


AbsPath = Annotated[str, AfterValidator(_absolute)]
RelPath = Annotated[str, StringConstraints(min_length=1), AfterValidator(_relative)]


def _shell_form(value: Any) -> Any:
    # `"alembic upgrade head"` is run by the image's shell; a list is exec form.
    return ["sh", "-c", value] if isinstance(value, str) else value


# A one-shot step: exec form, or a string run with `sh -c`.
Step = Annotated[Annotated[list[NonEmpty], Field(min_length=1)], BeforeValidator(_shell_form)]


class Model(BaseModel):
    # strict: no coercion, so `port = true`, `port = "8000"` and `port = 80.0` are refused.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BaseImage(Model):
    """An allowed final-stage base: a repository name (optionally with tag), optionally pinned."""

    name: NonEmpty
    digest: Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")] | None = None


class UserSpec(Model):
    """The runtime user: never root; optionally an exact name and/or UID."""

    uid_min: Annotated[int, Field(ge=1, le=2**32 - 2)] = 1
    name: NonEmpty | None = None
    uid: Annotated[int, Field(ge=1, le=2**32 - 2)] | None = None

    @model_validator(mode="after")
    def _uid_in_range(self) -> UserSpec:
        if self.uid is not None and self.uid < self.uid_min:
            raise ValueError(f"uid {self.uid} is below uid_min {self.uid_min}")
        return self


class EnvContract(Model):
    """Variable NAMES the service needs at run time; which are secrets. Never values."""

    required: list[EnvName] = []
    secrets: list[EnvName] = []
    # Startup policy (runtime.fail-fast): started without its required variables
    # (each alone, or all at once), the service must exit non-zero this quickly.
    fail_fast: Literal["each", "all", "off"] = "each"
    fail_fast_seconds: Annotated[float, Field(gt=0, le=600)] = 10
    fail_fast_message: bool = False              # its output must name the variable

    @model_validator(mode="after")
    def _secrets_are_required(self) -> EnvContract:
        unknown = sorted(set(self.secrets) - set(self.required))
        if unknown:
            raise ValueError(f"secrets {unknown} are not listed in required")
        return self


class Health(Model):
    """The health endpoint probed on the service port."""

    path: AbsPath = "/health"
    status: HttpStatus = 200
    body: JsonValue | None = None                # JSON value (or subset of one) the answer must be
    body_contains: NonEmpty | None = None
    startup_seconds: Annotated[float, Field(gt=0, le=3600)] = 30
    dependency_down_status: HttpStatus | None = None

    @model_validator(mode="after")
    def _one_body_check(self) -> Health:
        if self.body is not None and self.body_contains is not None:
            raise ValueError("set body or body_contains, not both")
        return self


class Shutdown(Model):
    """How the service is stopped, and how long it may take."""

    signal: str = "SIGTERM"
    grace_seconds: Annotated[float, Field(gt=0, le=3600)] = 10

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else f"SIG{value.upper()}"
        if name not in signal.Signals.__members__:
            raise ValueError(f"{value!r} is not a signal name")
        return name


class ToolClass(Model):
    """Patterns for one forbidden tool class."""

    paths: list[NonEmpty] = []
    packages: list[NonEmpty] = []


class Forbidden(Model):
    """Forbidden tool classes: the defaults, relaxed and extended by the contract."""

    relax: list[Key] = []
    extend: dict[Key, ToolClass] = {}
    allow: list[NonEmpty] = []
    # Classes in which a multi-call binary's applets (busybox dpkg, rpm) count as the
    # tool; elsewhere the binary is reported once, at low (multicall.binary).
    count_applets: list[Key] = []
    # Tool classes the base image brought (its dpkg, apt, pip): "report" keeps them
    # visible at medium, below the default failing level; "enforce" keeps high.
    inherited: Literal["report", "enforce"] = "report"

    @field_validator("relax")
    @classmethod
    def _known_classes(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in DEFAULT_TOOL_CLASSES]
        if unknown:
            known = ", ".join(DEFAULT_TOOL_CLASSES)
            raise ValueError(f"unknown tool class {unknown[0]!r} (known: {known})")
        return value

    @model_validator(mode="after")
    def _applet_classes_exist(self) -> Forbidden:
        known = [*DEFAULT_TOOL_CLASSES, *self.extend]
        unknown = [name for name in self.count_applets if name not in known]
        if unknown:
            raise ValueError(f"count_applets: unknown tool class {unknown[0]!r} "
                             f"(known: {', '.join(known)})")
        return self

    def classes(self) -> dict[str, ToolClass]:
        """The effective classes: defaults minus relaxed, plus extensions."""
        return effective_classes(self, ToolClass)


class SecretAllow(Model):
    """A content-scan allowlist entry; the reason is mandatory."""

    path: NonEmpty
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]

    @field_validator("path")
    @classmethod
    def _strip_root(cls, value: str) -> str:
        return value.lstrip("/")


class Resources(Model):
    """Idle budgets, measured from the started container's own cgroup once health passed."""

    idle_cpu: Millicores | None = None            # "250m", or cores (0.25)
    idle_memory: Size | None = None               # "256Mi", "200MB"
    window_seconds: Annotated[float, Field(gt=0, le=300)] = 5


class Runtime(Model):
    """Wiring the lanes use to run the service (values may be env:/file: references)."""

    env: dict[EnvName, EnvValue] = {}
    depends_on: list[Key] = []
    # One-shot steps (migrations) run from the service's own image, with its env and
    # dependencies, before it starts; each must exit 0 (compose's
    # service_completed_successfully).
    init: list[Step] = []


class Waiver(Model):
    """A rule the service is let off, for a reason, until a date (gradual adoption)."""

    rule: NonEmpty
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3)]
    until: date | None = None    # the last day the waiver holds; after it the rule gates again

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        from pipeline.findings import rule

        try:
            rule(value)
        except KeyError:
            raise ValueError(f"unknown rule id {value!r}") from None
        return value


class Checks(Model):
    """The source-checks lane: runs in a tooling image, never in the runtime image."""

    image: Key
    workdir: AbsPath = "/src"
    install: list[NonEmpty] = []
    lint: list[NonEmpty] = []
    unit_test: list[NonEmpty] = []
    reports: RelPath | None = None
    env: dict[EnvName, EnvValue] = {}
    depends_on: list[Key] = []              # services and dependencies, reached by name


class Service(Model):
    """One deployable runtime image and its contract."""

    context: RelPath
    port: Port
    dockerfile: RelPath = "Dockerfile"
    target: NonEmpty | None = None
    build_args: dict[EnvName, BuildArgValue] = {}
    build_secrets: dict[EnvName, SecretValue] = {}   # RUN --mount=type=secret,id=NAME
    base_images: list[BaseImage] = []
    max_size: Size = parse_size("1GB")
    user: UserSpec = UserSpec()
    entrypoint: Command | None = None
    cmd: Command | None = None
    workdir: AbsPath | None = None
    labels: list[NonEmpty] = []
    healthcheck: Literal["required", "optional"] = "optional"   # dockerfile.healthcheck-missing
    dockerignore: list[NonEmpty] = [".git", ".env"]
    env: EnvContract = EnvContract()
    health: Health = Health()
    shutdown: Shutdown = Shutdown()
    forbidden: Forbidden = Forbidden()
    secrets_allowlist: list[SecretAllow] = []
    runtime: Runtime = Runtime()
    resources: Resources = Resources()
    checks: Checks | None = None
    waive: list[Waiver] = []

    # Its key in [services], set by the Contract holding it: lanes pass Service objects.
    _name: str = PrivateAttr(default="")

    @property
    def name(self) -> str:
        return self._name

    @field_validator("waive")
    @classmethod
    def _waivers_name_rules_once(cls, waive: list[Waiver], info: ValidationInfo) -> list[Waiver]:
        seen: set[str] = set()
        forbidden = info.data.get("forbidden")   # absent when it failed its own validation
        classes = forbidden.classes() if forbidden is not None else {}
        for waiver in waive:
            if waiver.rule in seen:
                raise ValueError(f"rule {waiver.rule!r} is waived twice")
            seen.add(waiver.rule)
            tool_class = waiver.rule.removeprefix("forbidden.")
            if tool_class != waiver.rule and tool_class not in classes:
                raise ValueError(f"waiver of {waiver.rule!r}: no tool class {tool_class!r} "
                                 f"(known: {', '.join(classes) or 'none'})")
        return waive


class DependencyHealth(Model):
    """When a dependency is ready: `command` exits 0, run from the dependency's own image
    in a container that reaches the dependency by its name, retried every interval."""

    command: Step
    interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1
    retries: Annotated[int, Field(ge=1, le=1000)] = 30


class Dependency(Model):
    """A backing service (database, mail catcher...) started for probes, tooling and test lanes.

    Taken as an image (`image`, a key of [images]) or built from a Dockerfile (`context`,
    `dockerfile`, `target`, `build_args`), with an optional `command` (the image's CMD),
    `env` and a `health` check.
    """

    image: Key | None = None
    context: RelPath | None = None
    dockerfile: RelPath = "Dockerfile"
    target: NonEmpty | None = None
    build_args: dict[EnvName, BuildArgValue] = {}
    port: Port
    extra_ports: list[Port] = []
    command: Command | None = None
    env: dict[EnvName, EnvValue] = {}
    health: DependencyHealth | None = None

    @model_validator(mode="after")
    def _image_or_build(self) -> Dependency:
        if (self.image is None) == (self.context is None):
            raise ValueError("set image (a key of [images]) or context (a Dockerfile build), "
                             "exactly one")
        if self.image is not None and (self.target or self.build_args
                                       or "dockerfile" in self.model_fields_set):
            raise ValueError("dockerfile, target and build_args need context, not image")
        return self

    @property
    def ports(self) -> list[int]:
        return [self.port, *(p for p in self.extra_ports if p != self.port)]


class Runner(Model):
    """A black-box test runner container (integration or E2E)."""

    image: Key
    source: RelPath
    workdir: AbsPath = "/tests"
    install: list[NonEmpty] = []
    command: Annotated[list[NonEmpty], Field(min_length=1)]
    env: dict[EnvName, EnvValue] = {}
    services: list[Key] = []                # services and dependencies, reached by name


class ReleaseNaming(Model):
    """`[release]`: how published images are named (seed 002: `<project>-<component>`)."""

    project: Key | None = None


class Contract(Model):
    """The whole contract file."""

    version: Literal[1] = 1
    images: dict[Key, NonEmpty] = {}
    services: Annotated[dict[Key, Service], Field(min_length=1)]
    dependencies: dict[Key, Dependency] = {}
    integration: Runner | None = None
    e2e: Runner | None = None
    release: ReleaseNaming = ReleaseNaming()

    # Where the contract file lives: contexts and sources are relative to it.
    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    # Set by the loader: a ContractError naming the file and line of a field, for
    # checks made after loading (secret references read at run time).
    _locate: Callable[[tuple[str | int, ...], str], ContractError] | None = \
        PrivateAttr(default=None)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def source(self) -> Path | None:
        """The contract file this was loaded from (None when built in code)."""
        return self._source

    @model_validator(mode="after")
    def _name_services(self) -> Contract:
        for name, spec in self.services.items():
            spec._name = name
        return self

    def service(self, name: str, *, field: str = "services") -> Service:
        """The named service; a one-line ContractError listing the known ones (`field`: the
        argument that named it, for a name given outside the contract: `--service`)."""
        try:
            return self.services[name]
        except KeyError:
            raise ContractError(f"unknown service {name!r} (known: {', '.join(self.services)})",
                                path=str(self._source) if self._source else None,
                                field=field) from None

    def error_at(self, loc: tuple[str | int, ...], message: str) -> ContractError:
        """A one-line error naming the file, line and field at `loc`."""
        if self._locate is not None:
            return self._locate(loc, message)
        field = ".".join(str(p) for p in loc)
        return ContractError(message, path=str(self._source) if self._source else None,
                             field=field)

    def context_dir(self, name: str) -> Path:
        return (self._root / self.service(name).context).resolve()

    def references(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Broken cross-references as (field location, message); empty when all resolve."""
        return broken_references(self)
