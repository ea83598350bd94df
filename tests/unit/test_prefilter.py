"""The secret scan's candidate filter: never misses what RE2 finds, and is thread-safe
(contract lanes scan images on several threads at once)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rules import patterns, prefilter

SECRETS = [b"-----BEGIN RSA PRIVATE KEY-----", b"AKIAABCDEFGHIJKLMNOP", b"ghp_" + b"a" * 36,
           b"glpat-" + b"b" * 20, b"xoxb-1234567890-abc", b"sk_live_" + b"c" * 24,
           b"npm_" + b"d" * 36, b"AIza" + b"e" * 35]


@settings(max_examples=300, deadline=None)
@given(text=st.binary(max_size=400), secret=st.sampled_from([b"", *SECRETS]),
       at=st.floats(0, 1))
def test_a_candidate_whenever_re2_matches(text: bytes, secret: bytes, at: float) -> None:
    cut = int(at * len(text))
    data = text[:cut] + secret + text[cut:]
    if patterns.CONTENT.search(data):
        assert prefilter.may_hold_secret(data)


def test_concurrent_scans_from_threads() -> None:
    clean = b"def handler(request):\n    return response\n" * 200_000   # ~8 MB: scans overlap
    dirty = clean + SECRETS[1] + b"\n"

    def scan(i: int) -> bool:
        return prefilter.may_hold_secret(dirty if i % 2 else clean)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(scan, range(64)))
    assert results == [bool(i % 2) for i in range(64)]
