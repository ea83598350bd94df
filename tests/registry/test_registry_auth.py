"""Registry credentials: from the environment, used, and never shown."""

from __future__ import annotations

import bcrypt
import pytest

from pipeline.errors import RegistryError
from pipeline.registry.client import RegistryClient
from pipeline.registry.credentials import Credentials
from tests.registry.conftest import FAST_RETRY, serve
from tests.registry.regimages import push_image
from tests.registry.regserver import RegistryServer

pytestmark = pytest.mark.registry
PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def locked_registry(tmp_path):
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_bytes(b"ci:" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)))
    yield from serve(RegistryServer(tmp_path / "registry", htpasswd=htpasswd))


def test_credentials_from_environment_are_used_and_never_shown(locked_registry, monkeypatch):
    monkeypatch.setenv("PIPELINE_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("PIPELINE_REGISTRY_PASSWORD", PASSWORD)
    creds = Credentials.from_env()
    assert PASSWORD not in repr(creds)
    with RegistryClient(locked_registry.host, credentials=creds, retry=FAST_RETRY) as client:
        manifest = push_image(client, "team/backend", [1024], tag="v1")
        assert client.head_manifest("team/backend", "v1") == manifest.digest
        assert PASSWORD not in repr(client)

    with RegistryClient(locked_registry.host, retry=FAST_RETRY) as anonymous:
        with pytest.raises(RegistryError, match="401") as info:
            anonymous.get_manifest("team/backend", "v1")
    wrong = Credentials("ci", "wrong-password")
    with RegistryClient(locked_registry.host, credentials=wrong, retry=FAST_RETRY) as client:
        with pytest.raises(RegistryError, match="401") as info2:
            client.get_manifest("team/backend", "v1")
    for exc in (info.value, info2.value):
        assert "\n" not in str(exc) and PASSWORD not in str(exc)
        assert "team/backend:v1" in str(exc)


class _Secret:
    """A dagger.Secret's one method, counted: the plaintext is read only when it is used."""

    def __init__(self, value: str) -> None:
        self.value, self.reads = value, 0

    async def plaintext(self) -> str:
        self.reads += 1
        return self.value


def test_one_credentials_path_for_environment_and_secrets():
    import anyio

    assert Credentials.given("", PASSWORD) is None and Credentials.given(None, None) is None
    assert Credentials.given("ci", None) == Credentials("ci", "")
    env = {"PIPELINE_REGISTRY_USERNAME": "ci", "PIPELINE_REGISTRY_PASSWORD": PASSWORD}
    assert Credentials.from_env(env) == Credentials.given("ci", PASSWORD)
    assert Credentials.from_env({"PIPELINE_REGISTRY_PASSWORD": PASSWORD}) is None
    secret = _Secret(PASSWORD)
    assert anyio.run(Credentials.from_secret, "ci", secret) == Credentials("ci", PASSWORD)
    assert anyio.run(Credentials.from_secret, "", secret) is None and secret.reads == 1
    assert anyio.run(Credentials.from_secret, "ci", None) == Credentials("ci", "")
    assert PASSWORD not in repr(Credentials.from_env(env))
