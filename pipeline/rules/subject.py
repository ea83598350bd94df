"""What every rule receives: the image view, the service's contract, and scan results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.findings import Finding
from pipeline.image.view import ImageView
from pipeline.rules.content import ContentScan
from pipeline.rules.inherited import Inherited

if TYPE_CHECKING:
    # Either reading of the contract: the models or pipeline.contract.plain's records.
    from pipeline.contract.models import Service


@dataclass(frozen=True)
class Subject:
    image: ImageView
    service: Service
    name: str                              # the service name, for messages and reports
    context_dir: Path | None = None        # the build context, when it is at hand
    content: ContentScan = field(default_factory=ContentScan)
    inherited: Inherited | None = None     # the base image's part, when the lane knows it

    def layer_digest(self, index: int) -> str | None:
        layers = self.image.layers
        return layers[index].digest if 0 <= index < len(layers) else None

    def from_base(self, index: int | None) -> bool:
        """Did layer `index` come from the base image?"""
        return self.inherited is not None and index is not None and self.inherited.layer(index)


# A rule family: one function from the subject to its findings.
RuleFn = Callable[[Subject], Iterable[Finding]]
