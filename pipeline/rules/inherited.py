"""Findings the base image brought: attributed to it, with advice that fits.

The lane (or the CLI) learns the final stage's base from the Dockerfile and
asks its registry for the base's layer diff_ids; this module only compares. An
image built FROM the base starts with exactly the base's layers, so a finding
whose evidence lies only in those layers (or in the base's history entries) is
inherited: the fix is another base, or a waiver, never "install it in a build
stage".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pipeline.findings import FORBIDDEN_PREFIX, Finding, Severity
from pipeline.image.model import Layer


@dataclass(frozen=True, slots=True)
class BaseImageLayers:
    """What the registry says the base image is made of."""

    reference: str                 # as the Dockerfile names it, build args expanded
    diff_ids: tuple[str, ...]      # its config's rootfs.diff_ids, in order
    history: int = 0               # entries in its config's history
    digest: str | None = None      # its manifest digest, when known


@dataclass(frozen=True, slots=True)
class Inherited:
    """The built image's layers and history entries that came from its base."""

    reference: str
    layers: frozenset[str]
    layer_count: int
    history: int

    def layer(self, index: int) -> bool:
        return index < self.layer_count

    @property
    def advice(self) -> str:
        return (f"Inherited from the base image {self.reference}: pick another base without "
                "it (a slim or distroless variant), or waive it (the contract's `waive` key) "
                "if this base is accepted as it is.")


def match(layers: Sequence[Layer], base: BaseImageLayers | None) -> Inherited | None:
    """The inherited part when the image starts with every base layer; None otherwise
    (another base, or a base rebuilt since: attributing a partial match would guess)."""
    if base is None or not base.diff_ids or len(layers) < len(base.diff_ids):
        return None
    ours = tuple(layer.digest for layer in layers[: len(base.diff_ids)])
    if ours != base.diff_ids:
        return None
    return Inherited(base.reference, frozenset(base.diff_ids), len(base.diff_ids), base.history)


def _is_inherited(finding: Finding, inherited: Inherited) -> bool:
    if not finding.evidence:
        return False
    for evidence in finding.evidence:
        if evidence.layer is not None:
            if evidence.layer not in inherited.layers:
                return False
        elif evidence.history is not None:
            if evidence.history >= inherited.history:
                return False
        else:
            return False             # a config-level finding: the image's own
    return True


def attribute(findings: Iterable[Finding], inherited: Inherited | None, *,
              enforce_tools: bool = False) -> list[Finding]:
    """Label findings whose evidence all lies in the base: message, remediation, field.

    Tool classes the base ships (Debian's dpkg and apt, Alpine's apk, python's pip)
    are on every image built FROM it: unless `enforce_tools`, they are capped at
    medium, reported but below the default failing level. Secrets and setuid files
    keep their severity: they ship whoever put them there."""
    if inherited is None:
        return list(findings)
    out = []
    for finding in findings:
        if finding.inherited_from is None and _is_inherited(finding, inherited):
            severity = finding.level
            if not enforce_tools and finding.rule_id.startswith(FORBIDDEN_PREFIX):
                severity = min(severity, Severity.MEDIUM)
            finding = replace(finding, inherited_from=inherited.reference, severity=severity,
                              message=f"{finding.message} (inherited from {inherited.reference})",
                              remediation=inherited.advice)
        out.append(finding)
    return out


def own(findings: Iterable[Finding]) -> list[Finding]:
    """The findings the image's own layers caused (reports filtered of inherited ones)."""
    return [f for f in findings if f.inherited_from is None]
