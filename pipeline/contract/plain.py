"""The contract read without pydantic, for `check-image`'s start-up (issue 16).

Importing pydantic and building the models costs ~0.15 s, most of a one-file
check-image. This reads the same merged text (pipeline.contract.source) into
plain records with the models' fields, defaults and conversions, but it only
*vouches*: any value it is not sure the models accept (a wrong type, a failed
constraint, a key it does not know, a broken reference) makes it give up, and
`load()` hands the file to `load_contract`, whose pydantic error is the one
reported. So every bad contract fails exactly as before, and a good one never
pays for pydantic. tests/unit/test_contract_plain.py keeps the records' fields
and defaults equal to the models' and compares both readings on many contracts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pipeline.contract import limits, secrets
from pipeline.contract.crossrefs import broken_references
from pipeline.contract.defaults import DEFAULT_TOOL_CLASSES, effective_classes
from pipeline.contract.sizes import parse_cpu, parse_size
from pipeline.contract.source import Loc, Locator, read_merged
from pipeline.errors import ContractError

if TYPE_CHECKING:
    from pipeline.contract.models import Contract as ModelContract

Check = Callable[[Any], Any]
REQUIRED = object()                  # a field without a default


class Unsure(Exception):  # noqa: N818 - not an error: "ask pydantic"
    """A value this reader does not vouch for: the pydantic models decide."""


def _unsure() -> Unsure:
    return Unsure()


# --- values: each check returns the value as the models store it, or raises Unsure ----------

def _str(value: Any) -> str:
    if type(value) is not str:
        raise _unsure()
    return value


def _non_empty(value: Any) -> str:
    if type(value) is not str or not value:
        raise _unsure()
    return value


def _matching(pattern: str, max_length: int | None = None) -> Check:
    # fullmatch, not `^...$`: Python's `$` also matches before a final newline, the
    # models' (Rust) regex does not.
    regex = re.compile(pattern)

    def check(value: Any) -> str:
        if (type(value) is not str or regex.fullmatch(value) is None
                or (max_length is not None and len(value) > max_length)):
            raise _unsure()
        return value
    return check


def _int(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise _unsure()
        return value
    return check


def _float(above: float, most: float) -> Check:
    # Strict pydantic takes an int for a float field, and stores it as a float.
    def check(value: Any) -> float:
        if type(value) not in (int, float) or isinstance(value, int) and abs(value) > 2**53:
            raise _unsure()
        number = float(value)
        if not above < number <= most:
            raise _unsure()
        return number
    return check


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _unsure()
    return value


def _literal(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if type(value) is not str or value not in allowed:
            raise _unsure()
        return value
    return check


def _version(value: Any) -> int:
    if type(value) is not int or value != 1:
        raise _unsure()
    return value


def _date(value: Any) -> date:
    if type(value) is not date:          # a datetime is refused by the models too
        raise _unsure()
    return value


def _json(value: Any, depth: int = 0) -> Any:
    if depth > limits.MAX_DEPTH:
        raise _unsure()
    if type(value) in (str, int, bool) or type(value) is float and math.isfinite(value):
        return value
    if type(value) is list:
        return [_json(item, depth + 1) for item in value]
    if type(value) is dict:
        return {_str(key): _json(item, depth + 1) for key, item in value.items()}
    raise _unsure()


def _size(value: Any) -> int:
    try:
        size = parse_size(value)
    except Exception:  # noqa: BLE001 - whatever it is, the models report it
        raise _unsure() from None
    if type(size) is not int:
        raise _unsure()
    return size


def _cpu(value: Any) -> float:
    try:
        millicores = parse_cpu(value)
    except Exception:  # noqa: BLE001 - as above
        raise _unsure() from None
    if not math.isfinite(millicores):
        raise _unsure()
    return millicores


def _by(validator: Callable[[str], str]) -> Check:
    """A string the models pass through one of their validators (ValueError: refused)."""
    def check(value: Any) -> str:
        try:
            return validator(_str(value))
        except ValueError:
            raise _unsure() from None
    return check


def _absolute(value: Any) -> str:
    if not _str(value).startswith("/"):
        raise _unsure()
    return value


def _relative(value: Any) -> str:
    if (not _non_empty(value) or "\0" in value or value.startswith("/")
            or ".." in Path(value).parts):
        raise _unsure()
    return value


def _list(item: Check, min_length: int = 0) -> Check:
    def check(value: Any) -> list[Any]:
        if type(value) is not list or len(value) < min_length:
            raise _unsure()
        return [item(v) for v in value]
    return check


def _dict(key: Check, item: Check, min_length: int = 0) -> Check:
    def check(value: Any) -> dict[Any, Any]:
        if type(value) is not dict or len(value) < min_length:
            raise _unsure()
        return {key(k): item(v) for k, v in value.items()}
    return check


def _optional(inner: Check) -> Check:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)
    return check


def _step(value: Any) -> list[str]:
    # `"alembic upgrade head"` is run by the image's shell; a list is exec form.
    return _list(_non_empty, 1)(["sh", "-c", value] if isinstance(value, str) else value)


def _signal(value: Any) -> str:
    import signal

    upper = _str(value).upper()
    name = upper if upper.startswith("SIG") else f"SIG{upper}"
    if name not in signal.Signals.__members__:
        raise _unsure()
    return name


# What the models' strip_whitespace strips (Rust's White_Space); Python's str.strip()
# would also strip \x1c-\x1f.
_WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200b)))
                + "\u2028\u2029\u202f\u205f\u3000")


def _reason(value: Any) -> str:
    stripped = _str(value).strip(_WHITE_SPACE)
    if len(stripped) < 3 or stripped[0].isspace() or stripped[-1].isspace():
        raise _unsure()
    return stripped


_key = _matching(r"[a-z0-9][a-z0-9-]*", 63)
_env_name = _matching(r"[A-Za-z_][A-Za-z0-9_]*")
_port = _int(1, 65535)
_status = _int(100, 599)
_uid = _int(1, 2**32 - 2)
_command = _list(_non_empty)
_env_value = _by(secrets.check_value)
_secret_value = _by(secrets.check_reference)
_build_arg = _by(secrets.check_not_reference)
_env_map = _dict(_env_name, _env_value)


# --- records ---------------------------------------------------------------------------------

class Record:
    """A plain, frozen record of one contract table; FIELDS: name -> (check, default)."""

    FIELDS: ClassVar[dict[str, tuple[Check, Any]]] = {}

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k in self.FIELDS)
        return f"{type(self).__name__}({inner})"

    @classmethod
    def read(cls, data: Any) -> Any:
        """The record for table `data`; Unsure unless the models would accept it as is."""
        if type(data) is not dict or any(key not in cls.FIELDS for key in data):
            raise _unsure()
        values: dict[str, Any] = {}
        for name, (check, default) in cls.FIELDS.items():
            if name in data:
                values[name] = check(data[name])
            elif default is REQUIRED:
                raise _unsure()
            else:    # fresh, as the models copy their defaults
                values[name] = default() if callable(default) else default
        record = cls(values)
        record.after(data)
        return record

    def after(self, data: dict[str, Any]) -> None:
        """The model's own validators (raise Unsure where they would fail)."""


def _table(cls: type[Record]) -> Check:
    return cls.read


def _default(cls: type[Record]) -> Callable[[], Record]:
    return lambda: cls.read({})


class BaseImage(Record):
    name: str
    digest: str | None
    FIELDS = {"name": (_non_empty, REQUIRED),
              "digest": (_optional(_matching(r"sha256:[0-9a-f]{64}")), None)}


class UserSpec(Record):
    uid_min: int
    name: str | None
    uid: int | None
    FIELDS = {"uid_min": (_uid, 1), "name": (_optional(_non_empty), None),
              "uid": (_optional(_uid), None)}

    def after(self, data: dict[str, Any]) -> None:
        if self.uid is not None and self.uid < self.uid_min:
            raise _unsure()


class EnvContract(Record):
    required: list[str]
    secrets: list[str]
    fail_fast: str
    fail_fast_seconds: float
    fail_fast_message: bool
    FIELDS = {"required": (_list(_env_name), list), "secrets": (_list(_env_name), list),
              "fail_fast": (_literal("each", "all", "off"), "each"),
              "fail_fast_seconds": (_float(0, 600), 10),
              "fail_fast_message": (_bool, False)}

    def after(self, data: dict[str, Any]) -> None:
        if set(self.secrets) - set(self.required):
            raise _unsure()


class Health(Record):
    path: str
    status: int
    body: Any
    body_contains: str | None
    startup_seconds: float
    dependency_down_status: int | None
    FIELDS = {"path": (_absolute, "/health"), "status": (_status, 200),
              "body": (_optional(_json), None), "body_contains": (_optional(_non_empty), None),
              "startup_seconds": (_float(0, 3600), 30),
              "dependency_down_status": (_optional(_status), None)}

    def after(self, data: dict[str, Any]) -> None:
        if self.body is not None and self.body_contains is not None:
            raise _unsure()


class Shutdown(Record):
    signal: str
    grace_seconds: float
    FIELDS = {"signal": (_signal, "SIGTERM"), "grace_seconds": (_float(0, 3600), 10)}


class ToolClass(Record):
    paths: list[str]
    packages: list[str]
    FIELDS = {"paths": (_list(_non_empty), list), "packages": (_list(_non_empty), list)}

    @classmethod
    def of(cls, *, paths: list[str], packages: list[str]) -> ToolClass:
        return cls({"paths": paths, "packages": packages})


class Forbidden(Record):
    relax: list[str]
    extend: dict[str, ToolClass]
    allow: list[str]
    count_applets: list[str]
    inherited: str
    FIELDS = {"relax": (_list(_key), list), "extend": (_dict(_key, _table(ToolClass)), dict),
              "allow": (_list(_non_empty), list), "count_applets": (_list(_key), list),
              "inherited": (_literal("report", "enforce"), "report")}

    def after(self, data: dict[str, Any]) -> None:
        known = [*DEFAULT_TOOL_CLASSES, *self.extend]
        if (any(name not in DEFAULT_TOOL_CLASSES for name in self.relax)
                or any(name not in known for name in self.count_applets)):
            raise _unsure()

    def classes(self) -> dict[str, ToolClass]:
        """The effective classes: defaults minus relaxed, plus extensions."""
        return effective_classes(self, ToolClass.of)


class SecretAllow(Record):
    path: str
    reason: str
    FIELDS = {"path": (lambda v: _non_empty(v).lstrip("/"), REQUIRED),
              "reason": (_reason, REQUIRED)}


class Resources(Record):
    idle_cpu: float | None
    idle_memory: int | None
    window_seconds: float
    FIELDS = {"idle_cpu": (_optional(_cpu), None), "idle_memory": (_optional(_size), None),
              "window_seconds": (_float(0, 300), 5)}


class Runtime(Record):
    env: dict[str, str]
    depends_on: list[str]
    init: list[list[str]]
    FIELDS = {"env": (_env_map, dict), "depends_on": (_list(_key), list),
              "init": (_list(_step), list)}


def _rule_id(value: Any) -> str:
    from pipeline.findings import rule

    try:
        rule(_non_empty(value))
    except KeyError:
        raise _unsure() from None
    return value


class Waiver(Record):
    rule: str
    reason: str
    until: date | None
    FIELDS = {"rule": (_rule_id, REQUIRED), "reason": (_reason, REQUIRED),
              "until": (_optional(_date), None)}


class Checks(Record):
    image: str
    workdir: str
    install: list[str]
    lint: list[str]
    unit_test: list[str]
    reports: str | None
    env: dict[str, str]
    depends_on: list[str]
    FIELDS = {"image": (_key, REQUIRED), "workdir": (_absolute, "/src"),
              "install": (_command, list), "lint": (_command, list),
              "unit_test": (_command, list), "reports": (_optional(_relative), None),
              "env": (_env_map, dict), "depends_on": (_list(_key), list)}


class Service(Record):
    context: str
    port: int
    dockerfile: str
    target: str | None
    build_args: dict[str, str]
    build_secrets: dict[str, str]
    base_images: list[BaseImage]
    max_size: int
    user: UserSpec
    entrypoint: list[str] | None
    cmd: list[str] | None
    workdir: str | None
    labels: list[str]
    healthcheck: str
    dockerignore: list[str]
    env: EnvContract
    health: Health
    shutdown: Shutdown
    forbidden: Forbidden
    secrets_allowlist: list[SecretAllow]
    runtime: Runtime
    resources: Resources
    checks: Checks | None
    waive: list[Waiver]
    name: str                # its key in [services]
    FIELDS = {
        "context": (_relative, REQUIRED), "port": (_port, REQUIRED),
        "dockerfile": (_relative, "Dockerfile"), "target": (_optional(_non_empty), None),
        "build_args": (_dict(_env_name, _build_arg), dict),
        "build_secrets": (_dict(_env_name, _secret_value), dict),
        "base_images": (_list(_table(BaseImage)), list), "max_size": (_size, parse_size("1GB")),
        "user": (_table(UserSpec), _default(UserSpec)),
        "entrypoint": (_optional(_command), None), "cmd": (_optional(_command), None),
        "workdir": (_optional(_absolute), None), "labels": (_list(_non_empty), list),
        "healthcheck": (_literal("required", "optional"), "optional"),
        "dockerignore": (_list(_non_empty), lambda: [".git", ".env"]),
        "env": (_table(EnvContract), _default(EnvContract)),
        "health": (_table(Health), _default(Health)),
        "shutdown": (_table(Shutdown), _default(Shutdown)),
        "forbidden": (_table(Forbidden), _default(Forbidden)),
        "secrets_allowlist": (_list(_table(SecretAllow)), list),
        "runtime": (_table(Runtime), _default(Runtime)),
        "resources": (_table(Resources), _default(Resources)),
        "checks": (_optional(_table(Checks)), None), "waive": (_list(_table(Waiver)), list),
    }

    def after(self, data: dict[str, Any]) -> None:
        classes = self.forbidden.classes()
        rules = [waiver.rule for waiver in self.waive]
        if len(set(rules)) != len(rules):
            raise _unsure()
        for rule in rules:
            tool_class = rule.removeprefix("forbidden.")
            if tool_class != rule and tool_class not in classes:
                raise _unsure()


class DependencyHealth(Record):
    command: list[str]
    interval_seconds: float
    retries: int
    FIELDS = {"command": (_step, REQUIRED), "interval_seconds": (_float(0, 60), 1),
              "retries": (_int(1, 1000), 30)}


class Dependency(Record):
    image: str | None
    context: str | None
    dockerfile: str
    target: str | None
    build_args: dict[str, str]
    port: int
    extra_ports: list[int]
    command: list[str] | None
    env: dict[str, str]
    health: DependencyHealth | None
    FIELDS = {"image": (_optional(_key), None), "context": (_optional(_relative), None),
              "dockerfile": (_relative, "Dockerfile"), "target": (_optional(_non_empty), None),
              "build_args": (_dict(_env_name, _build_arg), dict), "port": (_port, REQUIRED),
              "extra_ports": (_list(_port), list), "command": (_optional(_command), None),
              "env": (_env_map, dict),
              "health": (_optional(_table(DependencyHealth)), None)}

    def after(self, data: dict[str, Any]) -> None:
        if (self.image is None) == (self.context is None):
            raise _unsure()
        if self.image is not None and (self.target or self.build_args or "dockerfile" in data):
            raise _unsure()

    @property
    def ports(self) -> list[int]:
        return [self.port, *(p for p in self.extra_ports if p != self.port)]


class Runner(Record):
    image: str
    source: str
    workdir: str
    install: list[str]
    command: list[str]
    env: dict[str, str]
    services: list[str]
    FIELDS = {"image": (_key, REQUIRED), "source": (_relative, REQUIRED),
              "workdir": (_absolute, "/tests"), "install": (_command, list),
              "command": (_list(_non_empty, 1), REQUIRED), "env": (_env_map, dict),
              "services": (_list(_key), list)}


class ReleaseNaming(Record):
    project: str | None
    FIELDS = {"project": (_optional(_key), None)}


class Contract(Record):
    """The whole contract file, read plainly: what check-image asks of a Contract."""

    version: int
    images: dict[str, str]
    services: dict[str, Service]
    dependencies: dict[str, Dependency]
    integration: Runner | None
    e2e: Runner | None
    release: ReleaseNaming
    root: Path                                   # contexts and sources are relative to it
    source: Path | None                          # the contract file
    FIELDS = {"version": (_version, 1), "images": (_dict(_key, _non_empty), dict),
              "services": (_dict(_key, _table(Service), 1), REQUIRED),
              "dependencies": (_dict(_key, _table(Dependency)), dict),
              "integration": (_optional(_table(Runner)), None),
              "e2e": (_optional(_table(Runner)), None),
              "release": (_table(ReleaseNaming), _default(ReleaseNaming))}

    def after(self, data: dict[str, Any]) -> None:
        for name, spec in self.services.items():
            spec.__dict__["name"] = name

    def located(self, path: Path, locator: Locator) -> Contract:
        self.__dict__.update(root=path.resolve().parent, source=path, _locate=locator)
        return self

    def service(self, name: str, *, field: str = "services") -> Service:
        """The named service; a one-line ContractError listing the known ones."""
        try:
            return self.services[name]
        except KeyError:
            raise ContractError(f"unknown service {name!r} (known: {', '.join(self.services)})",
                                path=str(self.source), field=field) from None

    def error_at(self, loc: Loc, message: str) -> ContractError:
        """A one-line error naming the file, line and field at `loc`."""
        locate: Locator = self.__dict__["_locate"]
        return locate(loc, message)

    def context_dir(self, name: str) -> Path:
        return (self.root / self.service(name).context).resolve()

    def references(self) -> list[tuple[Loc, str]]:
        return broken_references(self)


def read_plain(path: Path, overlays: Sequence[Path] = ()) -> Contract | None:
    """The contract, read without pydantic; None where the models must decide.

    Errors in reading and parsing the files are raised here as `load_contract` raises
    them (the same code, pipeline.contract.source); validation errors never are."""
    path = Path(path)
    merged = read_merged(path, [Path(p) for p in overlays])
    try:
        contract: Contract = Contract.read(merged.document)
    except (Unsure, RecursionError, OverflowError, MemoryError):
        return None
    if contract.references():
        return None
    contract.located(path, merged.locator())
    if _first(limits.escaping_paths(contract)) is not None:
        return None
    return contract


def _first(items: Iterator[Any]) -> Any:
    return next(items, None)


def load(path: Path, overlays: Sequence[Path] = ()) -> Contract | ModelContract:
    """check-image's contract: the plain reading when it vouches for the file, else
    `load_contract`'s (pydantic): the same contract, or the same one-line error."""
    try:
        contract = read_plain(path, overlays)
    except (RecursionError, MemoryError, OverflowError):
        contract = None          # load_contract words these backstops
    if contract is not None:
        return contract
    from pipeline.contract.loader import load_contract

    return load_contract(path, overlays)
