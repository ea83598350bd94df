"""Releases against a real registry: publish two, promote 1 then 2, roll back, refusals,
a registry killed mid-move then a retry, two concurrent moves, render from the stage."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.errors import PromotionRefused, RegistryError
from pipeline.registry import release_stages, signing
from pipeline.registry.artifact import empty_config
from pipeline.registry.client import RegistryClient
from pipeline.registry.oci import Manifest
from pipeline.registry.reference import parse_repository, require_digest
from pipeline.registry.releases import (
    RELEASE_ANNOTATION,
    attestation_tag,
    new_release,
    publish_release,
    release_id,
    verify_release,
)
from tests.registry.conftest import CONTRACT_SHA256, FAST_RETRY, LANES, at_once

pytestmark = pytest.mark.registry
RELEASES = "team/releases"
TAG = "stage-staging"


@pytest.fixture
def publish(client, registry, make_image, key_pair):
    """Push a backend and a frontend image, publish them as one signed release; its id."""

    def make(*, waivers=(), signed: bool = True) -> str:
        images = {"backend": make_image("team/backend"), "frontend": make_image("team/frontend")}
        release = new_release(images, lanes_passed=LANES, contract_sha256=CONTRACT_SHA256,
                              git_revision="deadbeef", run_id="run-x", waivers=list(waivers),
                              ports={"backend": 8000, "frontend": 8080})
        publish_release(client, f"{registry.host}/{RELEASES}", release,
                        key_pair[0] if signed else None)
        return release.id

    return make


def _repo(registry):
    return parse_repository(f"{registry.host}/{RELEASES}")


def _service_tags(client, release):
    return {name: client.head_manifest(s.image.repository, TAG)
            for name, s in release.services.items()}


def test_release_id_is_derived_from_the_digests():
    a = {"backend": "sha256:" + "1" * 64, "frontend": "sha256:" + "2" * 64}
    assert release_id(a) == release_id(dict(reversed(list(a.items()))))
    assert release_id(a) != release_id({**a, "frontend": "sha256:" + "3" * 64})
    assert release_id(a).startswith("rel-") and len(release_id(a)) == 28


def test_publish_two_then_promote_one_then_two_then_roll_back(client, registry, publish, key_pair,
                                                              monkeypatch, tmp_path):
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("PIPELINE_EVENT_LOG", str(log))
    monkeypatch.setenv("PIPELINE_ACTOR", "release-bot")
    first, second = publish(), publish(waivers=[{"rule": "image.size", "reason": "ok"}])
    repo = _repo(registry)
    public = key_pair[1]

    one = release_stages.promote_release(client, repo, first, "staging", public, "ship 1")
    assert (one.outcome, one.from_release, one.observed) == ("promoted", None, first)
    held = release_stages.held_release(client, RELEASES, "staging")
    assert held.id == first and _service_tags(client, held) == held.digests()

    two = release_stages.promote_release(client, repo, second, "staging", public, "ship 2")
    assert (two.from_release, two.observed) == (first, second)
    held = release_stages.held_release(client, RELEASES, "staging")
    assert held.id == second and held.waivers == [{"rule": "image.size", "reason": "ok"}]
    assert _service_tags(client, held) == held.digests()

    again = release_stages.promote_release(client, repo, second, "staging", public)
    assert again.outcome == "unchanged"

    back = release_stages.rollback_release(client, repo, "staging", public, "bad 2")
    assert (back.outcome, back.release, back.from_release) == ("rolled-back", first, second)
    held = release_stages.held_release(client, RELEASES, "staging")
    assert held.id == first and _service_tags(client, held) == held.digests()

    history = release_stages.read_events(client, RELEASES, "staging")
    done = [(e.action, e.release, e.reason) for e in history if e.phase == "done"]
    assert done == [("promote", first, "ship 1"), ("promote", second, "ship 2"),
                    ("rollback", first, "bad 2")]
    assert all(e.actor == "release-bot" for e in history)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["event"] for line in lines].count("stage.promote") == 4  # intent + done, twice
    assert lines[-1]["event"] == "stage.rollback" and lines[-1]["reason"] == "bad 2"


def test_a_move_moves_no_layer_byte(client, registry, publish, key_pair):
    rid = publish()
    release, images, _ = verify_release(client, RELEASES, rid, key_pair[1])
    layers = [d for m in images.values() for d in m.blob_digests()]
    before = client.stats.bytes_of(layers)
    release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    assert client.stats.bytes_of(layers) == before
    for name, service in release.services.items():
        by_tag = client.get_manifest(service.image.repository, TAG)
        assert by_tag.data == images[name].data  # the validated manifest, byte for byte


def test_tampered_release_attestation_is_refused(client, registry, publish, key_pair):
    rid = publish()
    manifest = client.get_manifest(RELEASES, attestation_tag(rid))
    layer = manifest.json()["layers"][0]
    envelope = signing.parse_envelope(client.get_blob(RELEASES, layer["digest"]))
    import base64
    payload = json.loads(base64.b64decode(envelope.payload))
    payload["predicate"]["lanes_passed"].append("security-review")
    forged = envelope.model_copy(update={"payload": base64.b64encode(
        json.dumps(payload).encode()).decode()})
    data = forged.model_dump_json().encode()
    doc = manifest.json()
    doc["layers"][0] = {**layer, "digest": client.push_blob(RELEASES, data), "size": len(data)}
    client.put_manifest(RELEASES, attestation_tag(rid),
                        Manifest.from_bytes(json.dumps(doc).encode()))
    with pytest.raises(PromotionRefused, match="signature invalid"):
        release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    assert client.head_manifest(RELEASES, TAG) is None


def test_release_with_a_digest_swapped_is_refused(client, registry, publish, make_image,
                                                  key_pair):
    rid = publish()
    other = require_digest(make_image("team/backend"))  # validated too, but not in this release
    manifest = client.get_manifest(RELEASES, rid)
    doc = manifest.json()
    record = json.loads(doc["annotations"][RELEASE_ANNOTATION])
    record["services"]["backend"]["digest"] = other.digest
    doc["annotations"][RELEASE_ANNOTATION] = json.dumps(record)
    client.put_manifest(RELEASES, rid, Manifest.from_bytes(json.dumps(doc).encode()))
    with pytest.raises(PromotionRefused, match="does not match its digests"):
        release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    # Swapped and the id recomputed to match: the attestation still names the old digest.
    record["id"] = release_id({"backend": other.digest,
                               "frontend": record["services"]["frontend"]["digest"]})
    doc["annotations"][RELEASE_ANNOTATION] = json.dumps(record)
    client.put_manifest(RELEASES, record["id"], Manifest.from_bytes(json.dumps(doc).encode()))
    att = client.get_manifest(RELEASES, attestation_tag(rid))
    client.put_manifest(RELEASES, attestation_tag(record["id"]), att)
    with pytest.raises(PromotionRefused, match="another release"):
        release_stages.promote_release(client, _repo(registry), record["id"], "staging",
                                       key_pair[1])
    assert client.head_manifest(RELEASES, TAG) is None


def test_unsigned_and_unknown_releases_are_refused(client, registry, publish, key_pair):
    rid = publish(signed=False)
    with pytest.raises(PromotionRefused, match="unsigned"):
        release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    with pytest.raises(PromotionRefused, match="unknown release"):
        release_stages.promote_release(client, _repo(registry), "rel-" + "0" * 24, "staging",
                                       key_pair[1])


class _DiesAt(RegistryClient):
    """Kills the registry the first time a given (repository, tag) is about to be PUT."""

    def __init__(self, server, repository: str, **kwargs) -> None:
        super().__init__(server.host, **kwargs)
        self.server, self.repository, self.fired = server, repository, False

    def put_manifest(self, repository, reference, manifest):
        if reference == TAG and repository == self.repository and not self.fired:
            self.fired = True
            self.server.kill()
        return super().put_manifest(repository, reference, manifest)


@pytest.mark.parametrize("where", ["team/frontend", RELEASES])
def test_registry_killed_mid_move_then_retry_completes(client, registry, publish, key_pair,
                                                       where):
    first, second = publish(), publish()
    repo = _repo(registry)
    release_stages.promote_release(client, repo, first, "staging", key_pair[1])
    dying = _DiesAt(registry, where, retry=FAST_RETRY)
    with pytest.raises(RegistryError, match="unreachable"):
        release_stages.promote_release(dying, repo, second, "staging", key_pair[1], "ship 2")
    registry.start()
    # Half-way: the record still names release 1, whole (a service tag may have moved).
    with RegistryClient(registry.host, retry=FAST_RETRY) as fresh:
        assert release_stages.held_release(fresh, RELEASES, "staging").id == first
        history = release_stages.read_events(fresh, RELEASES, "staging")
        assert [e.phase for e in history if e.release == second] == ["intent"]
        retried = release_stages.promote_release(fresh, repo, second, "staging", key_pair[1])
        assert retried.outcome == "promoted" and retried.from_release == first
        held = release_stages.held_release(fresh, RELEASES, "staging")
        assert held.id == second and _service_tags(fresh, held) == held.digests()


def test_two_concurrent_promotions_end_with_one_release_whole(registry, publish, key_pair):
    rids = [publish(), publish()]
    repo = _repo(registry)
    for _round in range(3):
        at_once(registry.host, lambda own, rid: release_stages.promote_release(
            own, repo, rid, "staging", key_pair[1], "race"), rids)
        with RegistryClient(registry.host) as check:
            held = release_stages.held_release(check, RELEASES, "staging")
            assert held.id in rids
            assert _service_tags(check, held) == held.digests()  # whole, never a mix
        rids.reverse()


def test_render_writes_the_whole_release_the_stage_holds(client, registry, publish, key_pair,
                                                         tmp_path):
    from pipeline.actions import write_release_deploy_files

    rid = publish()
    release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    written = write_release_deploy_files(f"{registry.host}/{RELEASES}", "staging", tmp_path / "out")
    assert len(written) == 3
    compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
    release = release_stages.held_release(client, RELEASES, "staging")
    assert {n: s["image"] for n, s in compose["services"].items()} == {
        n: s.reference for n, s in release.services.items()}
    assert compose["services"]["backend"]["ports"] == ["8000:8000"]
    k8s = list(yaml.safe_load_all((tmp_path / "out" / "k8s" / "frontend.yaml").read_text()))
    assert k8s[0]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        release.services["frontend"].reference
    assert k8s[0]["metadata"]["annotations"]["dev.pipeline/release"] == rid


def test_single_image_of_a_multi_service_release_is_refused(client, registry, key_pair,
                                                            make_image):
    from pipeline.registry.attestation import attest
    from pipeline.registry.promotion import promote
    from tests.registry.regimages import push_image

    manifest = push_image(client, "team/backend", [1024])
    ref = f"{registry.host}/team/backend@{manifest.digest}"
    attest(client, ref, LANES, CONTRACT_SHA256, "deadbeef", key_pair[0],
           release="rel-" + "1" * 24, release_services=["backend", "frontend"])
    with pytest.raises(PromotionRefused, match=r"part of release .*promote --release"):
        promote(client, ref, "staging", key_pair[1])
    alone = make_image()  # attested on its own, or as a one-service release: allowed
    assert promote(client, alone, "staging", key_pair[1]).outcome == "promoted"


@pytest.fixture
def run(monkeypatch, capsys):
    from pipeline import cli

    monkeypatch.setattr(cli, "COMMANDS", ("stages", "render"))

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_cli_promote_release_history_rollback_render(run, registry, publish, key_pair, tmp_path,
                                                     monkeypatch):
    from cryptography.hazmat.primitives import serialization

    monkeypatch.setenv("PIPELINE_EVENT_LOG", str(tmp_path / "events.jsonl"))
    pub = tmp_path / "pub.pem"
    pub.write_bytes(key_pair[1].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    repo = f"{registry.host}/{RELEASES}"
    first, second = publish(), publish()
    for rid in (first, second):
        code, out, err = run("promote", "--release", rid, "--repository", repo, "--stage",
                             "staging", "--public-key", str(pub), "--reason", f"ship {rid}")
        assert (code, err) == (0, ""), err
        assert f"promoted release {rid}" in out
    code, out, err = run("rollback", "--repository", repo, "--stage", "staging",
                         "--public-key", str(pub), "--reason", "bad")
    assert code == 0 and f"rolled-back release {first}" in out, err

    code, out, _ = run("history", "--repository", repo, "--stage", "staging", "--json")
    history = json.loads(out)
    assert history["release"] == first
    assert [(e["action"], e["release"], e["status"]) for e in history["entries"]] == [
        ("promote", first, "completed"), ("promote", second, "completed"),
        ("rollback", first, "completed")]
    assert set(history["releases"]) == {first, second}
    assert history["releases"][second]["lanes_passed"] == sorted(LANES)
    code, out, _ = run("history", "--repository", repo, "--stage", "staging")
    assert out.splitlines()[0].endswith(f"release {first}") and "(bad)" in out

    code, out, _ = run("render", "--stage", "staging", "--repository", repo,
                       "--out", str(tmp_path / "deploy"))
    assert code == 0 and (tmp_path / "deploy" / "compose.yaml").exists()

    cases = [
        (["promote", "--release", "rel-" + "0" * 24, "--repository", repo], 1, "unknown release"),
        (["promote", "--release", "v1", "--repository", repo], 2, "expected rel-"),
        (["promote", "--release", first], 2, "needs --repository"),
        (["render", "--repository", repo, "--out", str(tmp_path / "x")], 1, "holds no release"),
    ]
    for argv, expected, reason in cases:
        extra = ["--public-key", str(pub)] if argv[0] == "promote" else []
        code, out, err = run(*argv, "--stage", "production" if argv[0] == "render" else "staging",
                             *extra)
        assert code == expected, (argv, err)
        assert err.count("\n") == 1 and err.startswith("pipeline: error: ") and reason in err


@pytest.mark.parametrize("annotation", ["", "not json", "[]", '{"id": "rel-x"}', "\u0000" * 10])
def test_a_junk_release_record_is_a_one_line_refusal(client, registry, key_pair, annotation):
    rid = "rel-" + "a" * 24
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": empty_config(client, RELEASES), "layers": [],
           "annotations": {RELEASE_ANNOTATION: annotation}}
    client.put_manifest(RELEASES, rid, Manifest.from_bytes(json.dumps(doc).encode()))
    with pytest.raises(PromotionRefused, match="not a release manifest") as info:
        release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    assert "\n" not in str(info.value)


def test_events_are_logged_even_after_the_cli_configured_logging(client, registry, publish,
                                                                  key_pair, tmp_path,
                                                                  monkeypatch):
    from pipeline.logs import configure_logging

    configure_logging("error")  # what verify-stage does before it records its event
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("PIPELINE_EVENT_LOG", str(log))
    rid = publish()
    release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1])
    assert [json.loads(x)["event"] for x in log.read_text().splitlines()] == ["stage.promote"] * 2


def test_history_escapes_what_users_wrote(client, registry, publish, key_pair):
    from pipeline.actions import stage_history

    rid = publish()
    release_stages.promote_release(client, _repo(registry), rid, "staging", key_pair[1],
                                   "\x1b[2Jwiped\nsecond line postgres://u:hunter2@db/x")
    text = stage_history(f"{registry.host}/{RELEASES}", "staging")
    assert "\x1b" not in text and "\\x1b[2Jwiped" in text and "hunter2" not in text


def test_cli_promote_and_rollback_apply_the_move_policy_to_releases(run, registry, publish,
                                                                    key_pair, tmp_path):
    from cryptography.hazmat.primitives import serialization

    pub = tmp_path / "pub.pem"
    pub.write_bytes(key_pair[1].public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    repo = f"{registry.host}/{RELEASES}"
    clean = publish()
    waived = publish(waivers=[{"rule": "user.root", "reason": "upstream", "findings": 2},
                              {"rule": "image.size", "reason": "unused", "findings": 0}])
    args = ("--repository", repo, "--stage", "policy", "--public-key", str(pub))
    code, out, err = run("promote", "--release", clean, *args)
    assert code == 0, err
    code, out, err = run("promote", "--release", waived, *args, "--refuse-waivers")
    assert code == 1 and err.count("\n") == 1, err
    assert "validated with waived rule(s): user.root" in err      # the unused waiver is not one
    code, out, err = run("promote", "--release", waived, *args)  # without the policy: moves
    assert code == 0 and f"promoted release {waived}" in out, err
    # A rollback target is held to the same policy as a promotion.
    code, out, err = run("rollback", *args, "--require-lane", "perf")
    assert code == 1 and "not validated by required lane(s): perf" in err, err
    code, out, err = run("rollback", *args, "--require-lane", LANES[0])
    assert code == 0 and f"rolled-back release {clean}" in out, err
