"""Concurrent promotions and a registry that dies mid-promotion."""

from __future__ import annotations

import pytest

from pipeline.errors import PromotionRefused, RegistryError
from pipeline.registry import stages
from pipeline.registry.client import RegistryClient
from pipeline.registry.promotion import promote
from pipeline.registry.reference import require_digest
from tests.registry.conftest import FAST_RETRY, at_once

pytestmark = pytest.mark.registry
REPO = "team/backend"
TAG = "stage-staging"


def test_two_concurrent_promotions_of_different_digests(registry, make_image, key_pair):
    refs = [make_image(), make_image()]
    results = at_once(registry.host, lambda own, ref: promote(own, ref, "staging", key_pair[1],
                                                               reason="race"), refs, timeout=30)
    digests = {require_digest(ref).digest for ref in refs}
    with RegistryClient(registry.host) as check:
        current = check.head_manifest(REPO, TAG)
        entries = stages.history(stages.read_events(check, REPO, "staging", stages.DigestEvent))
    assert current in digests
    assert {e.event.digest for e in entries} == digests
    assert all(e.status == "completed" for e in entries)
    # Each done event recorded what the tag held right after its own write.
    assert all(r.observed in digests for r in results.values())


class _DiesOnce(RegistryClient):
    """A client that kills the registry just before (or just after) the stage tag is PUT."""

    def __init__(self, server, when: str, **kwargs) -> None:
        super().__init__(server.host, **kwargs)
        self.server, self.when, self.fired = server, when, False

    def put_manifest(self, repository, reference, manifest):
        hit = reference == TAG and not self.fired
        if hit and self.when == "before-tag":
            self.fired = True
            self.server.kill()
        digest = super().put_manifest(repository, reference, manifest)
        if hit and self.when == "after-tag":
            self.fired = True
            self.server.kill()
        return digest


@pytest.mark.parametrize("when", ["before-tag", "after-tag"])
def test_registry_dies_mid_promotion_then_retry_completes(
    registry, client, make_image, key_pair, when
):
    validated = make_image()
    promote(client, validated, "staging", key_pair[1])
    target, unvalidated = make_image(), make_image(attested=False)
    seen = [client.head_manifest(REPO, TAG)]

    dying = _DiesOnce(registry, when, retry=FAST_RETRY)
    with pytest.raises(RegistryError, match="unreachable") as info:
        promote(dying, target, "staging", key_pair[1], reason="release 2")
    assert "\n" not in str(info.value)
    dying.close()

    registry.start()  # same storage, same port
    with RegistryClient(registry.host, retry=FAST_RETRY) as fresh:
        seen.append(fresh.head_manifest(REPO, TAG))
        entries = stages.history(stages.read_events(fresh, REPO, "staging", stages.DigestEvent))
        assert [e.status for e in entries] == ["completed", "interrupted"]

        with pytest.raises(PromotionRefused):  # still no way in for an unvalidated digest
            promote(fresh, unvalidated, "staging", key_pair[1])
        retried = promote(fresh, target, "staging", key_pair[1], reason="release 2, retry")
        assert retried.outcome == "promoted"
        seen.append(fresh.head_manifest(REPO, TAG))
        entries = stages.history(stages.read_events(fresh, REPO, "staging", stages.DigestEvent))

    assert [e.status for e in entries] == ["completed", "interrupted", "completed"]
    assert seen[-1] == require_digest(target).digest
    expected_midway = validated if when == "before-tag" else target
    assert seen[1] == require_digest(expected_midway).digest
    validated_digests = {require_digest(r).digest for r in (validated, target)}
    assert set(seen) <= validated_digests  # never an unvalidated digest
