"""Bearer-token auth (the protocol of GHCR, Docker Hub, Harbor, GitLab) against a real
``docker-registry`` in token mode: push, attest, promote within and across repositories,
roll back, and refusals in one line."""

from __future__ import annotations

import re

import pytest

from pipeline.errors import RegistryError
from pipeline.registry import stages
from pipeline.registry.attestation import attest
from pipeline.registry.client import RegistryClient
from pipeline.registry.credentials import Credentials
from pipeline.registry.promotion import promote, rollback
from pipeline.registry.reference import require_digest
from tests.registry.conftest import CONTRACT_SHA256, FAST_RETRY, LANES, serve
from tests.registry.regimages import push_image
from tests.registry.regserver import RegistryServer
from tests.registry.tokenserver import TokenService

pytestmark = pytest.mark.registry
PASSWORD = "t0ken-Pa55word"


@pytest.fixture
def token_service():
    service = TokenService(users={
        "ci": (PASSWORD, {"team/*": {"pull", "push"}, "prod/*": {"pull", "push"}}),
        "reader": (PASSWORD, {"team/*": {"pull"}}),
    })
    service.start()
    yield service
    service.stop()


@pytest.fixture
def token_registry(tmp_path, token_service):
    yield from serve(RegistryServer(tmp_path / "registry", token=token_service))


def client_for(registry: RegistryServer, user: str, password: str = PASSWORD) -> RegistryClient:
    return RegistryClient(registry.host, credentials=Credentials(user, password),
                          retry=FAST_RETRY)


def test_promotion_flow_over_bearer_tokens(token_registry, token_service, key_pair):
    host = token_registry.host
    with client_for(token_registry, "ci") as client:
        refs = []
        for _ in range(2):
            manifest = push_image(client, "team/backend", [2048, 4096])
            ref = f"{host}/team/backend@{manifest.digest}"
            attest(client, ref, LANES, CONTRACT_SHA256, "deadbeef", key_pair[0], run_id="run-1")
            refs.append(ref)
        for ref in refs:
            event = promote(client, ref, "staging", key_pair[1])
            assert event.outcome == "promoted"
        digest = require_digest(refs[1]).digest
        assert client.head_manifest("team/backend", stages.stage_tag("staging")) == digest
        # Across repositories: the layers are mounted from team/backend (a token with
        # pull on the source and push on the target).
        promote(client, refs[0], "production", key_pair[1],
                target_repository=f"{host}/prod/backend")
        assert client.head_manifest("prod/backend", "stage-production") \
            == require_digest(refs[0]).digest
        back = rollback(client, f"{host}/team/backend", "staging", key_pair[1])
        assert back.digest == require_digest(refs[0]).digest
    # Docker's grammar, which strict token services enforce: one scope per parameter.
    asked = [scope for request in token_service.scope_requests for scope in request]
    assert asked and all(" " not in scope for scope in asked)
    assert any(len(request) > 1 for request in token_service.scope_requests), \
        "a cross-repository mount asks for both repositories"


def test_refusals_are_one_line_naming_the_reference(token_registry, key_pair):
    with client_for(token_registry, "ci") as client:
        manifest = push_image(client, "team/backend", [1024])

    with client_for(token_registry, "reader") as reader:  # may pull, not push
        assert reader.head_manifest("team/backend", manifest.digest) == manifest.digest
        with pytest.raises(RegistryError) as denied:
            push_image(reader, "team/backend", [1024])
    with client_for(token_registry, "ci", "wrong") as wrong:
        with pytest.raises(RegistryError) as refused:
            wrong.get_manifest("team/backend", manifest.digest)
    # The registry lists the actions in no fixed order.
    assert re.search(r"credentials not granted repository:team/backend:(push,pull|pull,push)\)",
                     str(denied.value)), denied.value
    for exc in (denied.value, refused.value):
        message = str(exc)
        assert "\n" not in message and PASSWORD not in message
        assert "team/backend" in message, message
    assert "refused: 401 Unauthorized (UNAUTHORIZED: bad credentials)" in str(refused.value)


@pytest.fixture
def far_token_service():
    """A token service on 127.0.0.2 whose realm says 127.0.0.1: what a Dagger module sees,
    where loopback is its own container and the engine's host is elsewhere."""
    service = TokenService(users={"ci": (PASSWORD, {"team/*": {"pull", "push"}})},
                           bind="127.0.0.2", advertise="127.0.0.1")
    service.start()
    yield service
    service.stop()


@pytest.fixture
def far_registry(tmp_path, far_token_service):
    yield from serve(RegistryServer(tmp_path / "registry", token=far_token_service,
                                    bind="127.0.0.2"))


def test_the_token_is_fetched_through_the_clients_own_dial(far_registry, far_token_service,
                                                           monkeypatch):
    # PIPELINE_REGISTRY_LOOPBACK (set by pipeline.module) says where 127.0.0.1 really is.
    # The token service the challenge names is dialed like the registry: a client that
    # fetched the realm as written would find nothing on 127.0.0.1 and fail.
    monkeypatch.setenv("PIPELINE_REGISTRY_LOOPBACK", "127.0.0.2")
    assert far_registry.host.startswith("127.0.0.1:")
    assert far_token_service.realm.startswith("http://127.0.0.1:")
    with client_for(far_registry, "ci") as client:
        manifest = push_image(client, "team/backend", [1024])
        assert client.head_manifest("team/backend", manifest.digest) == manifest.digest
    assert far_token_service.scope_requests, "the token came from the token service"
