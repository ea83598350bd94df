"""Static rules over an image: one module per rule family, collected in `RULE_FAMILIES`.

`check_image()` is the public entry: read the tarball once (content scanners
ride along), then run every rule family over the same image view.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.contract.models import Contract, Service
from pipeline.findings import FORBIDDEN_PREFIX, RULES, Finding, sort_findings
from pipeline.image.view import ImageView, read_tarball
from pipeline.rules import (
    base,
    config,
    dockerignore,
    filesystem,
    forbidden,
    history,
    redaction,
    secrets,
)
from pipeline.rules.subject import RuleFn, Subject

# Every static rule family, in report order. Adding a rule = adding it here.
RULE_FAMILIES: tuple[tuple[str, RuleFn], ...] = (
    ("base", base.check),
    ("size", config.check_size),
    ("user", config.check_user),
    ("port", config.check_port),
    ("command", config.check_command),
    ("workdir", config.check_workdir),
    ("labels", config.check_labels),
    ("env", history.check_env),
    ("history", history.check_history),
    ("forbidden", forbidden.check),
    ("secrets", secrets.check),
    ("setuid", filesystem.check_setuid),
    ("git", filesystem.check_git),
    ("dockerignore", dockerignore.check),
)


def static_rule_ids(service: Service) -> list[str]:
    """Every static rule id checked for `service` (for reports that list passes too)."""
    ids = [rid for rid in RULES if not rid.startswith("runtime.")]
    return ids + [f"{FORBIDDEN_PREFIX}{name}" for name in service.forbidden.classes()]


def run_rules(image: ImageView, service: Service, name: str, *,
              context_dir: Path | None = None,
              content: secrets.ContentScan | None = None,
              families: Sequence[tuple[str, RuleFn]] = RULE_FAMILIES) -> list[Finding]:
    """All findings of `families` on an already-read image, most severe first."""
    subject = Subject(image, service, name, context_dir, content or secrets.ContentScan())
    found: list[Finding] = []
    for _, family in families:
        found.extend(family(subject))
    return sort_findings(redaction.scrub_findings(found, redaction.secret_values(image, service)))


def check_image(tarball: Path, contract: Contract, service: str, *,
                context_dir: Path | None = None) -> list[Finding]:
    """Read `tarball` once and run every static rule for `service` of `contract`.

    `context_dir` is the service's build context (for the Dockerfile's base and
    .dockerignore); when None, rules that need it are skipped. Raises ImageError
    for an unreadable tarball, ContractError for an unknown service.
    """
    spec = _service(contract, service)
    scan = secrets.ContentScan()
    image = read_tarball(Path(tarball), on_file=scan.feed)
    return run_rules(image, spec, service, context_dir=context_dir, content=scan)


def _service(contract: Contract, name: str) -> Service:
    from pipeline.errors import ContractError
    if name not in contract.services:
        known = ", ".join(contract.services)
        raise ContractError(f"unknown service {name!r} (known: {known})",
                            path=str(contract.source) if contract.source else None,
                            field="services")
    return contract.services[name]


__all__ = ["RULE_FAMILIES", "Subject", "check_image", "run_rules", "static_rule_ids"]
