"""Real OCI images made in Python for registry tests and the promotion benchmark.

Each layer is a gzip'd tar holding one file of random bytes; the config lists
the uncompressed diff_ids, so the image is one any runtime could pull and run.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import OCI_MANIFEST, Manifest

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG = "application/vnd.oci.image.config.v1+json"


def random_layer(size: int, name: str = "data.bin") -> tuple[bytes, str]:
    """A gzip'd tar with one random file; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    # Level 1: random data does not compress, so spend no time trying.
    blob = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
    return blob, "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def push_image(
    client: RegistryClient, repository: str, layer_sizes: list[int], *, tag: str | None = None,
    labels: dict[str, str] | None = None,
) -> Manifest:
    """Push a fresh random image; returns its manifest (digest in ``.digest``)."""
    layers, diff_ids = [], []
    for index, size in enumerate(layer_sizes):
        blob, diff_id = random_layer(size, f"layer{index}.bin")
        layers.append({"mediaType": LAYER, "digest": client.push_blob(repository, blob),
                       "size": len(blob)})
        diff_ids.append(diff_id)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"User": "10001", "Cmd": ["/bin/true"], "Labels": labels or {}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }, sort_keys=True).encode()
    manifest_doc = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG, "digest": client.push_blob(repository, config),
                   "size": len(config)},
        "layers": layers,
    }
    manifest = Manifest.from_bytes(json.dumps(manifest_doc, indent=2).encode(), OCI_MANIFEST)
    client.put_manifest(repository, manifest.digest, manifest)
    if tag:
        client.put_manifest(repository, tag, manifest)
    return manifest
