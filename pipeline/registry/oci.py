"""OCI content as the distribution spec names it: media types, manifests, descriptors.

A `Manifest` keeps the bytes the registry served: promotion's point is "the same
bytes under a new name", so nothing here re-encodes one (see client.py for why
not oras-py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pipeline.errors import RegistryBadResponse

EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
INDEX_MEDIA_TYPES = (OCI_INDEX, DOCKER_LIST)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest exactly as the registry served it: bytes, media type, digest."""

    data: bytes
    media_type: str
    digest: str

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        """ValueError unless `data` is a JSON object."""
        doc = json.loads(data)
        if not isinstance(doc, dict):
            raise ValueError("a manifest is a JSON object")  # noqa: TRY004 - callers map ValueError
        kind = doc.get("mediaType")
        return cls(data, media_type or (kind if isinstance(kind, str) else None) or OCI_MANIFEST,
                   sha256_digest(data))

    def json(self) -> dict[str, Any]:
        return json.loads(self.data)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    def descriptor(self) -> dict[str, Any]:
        """This manifest as a descriptor (e.g. an artifact's ``subject``)."""
        return {"mediaType": self.media_type, "size": len(self.data), "digest": self.digest}

    def descriptors(self, key: str) -> list[dict[str, Any]]:
        """The descriptors under `key` ("layers", "manifests"), each checked to be an object
        with a sha256 digest; RegistryBadResponse naming the manifest otherwise."""
        value = self.json().get(key) or []
        if not isinstance(value, list) or not all(is_descriptor(d) for d in value):
            raise RegistryBadResponse(
                f"manifest {self.digest}: {key} must be a list of descriptors with sha256 digests")
        return value

    def blob_digests(self) -> list[str]:
        """Config and layer digests (an image manifest's blobs)."""
        config = self.json().get("config")
        if config is not None and not is_descriptor(config):
            raise RegistryBadResponse(f"manifest {self.digest}: config is not a descriptor")
        blobs = [config["digest"]] if config is not None else []
        return blobs + [layer["digest"] for layer in self.descriptors("layers")]

    def child_digests(self) -> list[str]:
        """Manifests an index points at."""
        return [m["digest"] for m in self.descriptors("manifests")]

    def annotations(self) -> dict[str, Any]:
        value = self.json().get("annotations") or {}
        return value if isinstance(value, dict) else {}


def is_descriptor(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("digest"), str)
            and DIGEST.match(value["digest"]) is not None)
