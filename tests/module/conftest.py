"""Fixtures for module mode: a checkout, a registry that needs a login, a signing key pair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from pipeline.registry import signing
from pipeline.registry.client import Credentials, RegistryClient
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
