"""Registry domain without a registry: references, signing, history replay, render, records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pipeline.deploy.files import ServiceImage, write_deploy_files
from pipeline.errors import InvalidReference
from pipeline.registry import signing, stages
from pipeline.registry.reference import parse_reference, require_digest
from pipeline.registry.release import RecordedLane, ReleaseRecord, publish_record

D1, D2, D3 = ("sha256:" + c * 64 for c in "123")
HOST = "127.0.0.1:5000"


# -- references ------------------------------------------------------------

def test_parse_reference_with_port_path_and_digest():
    ref = parse_reference(f"{HOST}/team/backend@{D1}")
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (HOST, "team/backend", None, D1)
    assert str(ref) == f"{HOST}/team/backend@{D1}"


@pytest.mark.parametrize("text", [
    f"{HOST}/team/backend:v1", f"{HOST}/team/backend", f"{HOST}/team/backend:v1@{D1}",
])
def test_require_digest_refuses_tags(text):
    with pytest.raises(InvalidReference, match="a digest is required"):
        require_digest(text)


@pytest.mark.parametrize("text", ["backend", f"{HOST}/Team/x", f"{HOST}/x@sha256:abc", ""])
def test_malformed_references_are_one_line_errors(text):
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert "\n" not in str(info.value)


# -- signing ---------------------------------------------------------------

def test_dsse_round_trip_and_tamper_detection():
    private_pem, public_pem = signing.generate_key_pair()
    key = signing.load_private_key(private_pem, source="test")
    public = signing.load_public_key(public_pem, source="test")
    envelope = signing.sign(b'{"hello": 1}', key)
    assert signing.verify(envelope, public) == b'{"hello": 1}'
    forged = envelope.model_copy(update={"payload": "eyJoZWxsbyI6IDJ9"})  # {"hello": 2}
    assert signing.verify(forged, public) is None
    retyped = envelope.model_copy(update={"payloadType": "text/plain"})
    assert signing.verify(retyped, public) is None  # the type is signed too (PAE)


def test_pae_matches_the_dsse_spec_example():
    # DSSE protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    assert signing.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_bad_key_errors_name_the_source_not_the_content(monkeypatch):
    monkeypatch.setenv(signing.SIGNING_KEY_ENV, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n")
    pem, source = signing.signing_key_pem()
    with pytest.raises(signing.SigningKeyError) as info:
        signing.load_private_key(pem, source=source)
    assert str(info.value).startswith(signing.SIGNING_KEY_ENV)
    assert "c2VjcmV0" not in str(info.value)


def test_public_key_from_env_path_or_pem(tmp_path, monkeypatch):
    _, public_pem = signing.generate_key_pair()
    path = tmp_path / "key.pub"
    path.write_bytes(public_pem)
    monkeypatch.setenv(signing.PUBLIC_KEY_ENV, str(path))
    assert signing.public_key() is not None
    monkeypatch.setenv(signing.PUBLIC_KEY_ENV, public_pem.decode())
    assert signing.public_key() is not None
    monkeypatch.delenv(signing.PUBLIC_KEY_ENV)
    with pytest.raises(signing.SigningKeyError, match="not set"):
        signing.public_key()


# -- history replay --------------------------------------------------------

def _done(action: str, digest: str, minute: int) -> stages.DigestEvent:
    return stages.DigestEvent(
        id=f"op{minute}", phase="done", action=action, stage="staging",
        repository=f"{HOST}/team/backend", digest=digest, actor="t",
        at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute),
    )


def test_repeated_rollbacks_walk_back_through_promotions():
    events = [_done("promote", D1, 1), _done("promote", D2, 2), _done("promote", D3, 3)]
    assert stages.deployed_stack(events) == [D1, D2, D3]
    assert stages.previous_digest([D1, D2, D3], D3) == D2
    events.append(_done("rollback", D2, 4))
    assert stages.deployed_stack(events) == [D1, D2]
    assert stages.previous_digest(stages.deployed_stack(events), D2) == D1
    events.append(_done("rollback", D1, 5))
    assert stages.previous_digest(stages.deployed_stack(events), D1) is None


def test_intents_without_done_are_interrupted_and_do_not_count():
    intent = _done("promote", D2, 2).model_copy(update={"phase": "intent"})
    events = [_done("promote", D1, 1), intent]
    assert stages.deployed_stack(events) == [D1]
    assert [e.status for e in stages.history(events)] == ["completed", "interrupted"]


def test_event_tags_are_valid_unique_and_sort_by_time():
    early, late = _done("promote", D1, 1), _done("promote", D1, 2)
    assert len(late.tag) <= 128 and early.tag < late.tag
    with pytest.raises(InvalidReference):
        stages.stage_tag("Prod!")


# -- render ----------------------------------------------------------------

def test_render_pins_digests_in_compose_and_kubernetes(tmp_path: Path):
    backend = f"{HOST}/team/backend@{D1}"
    paths = write_deploy_files(tmp_path, "staging", [
        ServiceImage("backend", backend, 8000), ServiceImage("frontend", f"{HOST}/team/frontend@{D2}")])
    compose = yaml.safe_load((tmp_path / "compose.yaml").read_text())
    assert compose["services"]["backend"]["image"] == backend
    deployment, service = yaml.safe_load_all((tmp_path / "k8s" / "backend.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == backend
    assert service["spec"]["ports"][0]["port"] == 8000
    assert len(paths) == 3


def test_render_refuses_a_tag_and_writes_nothing(tmp_path: Path):
    with pytest.raises(InvalidReference, match="team/frontend:latest"):
        write_deploy_files(tmp_path, "staging", [
            ServiceImage("backend", f"{HOST}/team/backend@{D1}"),
            ServiceImage("frontend", f"{HOST}/team/frontend:latest")])
    assert list(tmp_path.iterdir()) == []


# -- release record --------------------------------------------------------

def test_release_record_round_trip_and_refuses_tags(tmp_path: Path):
    path = tmp_path / "out" / "release.json"
    record = publish_record(
        path, run_id="r1", git_revision="abc", contract_sha256="00" * 32,
        images={"backend": f"{HOST}/team/backend@{D1}"},
        lanes=[RecordedLane(name="lint", status="passed")], started_at=datetime.now(UTC),
        attestations={"backend": f"{HOST}/team/backend@{D2}"},
    )
    assert ReleaseRecord.model_validate_json(path.read_bytes()) == record
    assert json.loads(path.read_text())["images"][0]["digest"] == D1
    with pytest.raises(InvalidReference):
        publish_record(tmp_path / "bad.json", run_id="r", git_revision="a", contract_sha256="0",
                       images={"backend": f"{HOST}/team/backend:v1"}, lanes=[],
                       started_at=datetime.now(UTC))
    assert not (tmp_path / "bad.json").exists()


# -- property: rollbacks undo promotions in reverse order -------------------

@given(st.lists(st.sampled_from([D1, D2, D3]), min_size=1, max_size=12),
       st.integers(min_value=0, max_value=12))
def test_rollbacks_retrace_the_distinct_promotions(promoted, rollbacks):
    events, current, minute = [], None, 0
    for digest in promoted:  # promote() skips a digest the stage already holds
        if digest != current:
            minute += 1
            events.append(_done("promote", digest, minute))
            current = digest
    trail = stages.deployed_stack(events)
    for _ in range(rollbacks):
        target = stages.previous_digest(stages.deployed_stack(events), current)
        if target is None:
            break
        minute += 1
        events.append(_done("rollback", target, minute))
        current = target
    remaining = stages.deployed_stack(events)
    assert remaining == trail[: len(remaining)]  # a prefix: nothing invented, order kept
    assert remaining[-1] == current
    assert len(remaining) == max(1, len(trail) - rollbacks)


# -- errors say what happened; exit codes unchanged -----------------------------

def test_stage_errors_have_their_own_documented_classes():
    from pipeline import errors

    with pytest.raises(errors.InvalidStageName) as info:
        stages.stage_tag("Prod!")
    assert isinstance(info.value, InvalidReference) and info.value.exit_code == 2
    assert issubclass(errors.StageEmpty, errors.PromotionRefused)
    assert errors.StageEmpty("x").exit_code == 1
    assert signing.SigningKeyError is errors.SigningKeyError
    assert errors.SigningKeyError("x").exit_code == 2
    for name in ("InvalidStageName", "StageEmpty", "SigningKeyError"):
        assert name in (errors.__doc__ or ""), f"{name} missing from the hierarchy docstring"
