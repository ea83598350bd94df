"""The final stage's base image is one the contract allows (and the pinned digest, if any).

Where the base comes from, best first: the OCI annotations
`org.opencontainers.image.base.name/digest` (manifest or config labels), then the
final stage's FROM in the context's Dockerfile with the contract's build args.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding
from pipeline.rules.dockerfile import final_base

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"


@dataclass(frozen=True, slots=True)
class Ref:
    repository: str               # with host, without docker.io/library/
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> Ref:
        rest, _, digest = text.strip().partition("@")
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        tag = None
        if colon > slash:
            rest, tag = rest[:colon], rest[colon + 1:]
        repo = re.sub(r"^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/", "", rest)
        repo = repo.removeprefix("library/")
        return cls(repo, tag, digest or None)

    def allows(self, other: Ref) -> bool:
        """Does this allowed name cover `other`'s repository (and tag, when it names one)?"""
        same = other.repository == self.repository or \
            other.repository.endswith("/" + self.repository)
        return same and (self.tag is None or self.tag == other.tag)


def _declared_base(subject: Subject) -> tuple[str | None, str | None, str]:
    image = subject.image
    for source, values in (("manifest annotation", image.annotations),
                           ("config label", image.config.labels)):
        if values.get(BASE_NAME):
            return values[BASE_NAME], values.get(BASE_DIGEST), source
    if subject.context_dir is not None:
        dockerfile = subject.context_dir / subject.service.dockerfile
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None, None, ""
        ref = final_base(text, target=subject.service.target,
                         build_args=subject.service.build_args)
        if ref:
            return ref, None, f"FROM in {subject.service.dockerfile}"
    return None, None, ""


def check(subject: Subject) -> Iterator[Finding]:
    allowed = subject.service.base_images
    if not allowed:
        return
    name, digest, source = _declared_base(subject)
    if name is None:
        yield Finding("base.unknown", "the base image cannot be determined (no base annotation, "
                      "no Dockerfile in the build context)", subject=subject.name)
        return
    ref = Ref.parse(name)
    digest = digest or ref.digest
    matches = [entry for entry in allowed if Ref.parse(entry.name).allows(ref)]
    evidence = (Evidence(detail=f"{name} ({source})"),)
    if not matches:
        names = ", ".join(entry.name for entry in allowed)
        yield Finding("base.not-allowed", f"base image {name} is not allowed (allowed: {names})",
                      evidence, subject=subject.name)
        return
    pinned = [entry.digest for entry in matches if entry.digest]
    if pinned and digest not in pinned:
        yield Finding("base.digest-mismatch",
                      f"base image {name} is {digest or 'not pinned'}, contract pins "
                      f"{' or '.join(pinned)}", evidence, subject=subject.name)
