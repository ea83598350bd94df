"""Ed25519 keys and DSSE envelopes (https://github.com/secure-systems-lab/dsse).

Keyless signing needs an online CA and transparency log; this pipeline must
work air-gapped, so a key pair is given to it: the private key as a secret
(env PIPELINE_SIGNING_KEY, PEM) or a file, the public key as a file or env
PIPELINE_ATTESTATION_PUBLIC_KEY. Key material never enters a message: errors
name where the key came from, not what it holds.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import SigningKeyError
from pipeline.registry.keyenv import PUBLIC_KEY_ENV, SIGNING_KEY_ENV

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyid: str = ""
    sig: str


class Envelope(BaseModel):
    """A DSSE envelope: base64 payload, its type, and signatures over PAE(type, payload)."""

    model_config = ConfigDict(extra="forbid")
    payload: str
    payloadType: str
    signatures: list[Signature]

    def payload_bytes(self) -> bytes:
        return base64.b64decode(self.payload, validate=True)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_private_key(pem: bytes, *, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source}: not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{source}: not an Ed25519 private key")
    return key


def load_public_key(pem: bytes, *, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{source}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{source}: not an Ed25519 public key")
    return key


def signing_key_pem(path: str | None = None) -> tuple[bytes, str]:
    """The private key PEM from a file or $PIPELINE_SIGNING_KEY, and where it came from."""
    if path:
        return _read(path), path
    value = os.environ.get(SIGNING_KEY_ENV)
    if not value:
        raise SigningKeyError(f"{SIGNING_KEY_ENV}: not set and no --signing-key file given")
    return value.encode(), SIGNING_KEY_ENV


def public_key(path: str | None = None) -> Ed25519PublicKey:
    """The verification key from a file or $PIPELINE_ATTESTATION_PUBLIC_KEY (PEM or a path)."""
    if path:
        return load_public_key(_read(path), source=path)
    value = os.environ.get(PUBLIC_KEY_ENV)
    if not value:
        raise SigningKeyError(f"{PUBLIC_KEY_ENV}: not set and no --public-key file given")
    if value.lstrip().startswith("-----BEGIN"):
        return load_public_key(value.encode(), source=PUBLIC_KEY_ENV)
    # A path, or a key pasted without its BEGIN line: either way the value is never echoed.
    try:
        pem = _read_bounded(value)
    except (OSError, ValueError):
        raise SigningKeyError(f"{PUBLIC_KEY_ENV}: neither a PEM public key nor a readable "
                              "key file") from None
    return load_public_key(pem, source=f"{PUBLIC_KEY_ENV} (the file it names)")


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) pair."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def sign(
    payload: bytes, key: Ed25519PrivateKey, payload_type: str = IN_TOTO_PAYLOAD_TYPE
) -> Envelope:
    signature = key.sign(pae(payload_type, payload))
    keyid = key_id(key.public_key())
    return Envelope(
        payload=base64.b64encode(payload).decode(),
        payloadType=payload_type,
        signatures=[Signature(keyid=keyid, sig=base64.b64encode(signature).decode())],
    )


def parse_envelope(data: bytes) -> Envelope | None:
    try:
        return Envelope.model_validate_json(data)
    except ValidationError:
        return None


def verify(envelope: Envelope, key: Ed25519PublicKey) -> bytes | None:
    """The payload when one signature verifies under ``key``; None otherwise."""
    try:
        payload = envelope.payload_bytes()
    except ValueError:
        return None
    message = pae(envelope.payloadType, payload)
    for signature in envelope.signatures:
        try:
            key.verify(base64.b64decode(signature.sig), message)
        except (InvalidSignature, ValueError):
            continue
        return payload
    return None


MAX_KEY_BYTES = 64 * 1024   # a PEM key is well under 1 KiB


def _read_bounded(path: str) -> bytes:
    """At most MAX_KEY_BYTES of `path` (ValueError beyond): /dev/zero is not a key.

    Opened non-blocking, then switched back: a FIFO with no writer reads as empty
    instead of hanging, and ``<(vault read ...)`` still works.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_KEY_BYTES + 1)
    if len(data) > MAX_KEY_BYTES:
        raise ValueError(f"over {MAX_KEY_BYTES} bytes")
    return data


def _read(path: str) -> bytes:
    try:
        return _read_bounded(path)
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read key file ({exc.strerror})") from None
    except ValueError as exc:
        raise SigningKeyError(f"{path}: not a key file ({exc})") from None
