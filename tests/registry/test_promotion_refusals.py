"""Every bad case is refused with one line, and the stage and its history stay as they were."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from pipeline.errors import InvalidReference, PromotionRefused
from pipeline.registry import signing, stages
from pipeline.registry.attestation import attest, attestation_tag
from pipeline.registry.oci import OCI_MANIFEST, Manifest
from pipeline.registry.policy import Policy
from pipeline.registry.promotion import promote, rollback
from pipeline.registry.reference import require_digest
from tests.registry.conftest import CONTRACT_SHA256, LANES

pytestmark = pytest.mark.registry
REPO = "team/backend"


@pytest.fixture
def staged(client, make_image, key_pair) -> str:
    """The stage already points at a validated digest; refusals must not move it."""
    ref = make_image()
    promote(client, ref, "staging", key_pair[1])
    return ref


def _assert_untouched(client, staged: str) -> None:
    assert client.head_manifest(REPO, "stage-staging") == require_digest(staged).digest
    assert len(stages.read_events(client, REPO, "staging", stages.DigestEvent)) == 2  # the one intent + done


def _refused(client, ref: str, key, match: str, **kwargs) -> str:
    with pytest.raises(PromotionRefused, match=match) as info:
        promote(client, ref, "staging", key, **kwargs)
    message = str(info.value)
    assert "\n" not in message and ref.split("@")[1] in message
    return message


def _tamper(client, ref: str, edit) -> None:
    """Rewrite the stored statement with ``edit`` but keep the old signature."""
    image = require_digest(ref)
    manifest = client.get_manifest(REPO, attestation_tag(image.digest)).json()
    layer = manifest["layers"][0]
    envelope = json.loads(client.get_blob(REPO, layer["digest"]))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    edit(statement)
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    blob = json.dumps(envelope).encode()
    layer.update(digest=client.push_blob(REPO, blob), size=len(blob))
    forged = Manifest.from_bytes(json.dumps(manifest).encode(), OCI_MANIFEST)
    client.put_manifest(REPO, attestation_tag(image.digest), forged)


def test_unknown_digest(client, registry, staged, key_pair):
    ref = f"{registry.host}/{REPO}@sha256:{hashlib.sha256(b'nothing').hexdigest()}"
    _refused(client, ref, key_pair[1], "unknown digest")
    _assert_untouched(client, staged)


def test_unvalidated_digest(client, staged, make_image, key_pair):
    _refused(client, make_image(attested=False), key_pair[1], "unvalidated, no attestation")
    _assert_untouched(client, staged)


def test_digest_that_failed_a_gate(client, staged, make_image, key_pair):
    _refused(client, make_image(failed=("e2e",)), key_pair[1], r"failed gate\(s\): e2e")
    _assert_untouched(client, staged)


def test_tampered_attestation(client, staged, make_image, key_pair):
    ref = make_image(failed=("e2e",))
    _tamper(client, ref, lambda s: s["predicate"].update(lanes_failed=[]))
    _refused(client, ref, key_pair[1], "signature invalid")
    _assert_untouched(client, staged)


def test_attestation_signed_by_another_key(client, staged, make_image, key_pair):
    ref = make_image(attested=False)
    other_private, _ = signing.generate_key_pair()
    attest(client, ref, LANES, CONTRACT_SHA256, "deadbeef", other_private)
    _refused(client, ref, key_pair[1], "signature invalid")
    _assert_untouched(client, staged)


def test_attestation_copied_from_another_digest(client, staged, make_image, key_pair):
    good, bad = make_image(), make_image(attested=False)
    copied = client.get_manifest(REPO, attestation_tag(require_digest(good).digest))
    client.put_manifest(REPO, attestation_tag(require_digest(bad).digest), copied)
    _refused(client, bad, key_pair[1], "attestation is for another digest")
    _assert_untouched(client, staged)


def test_missing_required_lane(client, staged, make_image, key_pair):
    _refused(client, make_image(), key_pair[1], "required lane",
             policy=Policy(required_lanes=("perf",)))
    _assert_untouched(client, staged)


@pytest.mark.parametrize("suffix", [":v1", ":v1@sha256:" + "0" * 64, ""])
def test_tag_where_a_digest_is_required(client, registry, staged, key_pair, suffix):
    with pytest.raises(InvalidReference, match="a digest is required"):
        promote(client, f"{registry.host}/{REPO}{suffix}", "staging", key_pair[1])
    _assert_untouched(client, staged)


def test_rollback_with_no_previous_digest(client, registry, staged, key_pair):
    with pytest.raises(PromotionRefused, match="no previous digest"):
        rollback(client, f"{registry.host}/{REPO}", "staging", key_pair[1])
    _assert_untouched(client, staged)


def test_rollback_of_a_stage_never_promoted(client, registry, key_pair):
    with pytest.raises(PromotionRefused, match="never been promoted"):
        rollback(client, f"{registry.host}/{REPO}", "qa", key_pair[1])


def test_rollback_refuses_a_previous_digest_whose_attestation_was_tampered(
    client, registry, staged, make_image, key_pair
):
    promote(client, make_image(), "staging", key_pair[1])
    _tamper(client, staged, lambda s: s["predicate"].update(git_revision="evil"))
    with pytest.raises(PromotionRefused, match="signature invalid"):
        rollback(client, f"{registry.host}/{REPO}", "staging", key_pair[1])
