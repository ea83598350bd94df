"""Registry faults against the real CLI: every one is a single line, exit 2, before the deadline.

The registry is tests/hostile/badserver.py, a tiny HTTP server on 127.0.0.1
that misbehaves one way per mode (a real registry cannot be made to trickle).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import RegistryBadResponse, RegistryError
from pipeline.registry.client import RegistryClient, RetryPolicy
from pipeline.registry.deadline import Deadline
from pipeline.registry.oci import OCI_INDEX, Manifest
from tests.hostile.badserver import bad_registry, scripted_registry
from tests.hostile.harness import assert_one_line_error, run_cli

DEADLINE = "4"

# mode -> what the one line must say
FAULTS = {
    "trickle": "deadline",
    "silent": "deadline",
    "redirect-loop": "redirects",
    "redirect-chain": "redirects",
    "link-loop": "pagination loops",
    "link-endless": "",             # the page cap or the deadline, whichever comes first
    "tags-not-list": "tags list is not",
    "not-json": "is not",           # the tags list, or a manifest, whichever is read first
    "json-array": "is not",
    "huge-body": "cap",
    "garbage-http": "no valid HTTP answer",
    "error-shape": "500",
    "bad-digest-header": "malformed digest",
}


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_history_against_a_hostile_registry(mode: str) -> None:
    with bad_registry(mode) as host:
        outcome = run_cli("history", "--repository", f"{host}/team/app", "--stage", "staging",
                          "--deadline", DEADLINE)
    assert_one_line_error(outcome, contains=FAULTS[mode])


@pytest.mark.parametrize("mode", ["trickle", "silent", "not-json", "json-array"])
def test_render_resolving_through_a_hostile_registry(mode: str, tmp_path) -> None:
    with bad_registry(mode) as host:
        outcome = run_cli("render", "--stage", "prod", "--service", f"api={host}/team/api",
                          "--out", tmp_path / "out", "--deadline", DEADLINE)
    assert_one_line_error(outcome)
    assert not (tmp_path / "out").exists()     # nothing half-written


def test_deadline_from_the_environment() -> None:
    with bad_registry("silent") as host:
        outcome = run_cli("history", "--repository", f"{host}/team/app", "--stage", "s",
                          env={"PIPELINE_REGISTRY_DEADLINE": "2"})
    assert_one_line_error(outcome, contains="2s deadline")
    assert outcome.seconds < 10


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon", "1e9"])
def test_bad_deadline_values_are_one_line(value: str) -> None:
    assert_one_line_error(run_cli("history", "--repository", "127.0.0.1:1/a", "--stage", "s",
                                  "--deadline", value), contains="--deadline")
    assert_one_line_error(run_cli("history", "--repository", "127.0.0.1:1/a", "--stage", "s",
                                  env={"PIPELINE_REGISTRY_DEADLINE": value}),
                          contains="PIPELINE_REGISTRY_DEADLINE")


def test_unreachable_registry_is_one_line() -> None:
    outcome = run_cli("history", "--repository", "127.0.0.1:1/team/app", "--stage", "s",
                      "--deadline", "10")
    assert_one_line_error(outcome, contains="unreachable")


@pytest.mark.parametrize("doc", [
    b'{"manifests": [1, "x", null]}',
    b'{"manifests": {"digest": "sha256:00"}}',
    b'{"manifests": [{"digest": "../../etc/passwd"}]}',
    b'{"layers": [{"digest": 5}]}',
    b'{"config": "sha256:00"}',
])
def test_manifest_of_the_wrong_shape_is_a_bad_response(doc: bytes) -> None:
    manifest = Manifest.from_bytes(doc, "application/vnd.oci.image.index.v1+json")
    with pytest.raises(RegistryBadResponse):
        manifest.child_digests() if b"manifests" in doc else manifest.blob_digests()


@pytest.mark.parametrize("doc", [b"[]", b"1", b'"x"', b"null", b"nope"])
def test_manifest_that_is_not_an_object_is_refused(doc: bytes) -> None:
    with pytest.raises(ValueError):
        Manifest.from_bytes(doc)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=20), st.just("sha256:" + "a" * 64)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["tags", "manifests", "layers", "config", "digest", "errors",
                                 "mediaType", "annotations", "token", "code", "message"]),
                                inner, max_size=5)),
    max_leaves=15)
answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 202, 301, 400, 401, 404, 429, 500]),
    st.fixed_dictionaries({}, optional={
        "Content-Type": st.sampled_from(["application/json", OCI_INDEX, "text/html", ""]),
        "Docker-Content-Digest": st.sampled_from(["sha256:" + "a" * 64, "x", ""]),
        "Link": st.sampled_from(['</v2/x/tags/list?n=1>; rel="next"', "<>", "garbage"]),
        "Location": st.sampled_from(["/v2/x/blobs/uploads/u", "http://[::1", ""]),
        "WWW-Authenticate": st.sampled_from(['Bearer realm="http://127.0.0.1:1/t"', "Basic"]),
    }),
    st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(answer=answers)
def test_generated_answers_give_a_result_or_a_registry_error(answer) -> None:
    with scripted_registry() as server:
        server.script = answer
        host = f"127.0.0.1:{server.server_address[1]}"
        retry = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
        with RegistryClient(host, retry=retry, deadline=Deadline(10)) as client:
            for call in (lambda: client.list_tags("team/app"),
                         lambda: client.get_manifest("team/app", "latest"),
                         lambda: client.head_manifest("team/app", "latest"),
                         lambda: _children(client.get_manifest("team/app", "v1")),
                         lambda: client.push_blob("team/app", b"data")):
                try:
                    call()
                except RegistryError as exc:
                    assert "\n" not in str(exc)


def _children(manifest: Manifest | None) -> None:
    if manifest is not None:
        manifest.child_digests() if manifest.is_index else manifest.blob_digests()
