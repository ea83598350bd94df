"""Fixtures: a real registry server per test, a client, a signing key pair, validated images."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pipeline.registry import signing
from pipeline.registry.attestation import attest
from pipeline.registry.client import RegistryClient, RetryPolicy
from tests.conftest import missing
from tests.registry.regimages import push_image
from tests.registry.regserver import RegistryServer, available

CONTRACT_SHA256 = "ab" * 32
LANES = ["build", "lint", "unit-test", "contract", "integration", "e2e"]
# Fail fast in tests: a dead registry costs 3 attempts, well under a second.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)


def serve(server: RegistryServer) -> Iterator[RegistryServer]:
    """Start ``server`` for one fixture and stop it after; a registry that cannot run is
    reported through ``missing`` (a failure under PIPELINE_REQUIRE_REAL)."""
    why = available()
    if why:
        missing("registry", why)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        missing("registry", f"docker-registry did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryServer]:
    yield from serve(RegistryServer(tmp_path / "registry"))


@pytest.fixture
def client(registry: RegistryServer) -> Iterator[RegistryClient]:
    with RegistryClient(registry.host, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture(scope="session")
def key_pair() -> tuple[bytes, Ed25519PublicKey]:
    private, public = signing.generate_key_pair()
    return private, signing.load_public_key(public, source="test")


ImageMaker = Callable[..., str]


@pytest.fixture
def make_image(client: RegistryClient, registry: RegistryServer, key_pair) -> ImageMaker:
    """Push a fresh random image; attest it unless told otherwise; returns REPO@digest."""

    def make(repository: str = "team/backend", *, attested: bool = True,
             failed: tuple[str, ...] = (), sizes: tuple[int, ...] = (2048, 4096)) -> str:
        manifest = push_image(client, repository, list(sizes))
        ref = f"{registry.host}/{repository}@{manifest.digest}"
        if attested:
            attest(client, ref, LANES, CONTRACT_SHA256, "deadbeef", key_pair[0],
                   lanes_failed=failed, run_id="run-1")
        return ref

    return make
