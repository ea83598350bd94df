"""Path globs: the one-scan matcher over many paths agrees with matching each path alone."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.contract.defaults import DEFAULT_TOOL_CLASSES
from pipeline.rules import globs

PATTERNS = [p for spec in DEFAULT_TOOL_CLASSES.values() for p in spec["paths"]] + ["**/.git", "opt/[!a]*/x?"]
SEGMENT = st.sampled_from(["usr", "bin", "gcc", "gcc-12", "local", "lib", "x86_64-linux-gnu",
                           "pip", "pip3", ".git", "make", "ré", "a\nb", "sub dir", "cc"])
PATHS = st.lists(st.lists(SEGMENT, min_size=1, max_size=5).map("/".join), max_size=60)


def one_by_one(patterns: list[str], paths: list[str]) -> set[str]:
    regex = globs.combine(patterns)
    return {p for p in paths if regex is not None and regex.match(p)}


@settings(max_examples=150, deadline=None)
@given(paths=PATHS)
def test_one_scan_finds_what_each_path_matches(paths: list[str]) -> None:
    found = globs.matching_lines(PATTERNS, paths)
    assert found is not None
    assert one_by_one(PATTERNS, paths) <= found
    # and finds nothing else: every line it returns is a whole path that matches
    assert found <= set(paths) and found <= one_by_one(PATTERNS, list(found))


def test_a_star_never_crosses_into_the_next_path() -> None:
    assert globs.matching_lines(["usr/bin/gcc*"], ["usr/bin/x", "gcc", "usr/bin/gcc-12"]) \
        == {"usr/bin/gcc-12"}
    assert globs.matching_lines(["a*b", "[!x]y"], ["ax", "yb", "a"]) == set()
    # a path holding a newline is matched alone, as before: [!x] takes the newline
    assert globs.matching_lines(["[!x]y"], ["\ny"]) == {"\ny"}


def test_no_patterns_and_newline_globs() -> None:
    assert globs.matching_lines([], ["usr/bin/gcc"]) == set()
    assert globs.matching_lines(["a\nb"], ["a\nb"]) is None     # callers match one by one
