"""The engine from scripts/engine runs real containers, services, builds and pushes."""

from __future__ import annotations

import json
import subprocess
import urllib.request
import uuid

import pytest

from tests.conftest import REGISTRY, local_image

pytestmark = pytest.mark.engine


async def test_python_image_runs(dag):
    out = await dag.container().from_(local_image("python:3.11")).with_exec(["python3", "-c", "print(42)"]).stdout()
    assert out.strip() == "42"


async def test_service_reached_by_binding_name(dag):
    # A distinct page per run, so the answer cannot come from the cache.
    token = uuid.uuid4().hex
    server = (
        dag.container()
        .from_(local_image("python:3.11"))
        .with_new_file("/srv/index.html", token)
        .with_workdir("/srv")
        .with_exposed_port(8080)
        .as_service(args=["python3", "-m", "http.server", "8080"])
    )
    body = await (
        dag.container()
        .from_(local_image("python:3.11"))
        .with_service_binding("web", server)
        .with_exec(["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://web:8080/').read().decode())"])
        .stdout()
    )
    assert body.strip() == token


async def test_multistage_dockerfile_builds_and_publishes_by_digest(dag):
    token = uuid.uuid4().hex
    dockerfile = f"""
ARG BASE
FROM $BASE AS builder
RUN echo {token} > /artifact
FROM $BASE AS runtime
COPY --from=builder /artifact /artifact
CMD ["cat", "/artifact"]
"""
    import dagger

    context = dag.directory().with_new_file("Dockerfile", dockerfile)
    image = context.docker_build(
        target="runtime",
        build_args=[dagger.BuildArg(name="BASE", value=local_image("debian:bookworm"))],
    )
    assert (await image.with_exec(["cat", "/artifact"]).stdout()).strip() == token
    ref = await image.publish(f"{REGISTRY}/engine-test/multistage:{token[:12]}")
    _, _, digest = ref.partition("@sha256:")
    assert digest and len(digest) == 64, ref
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/engine-test/multistage/manifests/sha256:{digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        manifest = json.loads(response.read())
    assert "layers" in manifest or "manifests" in manifest


async def test_container_reaches_pypi_over_https(dag):
    # Certificate verification stays on: this passes only if the engine put the
    # host's CA into the container's trust store.
    out = await (
        dag.container()
        .from_(local_image("python:3.11"))
        .with_env_variable("CACHE_BUST", uuid.uuid4().hex)
        .with_exec(["python3", "-c", "import ssl, urllib.request; ctx = ssl.create_default_context(); print(urllib.request.urlopen('https://pypi.org/simple/pip/', context=ctx, timeout=30).status)"])
        .stdout()
    )
    assert out.strip() == "200"


def test_cli_query_answers(engine_env):
    result = subprocess.run(
        [engine_env["_EXPERIMENTAL_DAGGER_CLI_BIN"], "query", "-M", "--progress=plain"],
        input="{ version }", capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"].startswith("v0.19")
