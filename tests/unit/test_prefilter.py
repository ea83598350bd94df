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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=60), st.sampled_from([b"", *SECRETS]),
                          st.sampled_from(["start", "end", "middle"]),
                          st.sampled_from([b"", b"a", b"0", b" ", b"\n", b"_"])),
                max_size=12))
def test_one_scan_over_many_files_misses_none(files: list[tuple[bytes, bytes, str, bytes]]
                                              ) -> None:
    # Secrets at a file's very start or end, beside word characters of the next file:
    # where a joined scan could lose a `\b` or gain a match across two files.
    buffers = []
    for text, secret, where, edge in files:
        if where == "start":
            buffers.append(secret + text + edge)
        elif where == "end":
            buffers.append(edge + text + secret)
        else:
            buffers.append(text[:20] + secret + text[20:])
    found = prefilter.candidates(buffers)
    assert found == sorted(set(found))
    assert {i for i, b in enumerate(buffers) if prefilter.may_hold_secret(b)} <= set(found)


def test_a_match_across_two_files_only_adds_a_candidate() -> None:
    # The header ends one file and key material starts the next: neither holds a key.
    buffers = [b"x -----BEGIN RSA PRIVATE KEY-----", b"MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf",
               b"plain"]
    assert not any(prefilter.may_hold_secret(b) for b in buffers)
    assert set(prefilter.candidates(buffers)) <= {1}
