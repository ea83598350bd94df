"""Validation attestations: "this digest passed these lanes", signed, stored beside it.

The statement is an in-toto Statement v1 (https://github.com/in-toto/attestation/
blob/main/spec/v1/statement.md) whose subject is the image digest and whose
predicate names the lanes that passed (and any that failed), the contract's
sha256, the git revision and the run id. It is wrapped in a DSSE envelope signed
with Ed25519 and pushed as an OCI artifact under the digest-derived tag
``sha256-<hex>.att`` (cosign's scheme: distribution 2.8 has no referrers API).
The artifact also sets ``subject``, so registries with the referrers API list it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import PipelineError, PromotionRefused, RegistryError
from pipeline.registry import signing
from pipeline.registry.artifact import artifact_manifest
from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import Manifest
from pipeline.registry.policy import DEFAULT_POLICY, Policy
from pipeline.registry.reference import ImageReference, require_digest

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:pipeline:predicate:validation:v1"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class ValidationPredicate(BaseModel):
    """What the run proved about the digest."""

    model_config = ConfigDict(extra="forbid")
    lanes_passed: list[str]
    lanes_failed: list[str] = Field(default_factory=list)
    contract_sha256: str
    git_revision: str
    run_id: str = ""
    created: datetime
    # Gradual adoption, recorded so that promotion policy can refuse it: the contract
    # waivers that let findings pass (pipeline.waivers.WaiverStatus as dicts), and whether
    # the contract lanes gated the test lanes (False: validate --keep-going).
    waivers: list[dict[str, Any]] = Field(default_factory=list)
    gating: bool = True
    # The release this digest was published in, and its services: a digest of a
    # multi-service release is promoted with its release, never alone.
    release: str = ""
    release_services: list[str] = Field(default_factory=list)


class StatementSubject(BaseModel):
    """One thing an in-toto statement is about: a name and its digest(s)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    digest: dict[str, str]


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    type_: str = Field(default=STATEMENT_TYPE, alias="_type")
    subject: list[StatementSubject]
    predicateType: str = PREDICATE_TYPE
    predicate: ValidationPredicate

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def attestation_tag(digest: str) -> str:
    """cosign-style digest-derived tag: ``sha256:<hex>`` -> ``sha256-<hex>.att``."""
    return digest.replace(":", "-") + ".att"


def attest(
    client: RegistryClient,
    image_ref: str,
    lanes_passed: Sequence[str],
    contract_sha256: str,
    git_revision: str,
    signing_key_pem: bytes,
    *,
    lanes_failed: Sequence[str] = (),
    run_id: str = "",
    key_source: str = "signing key",
    waivers: Sequence[dict[str, Any]] = (),
    gating: bool = True,
    release: str = "",
    release_services: Sequence[str] = (),
) -> str:
    """Sign and store an attestation beside ``image_ref``; returns ``repo@<attestation digest>``.

    Refused before any request: no lane at all (an attestation that proves nothing),
    a blank lane name, a contract hash that is not 64 hex digits.
    """
    image = require_digest(image_ref)
    if not lanes_passed and not lanes_failed:
        raise PipelineError(f"{image}: no lane given, an attestation must name the lanes it proves")
    if any(not lane.strip() for lane in (*lanes_passed, *lanes_failed)):
        raise PipelineError(f"{image}: a lane name is blank")
    if not _SHA256_HEX.fullmatch(contract_sha256):
        raise PipelineError("contract sha256: not 64 hexadecimal digits")
    contract_sha256 = contract_sha256.lower()
    key = signing.load_private_key(signing_key_pem, source=key_source)
    subject = client.get_manifest(image.repository, image.digest or "")
    if subject is None:
        raise RegistryError(f"{image}: no such manifest, cannot attest it")
    statement = Statement(
        subject=[StatementSubject(name=image.name, digest={"sha256": image.hex})],
        predicate=ValidationPredicate(
            lanes_passed=list(lanes_passed), lanes_failed=list(lanes_failed),
            contract_sha256=contract_sha256, git_revision=git_revision, run_id=run_id,
            created=datetime.now(UTC), waivers=list(waivers), gating=gating,
            release=release, release_services=list(release_services),
        ),
    )
    envelope = signing.sign(statement.to_bytes(), key).model_dump_json().encode()
    manifest = _artifact_manifest(client, image, subject, envelope)
    client.put_manifest(image.repository, attestation_tag(subject.digest), manifest)
    return str(image.with_digest(manifest.digest))


def verify_attestation(
    client: RegistryClient,
    image: ImageReference,
    public_key: Ed25519PublicKey,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> Statement:
    """The verified statement for ``image``; PromotionRefused with the reason otherwise."""
    repo = image.repository
    tag = attestation_tag(image.digest or "")
    where = f"{image.host}/{repo}:{tag}"
    payload = signed_payload(client, repo, tag, public_key, Refusals(
        missing=f"{image}: unvalidated, no attestation ({where} not found)",
        no_envelope=f"{image}: attestation {where} holds no DSSE envelope",
        bad_signature=f"{image}: attestation signature invalid (tampered, or signed by another key)",
    ))
    try:
        statement = Statement.model_validate_json(payload)
    except ValidationError as exc:
        raise PromotionRefused(f"{image}: attestation is not a validation statement") from exc
    if statement.predicateType != PREDICATE_TYPE:
        raise PromotionRefused(f"{image}: attestation has predicate {statement.predicateType}")
    digests = {s.digest.get("sha256") for s in statement.subject}
    if image.hex not in digests:
        raise PromotionRefused(f"{image}: attestation is for another digest")
    predicate = statement.predicate
    if predicate.lanes_failed:
        raise PromotionRefused(f"{image}: failed gate(s): {', '.join(predicate.lanes_failed)}")
    policy.check(str(image), lanes_passed=predicate.lanes_passed, waivers=predicate.waivers,
                 gating=predicate.gating)
    return statement


def _artifact_manifest(
    client: RegistryClient, image: ImageReference, subject: Manifest, envelope: bytes
) -> Manifest:
    layer = {"mediaType": DSSE_MEDIA_TYPE, "size": len(envelope),
             "digest": client.push_blob(image.repository, envelope)}
    return artifact_manifest(client, image.repository, signing.IN_TOTO_PAYLOAD_TYPE,
                             layers=[layer], subject=subject, encoding="indented")


@dataclass(frozen=True)
class Refusals:
    """What `signed_payload` refuses a missing, envelope-less or badly signed attestation as."""

    missing: str
    no_envelope: str
    bad_signature: str


def signed_payload(client: RegistryClient, repository: str, tag: str,
                   public_key: Ed25519PublicKey, refusals: Refusals) -> bytes:
    """The verified DSSE payload of the attestation stored under `tag` (an image's or a
    release's); PromotionRefused with the matching line of `refusals` otherwise."""
    manifest = client.get_manifest(repository, tag)
    if manifest is None:
        raise PromotionRefused(refusals.missing)
    layer = _envelope_layer(manifest)
    blob = client.get_blob(repository, layer) if layer else None
    envelope = signing.parse_envelope(blob) if blob else None
    if envelope is None:
        raise PromotionRefused(refusals.no_envelope)
    payload = signing.verify(envelope, public_key)
    if payload is None:
        raise PromotionRefused(refusals.bad_signature)
    return payload


def _envelope_layer(manifest: Manifest) -> str | None:
    try:
        layers = manifest.descriptors("layers")
    except (ValueError, RegistryError):  # not an attestation we wrote: there is none
        return None
    return next((lay["digest"] for lay in layers if lay.get("mediaType") == DSSE_MEDIA_TYPE), None)
