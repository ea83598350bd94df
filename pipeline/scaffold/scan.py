"""Read a repository and guess its contract: services, ports, health, env, checks, runners.

Every guess carries the reason it was made (file and line, or "default"), which
`pipeline init` writes as a comment beside it. Pure file reading: no engine, no
network, bounded (files over MAX_FILE are not read, at most MAX_FILES looked at).
Values that look secret are never kept: only variable names.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILE = 512 * 1024
MAX_FILES = 20_000
SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", "dist", "build", "reports",
             ".pytest_cache", ".ruff_cache", ".mypy_cache", "coverage", ".tox", "target"}
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:[^/\s@]+@")
# Names whose values are never written, whatever they hold.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|_DSN$", re.I)


def secret_value(name: str, value: str) -> bool:
    """A value `init` must not write: a secret-named variable's, or a URL with a password."""
    return bool(SECRET_NAME.search(name) or _URL_PASSWORD.search(value))


@dataclass
class Guess:
    """A value and why it was chosen."""

    value: Any
    reason: str


@dataclass
class ServiceGuess:
    name: str
    context: str
    dockerfile: str
    target: Guess | None = None
    port: Guess | None = None
    health_path: Guess | None = None
    user: Guess | None = None
    env_required: dict[str, str] = field(default_factory=dict)      # name -> reason
    env_values: dict[str, Guess] = field(default_factory=dict)      # non-secret values to run it
    depends_on: dict[str, str] = field(default_factory=dict)        # name -> reason
    dockerignore: str = ""                                          # reason, or "" when present
    checks_image: Guess | None = None
    install: list[Guess] = field(default_factory=list)
    lint: list[Guess] = field(default_factory=list)
    unit_test: list[Guess] = field(default_factory=list)
    kind: str = ""                                                  # python, node, ...
    tooling: dict[str, Guess] = field(default_factory=dict)         # python/node image it builds with


@dataclass
class DependencyGuess:
    name: str
    image: Guess
    port: Guess
    env: dict[str, Guess] = field(default_factory=dict)
    omitted: list[str] = field(default_factory=list)                # secret names not written


@dataclass
class RunnerGuess:
    kind: str                     # integration or e2e
    source: str
    image: Guess
    install: list[Guess]
    command: Guess
    env: dict[str, Guess]
    services: list[str]


@dataclass
class RepositoryGuess:
    services: list[ServiceGuess] = field(default_factory=list)
    dependencies: list[DependencyGuess] = field(default_factory=list)
    runners: list[RunnerGuess] = field(default_factory=list)
    images: dict[str, Guess] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ file access

class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: list[Path] | None = None

    def files(self) -> list[Path]:
        if self._files is None:
            found: list[Path] = []
            for path in self._walk(self.root):
                found.append(path)
                if len(found) >= MAX_FILES:
                    break
            self._files = sorted(found)
        return self._files

    def _walk(self, directory: Path) -> Iterator[Path]:
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if entry.name not in SKIP_DIRS:
                    yield from self._walk(entry)
            elif entry.is_file():
                yield entry

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def read(self, path: Path) -> str:
        try:
            if path.stat().st_size > MAX_FILE:
                return ""
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def under(self, directory: Path) -> list[Path]:
        return [p for p in self.files() if directory in p.parents]


# ------------------------------------------------------------------ Dockerfiles

@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    found: list[Instruction] = []
    logical, first = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or (not line and not logical):
            continue
        first = first or number
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.strip().partition(" ")
        found.append(Instruction(first, keyword.upper(), " ".join(args.split())))
        logical, first = "", 0
    return found


_RUNTIME_STAGE = ("runtime", "production", "prod", "release", "final", "run")


def _exec_form(args: str) -> list[str]:
    try:
        value = json.loads(args)
    except ValueError:
        return args.split()
    return [str(v) for v in value] if isinstance(value, list) else args.split()


def scan_dockerfile(repo: Repo, path: Path, guess: ServiceGuess) -> None:
    text = repo.read(path)
    where = repo.rel(path)
    instructions = dockerfile_instructions(text)
    stages = [(i, m.group(1)) for i in instructions if i.keyword == "FROM"
              for m in [re.search(r"\bAS\s+(\S+)$", i.args, re.I)] if m]
    froms = [i for i in instructions if i.keyword == "FROM"]
    final_stage = len(froms) - 1
    if len(froms) > 1:
        named = {name.lower(): (i, name) for i, name in stages}
        pick = next((named[n] for n in _RUNTIME_STAGE if n in named), None)
        if pick is None and stages and stages[-1][0] is froms[-1]:
            pick = stages[-1]
        if pick is not None:
            final_stage = froms.index(pick[0])
            guess.target = Guess(pick[1], f"{where}:{pick[0].line} stage {pick[1]} (the runtime stage)")
    start = froms[final_stage].line if froms else 0
    end = froms[final_stage + 1].line if final_stage + 1 < len(froms) else 10**9
    stage = [i for i in instructions if start <= i.line < end]
    base = froms[final_stage].args.split()[0] if froms else ""
    args = {m.group(1): m.group(2) for i in instructions if i.keyword == "ARG"
            for m in [re.match(r"(\w+)=(\S+)", i.args)] if m}
    base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), base)
    guess.kind = ("python" if "python" in base else "node" if "node" in base else
                  "nginx" if "nginx" in base else guess.kind)
    for i in froms:  # the build's own Python or Node is the checks' too
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), i.args.split()[0])
        for kind in ("python", "node"):
            if image.split("/")[-1].startswith(kind + ":") and kind not in guess.tooling:
                guess.tooling[kind] = Guess(image, f"{where}:{i.line} builds FROM it")
    for i in stage:
        if i.keyword == "EXPOSE" and guess.port is None:
            port = re.match(r"(\d+)", i.args)
            if port:
                guess.port = Guess(int(port.group(1)), f"{where}:{i.line} EXPOSE {i.args}")
        elif i.keyword == "USER":
            guess.user = Guess(i.args, f"{where}:{i.line} USER {i.args}")
        elif i.keyword == "HEALTHCHECK":
            url = re.search(r"https?://[^/\s:]+(?::(\d+))?(/[^\s\"']*)", i.args)
            if url:
                guess.health_path = Guess(url.group(2), f"{where}:{i.line} HEALTHCHECK")
        elif i.keyword in ("ENTRYPOINT", "CMD") and guess.port is None:
            port = re.search(r"--port[= ,\"]+(\d+)|:(\d{4,5})\b", i.args)
            if port:
                guess.port = Guess(int(port.group(1) or port.group(2)), f"{where}:{i.line} {i.keyword}")
    # Scripts the final stage copies in (an entrypoint) are read for env names too.
    for i in stage:
        if i.keyword == "COPY":
            for part in i.args.split()[:-1]:
                candidate = path.parent / part
                if not part.startswith("-") and candidate.is_file() and candidate.suffix in ("", ".sh"):
                    scan_shell_env(repo, candidate, guess)


# ------------------------------------------------------------------ env names

_PY_ENV = re.compile(r"""(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']\s*(?:,\s*([^)]*))?\)"""
                     r"""|environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")
_JS_ENV = re.compile(r"process\.env\.([A-Z][A-Z0-9_]*)|process\.env\[['\"]([A-Z][A-Z0-9_]*)['\"]\]")
_SH_REQUIRED = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)\}?[^\n]*\b(?:required|must)\b|"
                          r"\[\s*-n\s+\"?\$\{?([A-Z][A-Z0-9_]*)")
_IGNORED_ENV = {"PATH", "HOME", "PWD", "USER", "HOSTNAME", "TERM", "LANG", "SHELL", "TZ"}


def _optional_default(default: str | None) -> bool:
    """A default that is a real value (not "" or None) makes the variable optional."""
    if default is None:
        return False
    text = default.strip()
    return text not in ('""', "''", "None", "")


def _scan_env(repo: Repo, path: Path, guess: ServiceGuess, pattern: re.Pattern[str],
              why: Callable[[re.Match[str], str, str], str | None]) -> None:
    """Record each variable `pattern` finds in `path` as required, with `why(match, line, text)`
    as the reason (None: the read has a default, so it is not required)."""
    text = repo.read(path)
    for number, line in enumerate(text.splitlines(), start=1):
        for m in pattern.finditer(line):
            name = next((g for g in m.groups() if g), None)
            if not name or name in _IGNORED_ENV or name in guess.env_required:
                continue
            reason = why(m, line, text)
            if reason is not None:
                guess.env_required[name] = f"{repo.rel(path)}:{number} {reason}"


def scan_python_env(repo: Repo, path: Path, guess: ServiceGuess) -> None:
    _scan_env(repo, path, guess, _PY_ENV, lambda m, line, text: (
        None if m.group(1) and _optional_default(m.group(2)) else "reads it with no default"))


def scan_js_env(repo: Repo, path: Path, guess: ServiceGuess) -> None:
    _scan_env(repo, path, guess, _JS_ENV, lambda m, line, text: (
        None if "||" in line or "??" in line
        else f"reads process.env.{m.group(1) or m.group(2)}"))


def scan_shell_env(repo: Repo, path: Path, guess: ServiceGuess) -> None:
    def why(m: re.Match[str], line: str, text: str) -> str | None:
        name = m.group(1) or m.group(2)
        return None if re.search(rf"\$\{{{name}:-[^}}]", text) else "says it is required"  # ${NAME:-value}
    _scan_env(repo, path, guess, _SH_REQUIRED, why)


def test_env_names(repo: Repo, directory: Path) -> list[tuple[str, str]]:
    names: dict[str, str] = {}
    for path in repo.under(directory):
        if path.suffix != ".py":
            continue
        for number, line in enumerate(repo.read(path).splitlines(), start=1):
            for m in _PY_ENV.finditer(line):
                name = m.group(1) or m.group(3)
                if name.endswith("_URL") and name not in names:
                    names[name] = f"{repo.rel(path)}:{number}"
    return list(names.items())


# ------------------------------------------------------------------ manifests

def _read_lines(repo: Repo, path: Path) -> list[str]:
    return [line.strip() for line in repo.read(path).splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _requirements_mention(repo: Repo, directory: Path, *names: str) -> str | None:
    for path in sorted(directory.glob("requirements*.txt")) + sorted(directory.glob("pyproject.toml")):
        text = repo.read(path).lower()
        for name in names:
            if re.search(rf"(^|[\s\"'\[]){re.escape(name)}\b", text, re.M):
                return f"{repo.rel(path)} names {name}"
    return None


def python_checks(repo: Repo, context: Path, guess: ServiceGuess) -> None:
    where = lambda p: repo.rel(p)  # noqa: E731 - short local helper
    dev = next((p for p in (context / "requirements-dev.txt", context / "requirements_dev.txt",
                            context / "dev-requirements.txt") if p.is_file()), None)
    if dev is not None:
        guess.install.append(Guess(f"pip install -r {dev.name}", f"{where(dev)} lists the dev tools"))
    elif (context / "pyproject.toml").is_file():
        data = _toml(repo, context / "pyproject.toml")
        extras = data.get("project", {}).get("optional-dependencies", {})
        extra = next((e for e in ("dev", "test", "tests") if e in extras), None)
        spec = f".[{extra}]" if extra else "."
        guess.install.append(Guess(f"pip install -e '{spec}'", f"{where(context / 'pyproject.toml')}"
                                   + (f" extra {extra}" if extra else "")))
    elif (context / "requirements.txt").is_file():
        guess.install.append(Guess("pip install -r requirements.txt pytest",
                                   f"{where(context / 'requirements.txt')}; pytest added to run the tests"))
    text = " ".join(repo.read(p) for p in (dev, context / "pyproject.toml") if p is not None and p.is_file())
    if "ruff" in text.lower() or (context / "ruff.toml").is_file():
        source = "ruff.toml" if (context / "ruff.toml").is_file() else (dev.name if dev else "pyproject.toml")
        guess.lint.append(Guess("ruff check .", f"{source} configures or installs ruff"))
        guess.lint.append(Guess("ruff format --check .", "ruff's formatter, as `ruff format` would write"))
    elif "flake8" in text:
        guess.lint.append(Guess("flake8", "flake8 is installed by the dev requirements"))
    tests = context / "tests"
    if tests.is_dir():
        unit = tests / "unit"
        target = "tests/unit" if unit.is_dir() else "tests"
        guess.unit_test.append(Guess(f"pytest -q {target}", f"{where(tests)}/ holds the tests"
                                     + (" (unit/ only: others need running services)" if unit.is_dir() else "")))


def node_checks(repo: Repo, context: Path, guess: ServiceGuess) -> None:
    package = context / "package.json"
    if not package.is_file():
        return
    try:
        data = json.loads(repo.read(package) or "{}")
    except ValueError:
        return
    scripts = data.get("scripts", {}) if isinstance(data, dict) else {}
    where = repo.rel(package)
    lock = (context / "package-lock.json").is_file()
    guess.install.append(Guess("npm ci --no-audit --no-fund" if lock else "npm install --no-audit --no-fund",
                               f"{repo.rel(context / 'package-lock.json')} pins the tree" if lock
                               else f"{where} (no lockfile)"))
    if isinstance(scripts, dict):
        if "lint" in scripts:
            guess.lint.append(Guess("npm run lint", f"{where} scripts.lint = {scripts['lint']!r}"))
        if "test" in scripts:
            guess.unit_test.append(Guess("npm test", f"{where} scripts.test = {scripts['test']!r}"))


def _toml(repo: Repo, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(repo.read(path))
    except (tomllib.TOMLDecodeError, ValueError):
        return {}


def _yaml(repo: Repo, path: Path) -> Any:
    try:
        return yaml.safe_load(repo.read(path))
    except yaml.YAMLError:
        return None


# ------------------------------------------------------------------ CI workflows

_TOOL_COMMAND = re.compile(r"^\s*(?:python -m )?(pytest|ruff|mypy|flake8|npm (?:run \w+|test|ci)|npx \w+)\b.*$")


def ci_commands(repo: Repo) -> list[tuple[str, str, str]]:
    """(working directory, command, reason) for tool commands in CI workflows."""
    found: list[tuple[str, str, str]] = []
    for path in repo.files():
        rel = repo.rel(path)
        if not (rel.startswith(".github/workflows/") and path.suffix in (".yml", ".yaml")
                or rel in (".gitlab-ci.yml",)):
            continue
        data = _yaml(repo, path)
        for step, directory in _run_steps(data):
            for line in step.splitlines():
                if _TOOL_COMMAND.match(line):
                    found.append((directory, line.strip(), f"{rel} runs it"))
    return found


def _run_steps(node: Any, directory: str = ".") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        here = node.get("working-directory", directory)
        defaults = node.get("defaults", {})
        if isinstance(defaults, dict) and isinstance(defaults.get("run"), dict):
            here = defaults["run"].get("working-directory", here)
        if isinstance(node.get("run"), str):
            yield node["run"], str(here)
        for value in node.values():
            yield from _run_steps(value, str(here))
    elif isinstance(node, list):
        for item in node:
            yield from _run_steps(item, directory)


# ------------------------------------------------------------------ compose

_KNOWN_PORTS = {"postgres": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379, "mongo": 27017,
                "rabbitmq": 5672, "memcached": 11211, "elasticsearch": 9200, "valkey": 6379}
_COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _container_port(spec: Any) -> int | None:
    text = str(spec.get("target", "")) if isinstance(spec, dict) else str(spec)
    match = re.search(r"(\d+)(?:/\w+)?$", text)
    return int(match.group(1)) if match else None


def _environment(node: Any) -> dict[str, str]:
    if isinstance(node, dict):
        return {str(k): "" if v is None else str(v) for k, v in node.items()}
    if isinstance(node, list):
        return dict((str(item).split("=", 1) + [""])[:2] for item in node)
    return {}


def compose_services(repo: Repo) -> tuple[Path | None, dict[str, dict[str, Any]]]:
    for name in _COMPOSE_NAMES:
        path = repo.root / name
        if path.is_file():
            data = _yaml(repo, path)
            services = data.get("services", {}) if isinstance(data, dict) else {}
            return path, {str(k): v for k, v in services.items() if isinstance(v, dict)}
    return None, {}


def key_name(text: str) -> str:
    key = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63]
    return key or "app"


# ------------------------------------------------------------------ the whole repository

def scan_repository(root: Path) -> RepositoryGuess:
    repo = Repo(root)
    result = RepositoryGuess()
    compose_path, compose = compose_services(repo)
    compose_rel = repo.rel(compose_path) if compose_path else ""
    dockerfiles = [p for p in repo.files() if p.name == "Dockerfile" or p.name.endswith(".Dockerfile")]
    by_context: dict[Path, str] = {}
    for name, spec in compose.items():
        build = spec.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            by_context[(root / str(context)).resolve()] = name
    for path in dockerfiles:
        context = path.parent
        compose_name = by_context.get(context.resolve())
        name = key_name(compose_name or (context.name if context != root else root.name))
        guess = ServiceGuess(name=name, context=repo.rel(context) if context != root else ".",
                             dockerfile=path.name)
        scan_dockerfile(repo, path, guess)
        spec = compose.get(compose_name or "", {})
        _apply_compose(guess, spec, compose_rel, compose_name or "")
        _scan_service_source(repo, context, guess)
        if not (context / ".dockerignore").is_file():
            guess.dockerignore = f"{guess.context}/.dockerignore is missing: the contract will say so"
        result.services.append(guess)
    if not result.services:
        result.notes.append("no Dockerfile found: add one per service, then run init again")
    names = {s.name for s in result.services}
    for name, spec in compose.items():
        if spec.get("build") is None and spec.get("image"):
            result.dependencies.append(_compose_dependency(key_name(name), spec, compose_rel))
    _guess_dependencies(repo, result)
    _wire(result, names)
    _apply_ci(repo, result)
    _images(result)
    _runners(repo, result)
    return result


def _apply_compose(guess: ServiceGuess, spec: dict[str, Any], where: str, name: str) -> None:
    if not spec:
        return
    for port in spec.get("ports", []) or spec.get("expose", []) or []:
        number = _container_port(port)
        if number and guess.port is None:
            guess.port = Guess(number, f"{where} services.{name}.ports")
    health = spec.get("healthcheck", {})
    test = " ".join(map(str, health.get("test", []))) if isinstance(health, dict) else ""
    url = re.search(r"https?://[^/\s:]+(?::\d+)?(/[^\s\"']*)", test)
    if url and guess.health_path is None:
        guess.health_path = Guess(url.group(1), f"{where} services.{name}.healthcheck")
    for env_name, value in _environment(spec.get("environment")).items():
        guess.env_required.setdefault(env_name, f"{where} services.{name}.environment")
        if value and not secret_value(env_name, value) and "${" not in value:
            guess.env_values[env_name] = Guess(value, f"{where} services.{name}.environment")
    depends = spec.get("depends_on", [])
    for dep in depends if isinstance(depends, list) else list(depends):
        guess.depends_on[key_name(str(dep))] = f"{where} services.{name}.depends_on"
    target = spec.get("build", {}).get("target") if isinstance(spec.get("build"), dict) else None
    if target:
        guess.target = Guess(target, f"{where} services.{name}.build.target")


def _compose_dependency(name: str, spec: dict[str, Any], where: str) -> DependencyGuess:
    image = str(spec["image"])
    port = next((p for p in map(_container_port, spec.get("ports", []) or spec.get("expose", []) or [])
                 if p), None)
    known = next((p for k, p in _KNOWN_PORTS.items() if k in image), None)
    dep = DependencyGuess(
        name=name, image=Guess(image, f"{where} services.{name}.image"),
        port=Guess(port or known or 80, f"{where} services.{name}.ports" if port else
                   f"{image}'s well-known port" if known else "default: no port found"))
    for env_name, value in _environment(spec.get("environment")).items():
        if secret_value(env_name, value) or "${" in value:
            dep.omitted.append(env_name)
        else:
            dep.env[env_name] = Guess(value, f"{where} services.{name}.environment")
    _postgres_without_password(dep)
    return dep


def _postgres_without_password(dep: DependencyGuess) -> None:
    # The official image refuses to start without a password; init never writes one, so a
    # test-only database trusts every connection instead.
    if "postgres" in dep.image.value and "POSTGRES_PASSWORD" not in dep.env:
        dep.env["POSTGRES_HOST_AUTH_METHOD"] = Guess(
            "trust", "test-only database: init writes no password (set one from your secrets)")


def _scan_service_source(repo: Repo, context: Path, guess: ServiceGuess) -> None:
    for path in repo.under(context):
        rel = path.relative_to(context).as_posix()
        if rel.startswith(("tests/", "test/")) or ".test." in path.name or path.name.startswith("test_"):
            continue
        if path.suffix == ".py":
            scan_python_env(repo, path, guess)
        elif path.suffix in (".js", ".mjs", ".ts") and "config" not in path.name:
            scan_js_env(repo, path, guess)
        if guess.health_path is None and path.suffix in (".py", ".js", ".ts", ".go", ".conf", ".template"):
            for number, line in enumerate(repo.read(path).splitlines(), start=1):
                match = re.search(r"[\"'= ](/(?:health|healthz|ready|readyz|livez|ping)(?:/\w+)?)[\"' {]",
                                  line)
                if match:
                    guess.health_path = Guess(match.group(1), f"{repo.rel(path)}:{number} serves it")
                    break
    if guess.kind == "python" or (context / "requirements.txt").is_file() or (context / "pyproject.toml").is_file():
        python_checks(repo, context, guess)
        guess.kind = guess.kind or "python"
    elif (context / "package.json").is_file():
        node_checks(repo, context, guess)
    # A static site served by nginx is built with node: its checks are node's.
    if guess.kind == "nginx" and (context / "package.json").is_file() and not guess.install:
        node_checks(repo, context, guess)


def _guess_dependencies(repo: Repo, result: RepositoryGuess) -> None:
    if any("postgres" in d.image.value for d in result.dependencies):
        return
    for service in result.services:
        context = repo.root / service.context
        why = _requirements_mention(repo, context, "psycopg", "psycopg2", "psycopg2-binary", "asyncpg")
        package = context / "package.json"
        if why is None and package.is_file() and '"pg"' in repo.read(package):
            why = f"{repo.rel(package)} depends on pg"
        if why:
            dep = DependencyGuess(name="postgres", image=Guess("postgres:16", f"{why}: a PostgreSQL client"),
                                  port=Guess(5432, "PostgreSQL's port"))
            _postgres_without_password(dep)
            result.dependencies.append(dep)
            return


def _wire(result: RepositoryGuess, names: set[str]) -> None:
    """Values for the required variables that name another service or a dependency."""
    ports = {s.name: s.port.value for s in result.services if s.port}
    ports.update({d.name: d.port.value for d in result.dependencies})
    for service in result.services:
        for env_name in list(service.env_required):
            if env_name in service.env_values:
                continue
            lowered = env_name.lower()
            target = next((n for n in ports if n != service.name and lowered.startswith(n.replace("-", "_"))),
                          None)
            if env_name in ("DATABASE_URL", "POSTGRES_URL") and any(d.name == "postgres" for d in result.dependencies):
                target = "postgres"
                value = "postgresql://postgres@postgres:5432/postgres"
            elif target is not None and lowered.endswith("_url"):
                value = f"http://{target}:{ports[target]}"
            else:
                continue
            service.env_values[env_name] = Guess(value, f"{target} is started beside it under that name")
            service.depends_on.setdefault(target, f"{env_name} points at it")
        for dep in list(service.depends_on):
            if dep not in names and dep not in {d.name for d in result.dependencies}:
                del service.depends_on[dep]


def _apply_ci(repo: Repo, result: RepositoryGuess) -> None:
    for directory, command, reason in ci_commands(repo):
        service = next((s for s in result.services if s.context.strip("./") == directory.strip("./")),
                       result.services[0] if len(result.services) == 1 else None)
        if service is None:
            continue
        kind = ("lint" if re.search(r"\b(ruff|flake8|mypy|lint)\b", command)
                else "unit_test" if re.search(r"\b(pytest|npm test|vitest|jest)\b", command) else None)
        if kind is None:
            continue
        steps: list[Guess] = getattr(service, kind)
        if command not in [g.value for g in steps]:
            # CI's own commands win over the guesses from the manifests.
            if not any(g.reason.endswith("runs it") for g in steps):
                steps.clear()
            steps.append(Guess(command, reason))


def _images(result: RepositoryGuess) -> None:
    for service in result.services:
        if not (service.install or service.lint or service.unit_test):
            continue
        if service.kind == "python":
            result.images.setdefault("python-dev", service.tooling.get("python") or Guess(
                "python:3.12-slim", "tooling image for Python checks (default)"))
            service.checks_image = Guess("python-dev", "the service is Python")
        else:
            result.images.setdefault("node-dev", service.tooling.get("node") or Guess(
                "node:20-bookworm-slim", "tooling image for Node checks (default)"))
            service.checks_image = Guess("node-dev", "the service's checks are npm scripts")
    for dep in result.dependencies:
        key = key_name(dep.image.value.split("/")[-1].split(":")[0])
        result.images.setdefault(key, Guess(dep.image.value, dep.image.reason))
        dep.image = Guess(key, dep.image.reason)


def _runners(repo: Repo, result: RepositoryGuess) -> None:
    for kind, folders in (("integration", ("tests/integration", "integration-tests", "tests/api")),
                          ("e2e", ("tests/e2e", "e2e", "tests/browser"))):
        folder = next((repo.root / f for f in folders if (repo.root / f).is_dir()), None)
        if folder is None or not result.services:
            continue
        rel = repo.rel(folder)
        playwright = _requirements_mention(repo, folder, "playwright")
        image_key = "browser" if playwright else "python-dev"
        if playwright:
            version = re.search(r"playwright==([\d.]+)", repo.read(folder / "requirements.txt"))
            tag = f"v{version.group(1)}-noble" if version else "latest"
            result.images.setdefault("browser", Guess(f"mcr.microsoft.com/playwright/python:{tag}",
                                                      f"{playwright}: Playwright's own image"))
        else:
            result.images.setdefault("python-dev", Guess("python:3.12-slim", f"{rel} is Python"))
        install = ([Guess("pip install -r requirements.txt", f"{rel}/requirements.txt")]
                   if (folder / "requirements.txt").is_file() else [])
        env: dict[str, Guess] = {}
        services: list[str] = []
        ports = {s.name: s.port.value for s in result.services if s.port}
        for env_name, where in test_env_names(repo, folder):
            lowered = env_name.lower()
            target = next((n for n in ports if lowered.startswith(n.replace("-", "_"))), None)
            if target is None:
                # BASE_URL: the API (integration) or the page (e2e): the first or last service.
                target = (result.services[-1] if kind == "e2e" else result.services[0]).name
            if target in ports:
                env[env_name] = Guess(f"http://{target}:{ports[target]}", f"{where} reads it")
                services.append(target)
        result.runners.append(RunnerGuess(
            kind=kind, source=rel, image=Guess(image_key, playwright or f"{rel} is Python"),
            install=install, command=Guess(f"pytest -q --junitxml=/reports/{kind}.xml",
                                           f"{rel}/ holds pytest tests"),
            env=env, services=sorted(set(services)) or [result.services[0].name]))
