"""Make a manifest available in another repository of the same registry, moving no layer.

Blobs are linked with cross-repository mounts (distribution spec, "Mounting a
blob from another repository"); an index's child manifests are re-put
byte-for-byte by digest. If the registry will not mount a blob, this refuses
rather than silently re-uploading layers: promotion promises zero layer bytes.
"""

from __future__ import annotations

from pipeline.errors import RegistryError
from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import Manifest


def mount_manifest(
    client: RegistryClient, manifest: Manifest, source: str, target: str
) -> None:
    """Ensure ``manifest`` and everything it references exists in ``target``."""
    if manifest.is_index:
        for child_digest in manifest.child_digests():
            child = client.get_manifest(source, child_digest)
            if child is None:
                raise RegistryError(f"{client.host}/{source}@{child_digest}: index child missing")
            mount_manifest(client, child, source, target)
    else:
        for digest in manifest.blob_digests():
            if client.blob_exists(target, digest):
                continue
            if not client.mount_blob(target, digest, source):
                raise RegistryError(
                    f"{client.host}/{target}@{digest}: registry refused to mount from {source}"
                )
    client.put_manifest(target, manifest.digest, manifest)
