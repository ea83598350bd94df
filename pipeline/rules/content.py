"""The content scan: secrets by content, in every layer, collected while the image is read.

`ContentScan.feed` is the reader's `on_file`, so it sees files a later layer
deletes: they still ship in the earlier layer's blob. The `secrets` rule family
(pipeline.rules.secrets) turns its hits into findings; every rule receives the
scan through its Subject.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from pipeline.image.model import Layer
from pipeline.rules import patterns, prefilter

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
        if ".env" in path and is_dotenv(path):
            self.hits.append(Hit("secret.dotenv", ".env file", path, layer,
                                 f"{len(data)} bytes"))
        # Binary files (a NUL in the first 8 KiB) are skipped, as trivy's secret scanner
        # does: the patterns are text formats, and binaries are most of an image's bytes.
        if data.find(b"\0", 0, 8192) != -1 or not prefilter.may_hold_secret(data):
            return
        seen: set[str] = set()
        for found in patterns.CONTENT.finditer(data):
            rule_id, label = patterns.KINDS[(found.lastindex or 1) - 1]
            if label in seen:          # one hit per kind per file is enough evidence
                continue
            seen.add(label)
            self.hits.append(Hit(rule_id, label, path, layer, patterns.redact(found.group(0))))
