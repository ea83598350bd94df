"""What every rule receives: the image view, the service's contract, and scan results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.contract.models import Service
from pipeline.findings import Finding
from pipeline.image.view import ImageView
from pipeline.rules.secrets import ContentScan


@dataclass(frozen=True)
class Subject:
    image: ImageView
    service: Service
    name: str                              # the service name, for messages and reports
    context_dir: Path | None = None        # the build context, when it is at hand
    content: ContentScan = field(default_factory=ContentScan)


# A rule family: one function from the subject to its findings.
RuleFn = Callable[[Subject], Iterable[Finding]]
