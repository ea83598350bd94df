"""Releases (Kargo's Freight): the service digests one validate run built and passed, as one.

A release is stored in a release repository beside the images
(``<prefix>/releases``, or ``<prefix>/<project>-releases`` with ``[release] project``):

- tag ``<id>``: the release manifest, an OCI artifact (empty config, no layers) whose
  annotation holds the release JSON (services and their digests, lanes passed,
  waivers, contract hash, git revision, run id);
- tag ``<id>.att``: a DSSE envelope (Ed25519, the machinery of attestation.py) over
  an in-toto statement whose subjects are the release manifest and every service
  image, and whose predicate is the whole release.

The id is derived from the service digests alone (``rel-`` + 24 hex of the sha256
of the sorted ``service=digest`` lines), so the same digests always give the same id,
and a release whose digests were edited no longer matches its own id.

Verification (``verify_release``) is all-or-nothing: the signature, the id, every
digest, and every image manifest's presence, before anything moves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import InvalidReference, PromotionRefused
from pipeline.registry import signing
from pipeline.registry.artifact import artifact_manifest
from pipeline.registry.attestation import (
    DSSE_MEDIA_TYPE,
    Refusals,
    StatementSubject,
    signed_payload,
)
from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import Manifest
from pipeline.registry.policy import DEFAULT_POLICY, Policy
from pipeline.registry.reference import ImageReference, parse_reference, require_digest

RELEASE_ARTIFACT_TYPE = "application/vnd.pipeline.release.v1+json"
RELEASE_ANNOTATION = "dev.pipeline.release"
RELEASE_PREDICATE_TYPE = "urn:pipeline:predicate:release:v1"
RELEASES_REPOSITORY = "releases"
_ID = re.compile(r"^rel-[0-9a-f]{24}$")


class ReleaseService(BaseModel):
    """One service of a release: where its image lives and the digest validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    repository: str  # host/repo
    digest: str
    port: int | None = None

    @property
    def reference(self) -> str:
        return f"{self.repository}@{self.digest}"

    @property
    def image(self) -> ImageReference:
        return require_digest(self.reference)


class Release(BaseModel):
    """What one validate run built and passed, as one unit of promotion."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    services: dict[str, ReleaseService]
    lanes_passed: list[str]
    waivers: list[Any] = Field(default_factory=list)
    contract_sha256: str
    git_revision: str
    run_id: str = ""
    version: str | None = None  # the semver tagged on the images, if any
    created: datetime

    def digests(self) -> dict[str, str]:
        return {name: s.digest for name, s in self.services.items()}


class ReleaseStatement(BaseModel):
    """in-toto Statement v1 binding the release manifest and every image to the release."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type_: str = Field(default="https://in-toto.io/Statement/v1", alias="_type")
    subject: list[StatementSubject]
    predicateType: str = RELEASE_PREDICATE_TYPE
    predicate: Release


def release_id(digests: Mapping[str, str]) -> str:
    """``rel-<24 hex>`` from the service digests: same digests, same id."""
    if not digests:
        raise PromotionRefused("a release needs at least one service")
    canonical = "".join(f"{name}={digest}\n" for name, digest in sorted(digests.items()))
    return "rel-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


def require_release_id(text: str) -> str:
    if not _ID.match(text):
        raise InvalidReference(f"release {text!r}: expected rel-<24 hex digits>")
    return text


def new_release(
    images: Mapping[str, str], *, lanes_passed: Sequence[str], contract_sha256: str,
    git_revision: str, run_id: str = "", waivers: Sequence[Any] = (),
    ports: Mapping[str, int] | None = None, version: str | None = None,
) -> Release:
    """The release of ``images`` (service -> ``repo@sha256:...``, all on one registry)."""
    services = {}
    for name, text in sorted(images.items()):
        ref = require_digest(text)
        services[name] = ReleaseService(repository=ref.name, digest=ref.digest or "",
                                        port=(ports or {}).get(name))
    return Release(
        id=release_id({n: s.digest for n, s in services.items()}), services=services,
        lanes_passed=sorted(lanes_passed), waivers=list(waivers),
        contract_sha256=contract_sha256, git_revision=git_revision, run_id=run_id,
        version=version, created=datetime.now(UTC),
    )


def releases_repository(images_prefix: str, project: str | None = None) -> str:
    """Where releases of images pushed under ``images_prefix`` are stored (host/repo)."""
    name = f"{project}-{RELEASES_REPOSITORY}" if project else RELEASES_REPOSITORY
    return f"{images_prefix.rstrip('/')}/{name}"


def attestation_tag(rid: str) -> str:
    return f"{rid}.att"


def publish_release(
    client: RegistryClient, repository: str, release: Release, signing_key_pem: bytes | None,
    *, key_source: str = "signing key",
) -> str:
    """Store ``release`` (and, with a key, its signed attestation) in ``repository``
    (``host/repo``); returns ``host/repo@<release manifest digest>``."""
    repo = parse_reference(repository)
    for name, service in release.services.items():
        if service.image.host != client.host:
            raise InvalidReference(f"{service.reference}: service {name} is not on {client.host}")
    manifest = artifact_manifest(client, repo.repository, RELEASE_ARTIFACT_TYPE,
                                 annotations={RELEASE_ANNOTATION: release.model_dump_json()})
    if signing_key_pem is not None:
        # Sign first, tag the release after: a release tag never exists without its proof.
        key = signing.load_private_key(signing_key_pem, source=key_source)
        subjects = [StatementSubject(name=repo.name, digest={"sha256": _hex(manifest.digest)})]
        subjects += [StatementSubject(name=s.repository, digest={"sha256": _hex(s.digest)})
                     for s in release.services.values()]
        statement = ReleaseStatement(subject=subjects, predicate=release)
        envelope = signing.sign(statement.model_dump_json(by_alias=True).encode(), key)
        data = envelope.model_dump_json().encode()
        layer = {"mediaType": DSSE_MEDIA_TYPE, "size": len(data),
                 "digest": client.push_blob(repo.repository, data)}
        client.put_manifest(repo.repository, manifest.digest, manifest)
        attestation = artifact_manifest(client, repo.repository, signing.IN_TOTO_PAYLOAD_TYPE,
                                        layers=[layer], subject=manifest)
        client.put_manifest(repo.repository, attestation_tag(release.id), attestation)
    client.put_manifest(repo.repository, release.id, manifest)
    return f"{repo.name}@{manifest.digest}"


def read_release_manifest(manifest: Manifest, where: str) -> Release:
    try:
        raw = manifest.json().get("annotations", {}).get(RELEASE_ANNOTATION)
        return Release.model_validate_json(raw or "")
    except (ValueError, AttributeError, TypeError, ValidationError) as exc:
        raise PromotionRefused(f"{where}: not a release manifest") from exc


def load_release(client: RegistryClient, repository: str, rid: str) -> tuple[Release, Manifest]:
    """The release under tag ``rid`` of ``repository`` (a path), unverified."""
    where = f"{client.host}/{repository}:{require_release_id(rid)}"
    manifest = client.get_manifest(repository, rid)
    if manifest is None:
        raise PromotionRefused(f"{where}: unknown release")
    return read_release_manifest(manifest, where), manifest


def verify_release(
    client: RegistryClient, repository: str, rid: str, public_key: Ed25519PublicKey,
    *, policy: Policy = DEFAULT_POLICY,
) -> tuple[Release, dict[str, Manifest], Manifest]:
    """The release, each service's image manifest and the release manifest, once all of it
    verified; PromotionRefused naming the first thing that did not."""
    release, manifest = load_release(client, repository, rid)
    where = f"{client.host}/{repository}:{rid}"
    if release.id != rid or release_id(release.digests()) != rid:
        raise PromotionRefused(f"{where}: release id does not match its digests (edited?)")
    payload = signed_payload(client, repository, attestation_tag(rid), public_key, Refusals(
        missing=f"{where}: unsigned, no attestation ({attestation_tag(rid)})",
        no_envelope=f"{where}: attestation holds no DSSE envelope",
        bad_signature=f"{where}: release attestation signature invalid (tampered, or signed by "
                      "another key)",
    ))
    try:
        statement = ReleaseStatement.model_validate_json(payload)
    except ValidationError as exc:
        raise PromotionRefused(f"{where}: attestation is not a release statement") from exc
    signed = statement.predicate
    if statement.predicateType != RELEASE_PREDICATE_TYPE or signed.id != rid:
        raise PromotionRefused(f"{where}: attestation is for another release")
    subjects = {(s.name, s.digest.get("sha256")) for s in statement.subject}
    if (f"{client.host}/{repository}", _hex(manifest.digest)) not in subjects:
        raise PromotionRefused(f"{where}: attestation is for another release manifest")
    for name, service in release.services.items():
        theirs = signed.services.get(name)
        if theirs != service or (service.repository, _hex(service.digest)) not in subjects:
            raise PromotionRefused(
                f"{where}: service {name} digest {service.digest} is not the one attested")
    if signed != release:
        raise PromotionRefused(f"{where}: release record differs from its attestation")
    policy.check(where, lanes_passed=signed.lanes_passed, waivers=signed.waivers)
    images = {}
    for name, service in sorted(release.services.items()):
        image = service.image
        if image.host != client.host:
            raise PromotionRefused(f"{where}: service {name} is on {image.host}, not {client.host}")
        found = client.get_manifest(image.repository, service.digest)
        if found is None:
            raise PromotionRefused(f"{service.reference}: unknown digest (service {name})")
        images[name] = found
    return release, images, manifest


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")

