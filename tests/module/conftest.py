"""Fixtures for module mode: a checkout, a registry that needs a login, a signing key pair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from pipeline.registry import signing
from pipeline.registry.client import RegistryClient
from pipeline.registry.credentials import Credentials
from tests.module.daggercli import Forward, make_checkout
from tests.registry.conftest import serve
from tests.registry.regserver import RegistryServer

USER, PASSWORD = "ci", "module-mode-Pa55word"
REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return make_checkout(tmp_path_factory.mktemp("module-mode") / "repo")


@pytest.fixture(scope="module")
def login_registry(tmp_path_factory) -> Iterator[RegistryServer]:
    """A registry that refuses anonymous requests, reachable from the module's container
    at the same 127.0.0.1:PORT (forwarded from the engine's bridge, as scripts/engine does)."""
    root = tmp_path_factory.mktemp("login-registry")
    htpasswd = root / "htpasswd"
    htpasswd.write_bytes(USER.encode() + b":" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)))
    for server in serve(RegistryServer(root / "registry", htpasswd=htpasswd)):
        forward = Forward(server.port)
        try:
            yield server
        finally:
            forward.close()


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    """(private PEM, public PEM)."""
    return signing.generate_key_pair()


def login_client(registry: RegistryServer) -> RegistryClient:
    return RegistryClient(registry.host, credentials=Credentials(USER, PASSWORD))


def published_digests(registry: RegistryServer, prefix: str) -> dict[str, str]:
    """Service -> HOST/PREFIX/SERVICE@sha256 of what one publish pushed (its run-* tag)."""
    found = {}
    with login_client(registry) as client:
        for service in ("backend", "frontend"):
            repository = f"{prefix}/{service}"
            tags = [t for t in client.list_tags(repository) if t.startswith("run-")]
            assert len(tags) == 1, tags
            manifest = client.get_manifest(repository, tags[0])
            assert manifest is not None
            found[service] = f"{registry.host}/{repository}@{manifest.digest}"
    return found


def published_release(registry: RegistryServer, prefix: str) -> str:
    """The id of the one release a publish stored in PREFIX/releases."""
    with login_client(registry) as client:
        ids = [t for t in client.list_tags(f"{prefix}/releases")
               if t.startswith("rel-") and not t.endswith(".att")]
    assert len(ids) == 1, ids
    return ids[0]


def relabelled_release(registry: RegistryServer, prefix: str, rid: str, private: bytes) -> str:
    """A second signed release of the same services: the backend's manifest with one more
    label in its config (same layers, so it runs and verifies like the first); its id."""
    import json

    from pipeline.registry.oci import Manifest
    from pipeline.registry.releases import load_release, new_release, publish_release

    with login_client(registry) as client:
        first, _ = load_release(client, f"{prefix}/releases", rid)
        backend = first.services["backend"].image
        manifest = client.get_manifest(backend.repository, backend.digest or "")
        doc = manifest.json()
        config = json.loads(client.get_blob(backend.repository, doc["config"]["digest"]))
        config.setdefault("config", {}).setdefault("Labels", {})["dev.pipeline.test"] = "two"
        data = json.dumps(config).encode()
        doc["config"] = {**doc["config"], "digest": client.push_blob(backend.repository, data),
                         "size": len(data)}
        second = Manifest.from_bytes(json.dumps(doc).encode(), manifest.media_type)
        client.put_manifest(backend.repository, second.digest, second)
        images = {name: s.reference for name, s in first.services.items()}
        images["backend"] = f"{backend.name}@{second.digest}"
        release = new_release(images, lanes_passed=first.lanes_passed,
                              contract_sha256=first.contract_sha256,
                              git_revision=first.git_revision, run_id="second",
                              ports={n: s.port for n, s in first.services.items() if s.port})
        publish_release(client, f"{registry.host}/{prefix}/releases", release, private)
    return release.id
