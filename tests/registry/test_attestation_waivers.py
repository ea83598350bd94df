"""Attestations record waivers and non-gating runs, so promotion policy can refuse them.

Against a real registry (Debian's docker-registry): the statement is signed and stored
as the publish lane stores it, read back and verified.
"""

from __future__ import annotations

import pytest

from pipeline.errors import PromotionRefused
from pipeline.registry.attestation import attest, verify_attestation
from pipeline.registry.policy import Policy
from pipeline.registry.reference import require_digest
from tests.registry.conftest import CONTRACT_SHA256, LANES

pytestmark = pytest.mark.registry

REFUSE_WAIVERS = Policy(refuse_waivers=True)
WAIVED = {"subject": "backend", "rule": "user.root", "reason": "inherited from upstream",
          "until": "2099-12-31", "expired": False, "findings": 1}


def _attested(client, make_image, key_pair, **kwargs) -> str:
    ref = make_image(attested=False)
    attest(client, ref, LANES, CONTRACT_SHA256, "deadbeef", key_pair[0], run_id="run-w", **kwargs)
    return ref


def test_waivers_are_recorded_and_verified(client, make_image, key_pair):
    ref = _attested(client, make_image, key_pair, waivers=[WAIVED])
    statement = verify_attestation(client, require_digest(ref), key_pair[1])
    assert statement.predicate.waivers == [WAIVED] and statement.predicate.gating is True


def test_policy_can_refuse_a_digest_validated_with_waivers(client, make_image, key_pair):
    ref = _attested(client, make_image, key_pair, waivers=[WAIVED])
    with pytest.raises(PromotionRefused, match=r"validated with waived rule\(s\): user.root"):
        verify_attestation(client, require_digest(ref), key_pair[1], policy=REFUSE_WAIVERS)


def test_an_unused_waiver_is_not_a_reason_to_refuse(client, make_image, key_pair):
    ref = _attested(client, make_image, key_pair, waivers=[{**WAIVED, "findings": 0}])
    verify_attestation(client, require_digest(ref), key_pair[1], policy=REFUSE_WAIVERS)


def test_policy_can_refuse_a_non_gating_run(client, make_image, key_pair):
    ref = _attested(client, make_image, key_pair, gating=False)
    assert verify_attestation(client, require_digest(ref), key_pair[1]).predicate.gating is False
    with pytest.raises(PromotionRefused, match="did not gate its tests"):
        verify_attestation(client, require_digest(ref), key_pair[1], policy=REFUSE_WAIVERS)
