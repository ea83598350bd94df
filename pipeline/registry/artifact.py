"""OCI artifacts this pipeline stores: attestations, releases and stage events.

Each is an image manifest with OCI's empty config (``{}``), an ``artifactType``,
and its content in layers or annotations; an attestation also names its
``subject``. One builder for all of them, so they differ only in what they carry.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import EMPTY_CONFIG, EMPTY_MEDIA_TYPE, OCI_MANIFEST, Manifest


def empty_config(client: RegistryClient, repository: str) -> dict[str, Any]:
    """The descriptor of OCI's empty config (``{}``), pushed to ``repository``."""
    return {"mediaType": EMPTY_MEDIA_TYPE, "size": len(EMPTY_CONFIG),
            "digest": client.push_blob(repository, EMPTY_CONFIG)}


def artifact_manifest(
    client: RegistryClient, repository: str, artifact_type: str, *,
    layers: list[dict[str, Any]] | None = None, annotations: dict[str, str] | None = None,
    subject: Manifest | None = None, encoding: Literal["sorted", "indented"] = "sorted",
) -> Manifest:
    """An artifact manifest for ``repository`` (its empty config pushed there).

    ``encoding``: the JSON layout of the bytes, which fixes the digest. Image
    attestations have always been written indented in key order, releases and
    events compact with sorted keys; each kind keeps its own so that what a
    registry already holds is what this writes again.
    """
    doc: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": empty_config(client, repository), "layers": layers or [],
    }
    if annotations:
        doc["annotations"] = annotations
    if subject is not None:
        doc["subject"] = subject.descriptor()
    data = (json.dumps(doc, indent=2) if encoding == "indented"
            else json.dumps(doc, sort_keys=True))
    return Manifest.from_bytes(data.encode(), OCI_MANIFEST)
