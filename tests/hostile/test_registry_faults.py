"""Registry faults against the real CLI: every one is a single line, exit 2, before the deadline.

The registry is tests/hostile/badserver.py, a tiny HTTP server on 127.0.0.1
that misbehaves one way per mode (a real registry cannot be made to trickle).
"""

from __future__ import annotations

import pytest

from pipeline.errors import RegistryBadResponse
from pipeline.registry.client import Manifest
from tests.hostile.badserver import bad_registry
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
    "not-json": "tags list is not",
    "json-array": "tags list is not",
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
