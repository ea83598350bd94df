"""Publish, attest, promote, roll back and read the history against a real registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from pipeline.registry import stages
from pipeline.registry.promotion import promote, rollback
from pipeline.registry.reference import require_digest
from pipeline.registry.release import RecordedLane, ReleaseRecord, publish_record

pytestmark = pytest.mark.registry


def _digest(ref: str) -> str:
    return ref.split("@", 1)[1]


def test_publish_then_promote_then_rollback(client, registry, make_image, key_pair, tmp_path,
                                            capsys, monkeypatch):
    monkeypatch.setenv("PIPELINE_ACTOR", "release-bot")
    a, b, c = make_image(), make_image(), make_image()
    record = publish_record(
        tmp_path / "release.json", run_id="run-1", git_revision="deadbeef",
        contract_sha256="ab" * 32, images={"backend": c},
        lanes=[RecordedLane(name="e2e", status="passed", duration_seconds=1.5)],
        started_at=datetime.now(UTC),
    )
    assert ReleaseRecord.model_validate_json((tmp_path / "release.json").read_bytes()) == record
    assert record.images[0].digest == _digest(c)

    public = key_pair[1]
    for ref in (a, b, c):
        event = promote(client, ref, "staging", public, reason=f"ship {ref[-6:]}")
        assert event.outcome == "promoted" and event.observed == _digest(ref)
    repo = require_digest(a).name
    tag = stages.stage_tag("staging")
    assert client.head_manifest("team/backend", tag) == _digest(c)

    back = rollback(client, repo, "staging", public, reason="bad release")
    assert (back.outcome, back.from_digest, back.digest) == ("rolled-back", _digest(c), _digest(b))
    again = rollback(client, repo, "staging", public, reason="still bad")
    assert again.digest == _digest(a)
    assert client.head_manifest("team/backend", tag) == _digest(a)

    entries = stages.history(stages.read_events(client, "team/backend", "staging", stages.DigestEvent))
    assert [(e.event.action, e.status, e.event.digest) for e in entries] == [
        ("promote", "completed", _digest(a)), ("promote", "completed", _digest(b)),
        ("promote", "completed", _digest(c)), ("rollback", "completed", _digest(b)),
        ("rollback", "completed", _digest(a)),
    ]
    assert all(e.event.actor == "release-bot" for e in entries)

    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["event"] for e in logged] == ["promotion"] * 3 + ["rollback"] * 2
    assert logged[3]["from_digest"] == _digest(c)
    assert logged[3]["to_digest"] == _digest(b) and logged[3]["reason"] == "bad release"
    assert logged[3]["actor"] == "release-bot"


def test_promotion_keeps_the_manifest_bytes_and_moves_no_layer(client, make_image, key_pair):
    ref = make_image(sizes=(200_000, 300_000))
    image = require_digest(ref)
    by_digest = client.get_manifest("team/backend", image.digest)
    layers = by_digest.blob_digests()
    before = client.stats.bytes_of(layers)

    promote(client, ref, "staging", key_pair[1])

    assert client.stats.bytes_of(layers) == before  # zero layer bytes in either direction
    by_tag = client.get_manifest("team/backend", stages.stage_tag("staging"))
    assert by_tag.data == by_digest.data
    assert by_tag.digest == image.digest


def test_repeating_a_promotion_changes_nothing(client, make_image, key_pair):
    ref = make_image()
    first = promote(client, ref, "staging", key_pair[1])
    second = promote(client, ref, "staging", key_pair[1])
    assert (first.outcome, second.outcome) == ("promoted", "unchanged")
    events = stages.read_events(client, "team/backend", "staging", stages.DigestEvent)
    assert len(stages.history(events)) == 1


def test_promotion_to_another_repository_mounts_blobs(client, registry, make_image, key_pair):
    ref = make_image(sizes=(100_000,))
    image = require_digest(ref)
    layers = client.get_manifest("team/backend", image.digest).blob_digests()
    before = client.stats.bytes_of(layers)

    promote(client, ref, "production", key_pair[1],
            target_repository=f"{registry.host}/prod/backend")

    assert client.stats.bytes_of(layers) == before
    assert client.head_manifest("prod/backend", "stage-production") == image.digest
    for digest in layers:
        assert client.blob_exists("prod/backend", digest)
    # The attestation travelled along, so the target repository stands alone:
    second = make_image()
    promote(client, second, "production", key_pair[1],
            target_repository=f"{registry.host}/prod/backend")
    back = rollback(client, f"{registry.host}/prod/backend", "production", key_pair[1])
    assert back.digest == image.digest
