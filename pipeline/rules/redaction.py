"""Secret values an image holds, taken out of every finding that would quote them.

Rules redact what they report as a secret, but the same value can turn up
elsewhere: a path, a history line, a message another rule builds. So the
values of secret ENV variables (declared in the contract, or named like one)
are collected from the image and replaced wherever any finding quotes them,
whatever their shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding
from pipeline.image.view import ImageView
from pipeline.rules import patterns

if TYPE_CHECKING:
    # Either reading of the contract: the models or pipeline.contract.plain's records.
    from pipeline.contract.models import Service

MIN_LENGTH = 4      # shorter values would blank out ordinary words
MASK = "***"


def secret_values(image: ImageView, service: Service) -> list[str]:
    """Values of the image's ENV that are secrets, longest first."""
    declared = set(service.env.secrets)
    values = {value for name, value in image.config.env
              if len(value) >= MIN_LENGTH and not patterns.is_placeholder(value)
              and (name in declared or patterns.SECRET_NAME.search(name))}
    return sorted(values, key=len, reverse=True)


def _scrub(text: str | None, values: Iterable[str]) -> str | None:
    if not text:
        return text
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub_findings(findings: list[Finding], values: list[str]) -> list[Finding]:
    """`findings` with every occurrence of `values` masked (the same list when none)."""
    if not values:
        return findings
    return [replace(
        f, message=_scrub(f.message, values) or "",
        evidence=tuple(Evidence(layer=e.layer, path=_scrub(e.path, values),
                                history=e.history, detail=_scrub(e.detail, values))
                       for e in f.evidence),
    ) for f in findings]
