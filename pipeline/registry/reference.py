"""Image references: ``host[:port]/repo/path[:tag][@sha256:<64 hex>]``.

Promotion and rendering act on *content*, so they take digests only; a tag is
a mutable pointer and is refused wherever a digest is required.
Grammar: the distribution reference grammar (docker/distribution
reference/regexp.go), restricted to explicit registry hosts because this
pipeline never talks to an implied Docker Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import InvalidReference

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPO = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"

_REFERENCE = re.compile(
    rf"^(?P<host>{_HOST})/(?P<repo>{_REPO})(?::(?P<tag>{TAG_PATTERN}))?(?:@(?P<digest>{DIGEST_PATTERN}))?$"
)
_DIGEST = re.compile(rf"^{DIGEST_PATTERN}$")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed reference; ``digest`` is set for content-addressed references."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``host/repository``: where the content lives, without tag or digest."""
        return f"{self.host}/{self.repository}"

    @property
    def hex(self) -> str:
        """The digest's hex part (raises if this reference has no digest)."""
        if self.digest is None:
            raise InvalidReference(f"{self}: no digest")
        return self.digest.removeprefix("sha256:")

    def with_digest(self, digest: str) -> ImageReference:
        return ImageReference(self.host, self.repository, None, require_digest_string(digest))

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


# The distribution spec caps a repository name at 255 characters; with a host, a
# 128-character tag and a digest, 512 is ample. Checked before the regex runs.
MAX_REFERENCE_LENGTH = 512
_USERINFO = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^/@]*@(?=[^/]*/)")
# For messages, broader: everything up to the last @ that does not start a digest.
_BEFORE_AT = re.compile(r"^.*@(?!sha256:)", re.DOTALL)


def shown(text: str) -> str:
    """`text` as it may appear in a message: user info (``user:password@``) masked, bounded."""
    masked = _BEFORE_AT.sub("***@", text.strip())
    return masked if len(masked) <= 100 else masked[:97] + "..."


def parse_reference(text: str) -> ImageReference:
    """Parse ``host/repo[:tag][@digest]``; one-line InvalidReference otherwise."""
    if _USERINFO.match(text.strip()):
        raise InvalidReference(
            f"{shown(text)!r}: credentials do not belong in an image reference",
            hint="set PIPELINE_REGISTRY_USERNAME and PIPELINE_REGISTRY_PASSWORD",
        )
    if len(text) > MAX_REFERENCE_LENGTH:
        raise InvalidReference(
            f"{shown(text)!r}: longer than {MAX_REFERENCE_LENGTH} characters")
    match = _REFERENCE.match(text.strip())
    if match is None:
        raise InvalidReference(
            f"{shown(text)!r}: not an image reference",
            hint="expected HOST[:PORT]/REPO[:TAG][@sha256:<64 hex>]",
        )
    return ImageReference(
        host=match["host"], repository=match["repo"], tag=match["tag"], digest=match["digest"]
    )


def parse_repository(text: str) -> ImageReference:
    """Parse ``host/repo`` (no tag, no digest): a stage's repository."""
    ref = parse_reference(text)
    if ref.tag or ref.digest:
        raise InvalidReference(
            f"{shown(text)!r}: expected a repository (HOST/REPO), not a tag or digest")
    return ref


def require_digest(text: str) -> ImageReference:
    """Parse a reference that must be pinned to content: ``host/repo@sha256:...``.

    A tag, even beside a digest, is refused: ``repo:tag@digest`` is ambiguous to
    a reader (which one is deployed?) and tools disagree on which wins.
    """
    ref = parse_reference(text)
    if ref.digest is None or ref.tag is not None:
        raise InvalidReference(
            f"{shown(text)}: a digest is required, not a tag",
            hint="use REPO@sha256:<64 hex>",
        )
    return ref


def require_digest_string(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise InvalidReference(f"{shown(digest)!r}: not a sha256 digest")
    return digest
