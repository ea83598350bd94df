"""Render a repository's guesses as a starting pipeline.toml, each guess with its reason."""

from __future__ import annotations

import json
import re
from typing import Any

from pipeline.scaffold.scan import SECRET_NAME, Guess, RepositoryGuess, secret_value

HEADER = """\
# Written by `pipeline init`: a starting contract, guessed from this repository.
# Each guess says where it came from; check them, then run `pipeline plan` and
# `pipeline validate`. Reference: docs/contract.md. No secret value is ever written
# here: set those from your CI's secret store.
version = 1
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        # A TOML basic string escapes like JSON, except that JSON's \\/ is not needed.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _comment(reason: str) -> str:
    return "# " + " ".join(reason.split())


def _line(key: str, guess: Guess) -> list[str]:
    return [_comment(guess.reason), f"{key} = {toml_value(guess.value)}"]


def _commands(key: str, guesses: list[Guess]) -> list[str]:
    if not guesses:
        return []
    lines = [_comment("; ".join(dict.fromkeys(g.reason for g in guesses)))]
    return lines + [f"{key} = {toml_value([g.value for g in guesses])}"]


def render(guess: RepositoryGuess) -> str:
    out = [HEADER]
    for note in guess.notes:
        out.append(_comment(f"NOTE: {note}"))
    if guess.images:
        out.append("\n[images]")
        for key, image in guess.images.items():
            out += _line(_key(key), image)
    for service in guess.services:
        out.append(f"\n# {'-' * 70} {service.name}")
        out.append(f"[services.{service.name}]")
        out.append(_comment(f"the Dockerfile found in {service.context}/"))
        out.append(f"context = {toml_value(service.context)}")
        if service.dockerfile != "Dockerfile":
            out.append(f"dockerfile = {toml_value(service.dockerfile)}")
        if service.target:
            out += _line("target", service.target)
        out += _line("port", service.port or Guess(8080, "NOT FOUND: no EXPOSE, compose port or --port; set it"))
        if service.user:
            uid = service.user.value.split(":")[0]
            user = {"uid": int(uid)} if uid.isdigit() else {"name": uid}
            out += _line("user", Guess(user, service.user.reason))
        if service.dockerignore:
            out.append(_comment(service.dockerignore))
        health = service.health_path or Guess("/health", "default: no health route found in the source")
        out.append(f"\n[services.{service.name}.health]")
        out += _line("path", health)
        out.append(_comment("default budget; raise it deliberately for a slow start"))
        out.append("startup_seconds = 30")
        if service.env_required:
            out.append(f"\n[services.{service.name}.env]")
            for name, reason in service.env_required.items():
                out.append(_comment(f"{name}: {reason}"))
            out.append(f"required = {toml_value(list(service.env_required))}")
            secrets = [n for n in service.env_required if SECRET_NAME.search(n)]
            if secrets:
                out.append(f"secrets = {toml_value(secrets)}")
        runtime_env = {k: g for k, g in service.env_values.items() if not secret_value(k, str(g.value))}
        if runtime_env or service.depends_on:
            out.append(f"\n[services.{service.name}.runtime]")
            for name, value in runtime_env.items():
                out.append(_comment(f"{name}: {value.reason}"))
            unset = [n for n in service.env_required if n not in runtime_env]
            for name in unset:
                out.append(_comment(f"{name} has no value here: set a test value (never a real secret)"))
            if runtime_env:
                out.append(f"env = {toml_value({k: g.value for k, g in runtime_env.items()})}")
            if service.depends_on:
                out.append(_comment("; ".join(f"{d}: {r}" for d, r in service.depends_on.items())))
                out.append(f"depends_on = {toml_value(list(service.depends_on))}")
        if service.checks_image and (service.install or service.lint or service.unit_test):
            out.append(f"\n[services.{service.name}.checks]")
            out += _line("image", service.checks_image)
            out += _commands("install", service.install)
            out += _commands("lint", service.lint)
            out += _commands("unit_test", service.unit_test)
    for dep in guess.dependencies:
        out.append(f"\n[dependencies.{dep.name}]")
        out += _line("image", dep.image)
        out += _line("port", dep.port)
        for name in dep.omitted:
            out.append(_comment(f"{name} is not written (a secret): set it from your secrets"))
        if dep.env:
            for name, value in dep.env.items():
                out.append(_comment(f"{name}: {value.reason}"))
            out.append(f"env = {toml_value({k: g.value for k, g in dep.env.items()})}")
    for runner in guess.runners:
        out.append(f"\n[{runner.kind}]")
        out += _line("image", runner.image)
        out.append(_comment(f"the tests in {runner.source}/"))
        out.append(f"source = {toml_value(runner.source)}")
        out += _commands("install", runner.install)
        out += _commands("command", [runner.command])
        if runner.env:
            out.append(_comment("; ".join(f"{k}: {g.reason}" for k, g in runner.env.items())))
            out.append(f"env = {toml_value({k: g.value for k, g in runner.env.items()})}")
        out.append(_comment("the services its URLs point at (what they depend on starts too)"))
        out.append(f"services = {toml_value(runner.services)}")
    return "\n".join(out) + "\n"
