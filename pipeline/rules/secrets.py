"""Secrets by content, in every layer: private keys, cloud keys, tokens, .env files.

The scan runs while the image is read (`ContentScan.feed` is the reader's
`on_file`), so it sees files a later layer deletes: they still ship in the
earlier layer's blob. Allowlisted hits are kept as INFO findings carrying the
allowlist's reason, so a suppression is always visible in reports.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.contract.models import SecretAllow
from pipeline.findings import Evidence, Finding, Severity
from pipeline.image.model import Kind, Layer
from pipeline.rules import patterns, prefilter

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

# .env files hold configuration and usually secrets; templates are meant to ship.
_DOTENV_TEMPLATES = (".example", ".sample", ".template", ".dist", ".defaults")


def is_dotenv(path: str) -> bool:
    if ".env" not in path:
        return False
    base = posixpath.basename(path)
    if base != ".env" and not base.startswith(".env."):
        return False
    return not base.endswith(_DOTENV_TEMPLATES)


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    label: str
    path: str
    layer: Layer
    excerpt: str                  # redacted


@dataclass
class ContentScan:
    """Collects secret hits from every file offered to `feed`."""

    hits: list[Hit] = field(default_factory=list)

    def feed(self, layer: Layer, path: str, data: bytes) -> None:
        if is_dotenv(path):
            self.hits.append(Hit("secret.dotenv", ".env file", path, layer,
                                 f"{len(data)} bytes"))
        # Binary files (a NUL in the first 8 KiB) are skipped, as trivy's secret scanner
        # does: the patterns are text formats, and binaries are most of an image's bytes.
        if b"\0" in data[:8192] or not prefilter.may_hold_secret(data):
            return
        seen: set[str] = set()
        for found in patterns.CONTENT.finditer(data):
            rule_id, label = patterns.KINDS[(found.lastindex or 1) - 1]
            if label in seen:          # one hit per kind per file is enough evidence
                continue
            seen.add(label)
            self.hits.append(Hit(rule_id, label, path, layer, patterns.redact(found.group(0))))


def _allowed(path: str, allowlist: Sequence[SecretAllow]) -> SecretAllow | None:
    for entry in allowlist:
        if path == entry.path or fnmatch.fnmatchcase(path, entry.path):
            return entry
    return None


def check(subject: Subject) -> Iterator[Finding]:
    image = subject.image
    for hit in subject.content.hits:
        final = image.stat(hit.path)
        shipped = (final is not None and final.kind is Kind.FILE and final.layer == hit.layer.index)
        where = ("in the final filesystem" if shipped else
                 "deleted or replaced by a later layer, but still shipped in its layer")
        evidence = (Evidence(layer=hit.layer.digest, path=hit.path, detail=hit.excerpt),)
        allowed = _allowed(hit.path, subject.service.secrets_allowlist)
        if allowed is not None:
            yield Finding(hit.rule_id, f"{hit.label} in /{hit.path} allowlisted: {allowed.reason}",
                          evidence, severity=Severity.INFO, subject=subject.name)
            continue
        yield Finding(hit.rule_id, f"{hit.label} in /{hit.path} ({where}, layer {hit.layer.index})",
                      evidence, subject=subject.name)
