"""Static rules over an image: one module per rule family, collected in `RULE_FAMILIES`.

`check_image()` is the public entry: read the tarball once (content scanners
ride along), then run every rule family over the same image view.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.findings import FORBIDDEN_PREFIX, RULES, Finding, sort_findings
from pipeline.image.view import ImageView, read_tarball
from pipeline.rules import (
    base,
    config,
    dockerfile,
    dockerignore,
    filesystem,
    forbidden,
    history,
    redaction,
    secrets,
)
from pipeline.rules.content import ContentScan
from pipeline.rules.inherited import BaseImageLayers, attribute, match
from pipeline.rules.subject import RuleFn, Subject

if TYPE_CHECKING:
    # Either reading of the contract: the models or pipeline.contract.plain's records.
    from pipeline.contract.models import Contract, Service

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
    ("dockerfile-healthcheck", dockerfile.check_healthcheck),
    ("dockerfile-cache-order", dockerfile.check_cache_order),
    ("dockerfile-secret-arg", dockerfile.check_secret_args),
)


def static_rule_ids(service: Service) -> list[str]:
    """Every static rule id checked for `service` (for reports that list passes too)."""
    ids = [rid for rid in RULES if not rid.startswith("runtime.")]
    return ids + [f"{FORBIDDEN_PREFIX}{name}" for name in service.forbidden.classes()]


def run_rules(image: ImageView, service: Service, name: str, *,
              context_dir: Path | None = None,
              content: ContentScan | None = None,
              families: Sequence[tuple[str, RuleFn]] = RULE_FAMILIES,
              base: BaseImageLayers | None = None) -> list[Finding]:
    """All findings of `families` on an already-read image, most severe first.

    With `base` (the final stage's base, as its registry lists it), findings that
    lie only in the base's layers say `inherited from <base>`."""
    inherited = match(image.layers, base)
    subject = Subject(image, service, name, context_dir, content or ContentScan(),
                      inherited)
    found: list[Finding] = []
    for _, family in families:
        found.extend(family(subject))
    enforce = service.forbidden.inherited == "enforce"
    attributed = attribute(found, inherited, enforce_tools=enforce)
    return sort_findings(redaction.scrub_findings(attributed,
                                                  redaction.secret_values(image, service)))


def check_image(tarball: Path, contract: Contract, service: str, *,
                context_dir: Path | None = None,
                base: BaseImageLayers | None = None) -> list[Finding]:
    """Read `tarball` once and run every static rule for `service` of `contract`.

    `context_dir` is the service's build context (for the Dockerfile's base and
    .dockerignore); when None, rules that need it are skipped. `base` attributes
    findings to the base image (see pipeline.rules.inherited). Raises ImageError
    for an unreadable tarball, ContractError for an unknown service.
    """
    spec = _service(contract, service)
    scan = ContentScan()
    try:
        image = read_tarball(Path(tarball), on_file=scan.feed)
    except BaseException:
        scan.close()             # its worker thread, if it started, need not finish
        raise
    return run_rules(image, spec, service, context_dir=context_dir, content=scan, base=base)


def _service(contract: Contract, name: str) -> Service:
    from pipeline.errors import ContractError
    if name not in contract.services:
        known = ", ".join(contract.services)
        raise ContractError(f"unknown service {name!r} (known: {known})",
                            path=str(contract.source) if contract.source else None,
                            field="services")
    return contract.services[name]


__all__ = ["RULE_FAMILIES", "BaseImageLayers", "Subject", "check_image", "run_rules", "static_rule_ids"]
