"""Fixtures: a real registry server per test, a client, a signing key pair, validated images."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

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


def at_once(host: str, act: Callable[[RegistryClient, Any], Any], items: Sequence[Any],
            timeout: float = 60) -> dict[Any, Any]:
    """``act(own client, item)`` for every item, each in its own thread with its own client,
    released together; item -> what ``act`` returned. Fails on any exception raised."""
    barrier = threading.Barrier(len(items))
    results: dict[Any, Any] = {}
    errors: list[Exception] = []

    def run(item: Any) -> None:
        with RegistryClient(host, retry=FAST_RETRY) as own:
            barrier.wait()
            try:
                results[item] = act(own, item)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not errors, errors
    return results
