"""Secrets by content, in every layer: private keys, cloud keys, tokens, .env files.

The scan itself (pipeline.rules.content) runs while the image is read, so it
sees files a later layer deletes: they still ship in the earlier layer's
blob. Allowlisted hits are kept as INFO findings carrying the
allowlist's reason, so a suppression is always visible in reports.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding, Severity
from pipeline.image.model import Kind
from pipeline.rules.subject import Subject

if TYPE_CHECKING:
    # Either reading of the contract: the models or pipeline.contract.plain's records.
    from pipeline.contract.models import SecretAllow


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
