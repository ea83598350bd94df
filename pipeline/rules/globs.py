"""Path globs as in .dockerignore and the contract: `*` stays in one component, `**` crosses."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Protocol, cast

import re2  # type: ignore[import-untyped]


class Matcher(Protocol):
    def match(self, text: str) -> object | None: ...


@functools.lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(translate(pattern) + r"\Z")


@functools.lru_cache(maxsize=4096)
def translate(pattern: str, *, lines: bool = False) -> str:
    """The glob as an unanchored regex (the same text for Python's re and RE2).

    `lines`: no part of it matches a newline, so that it can run over many paths
    joined by newlines (see `matching_lines`)."""
    avoid = "/\\n" if lines else "/"
    pattern = pattern.strip().lstrip("/").removeprefix("./").rstrip("/")
    out: list[str] = []
    start = i = 0                  # pattern[start:i]: literal text, escaped in one call

    def literal() -> None:
        if start < i:
            out.append(re.escape(pattern[start:i]))
    while i < len(pattern):
        char = pattern[i]
        if char not in "*?[":
            i += 1
            continue
        literal()
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append(f"[^{avoid}]*")
            i += 1
        elif char == "?":
            out.append(f"[^{avoid}]")
            i += 1
        else:
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body.startswith(("!", "^")):
                    out.append("[^" + body[1:] + ("\\n" if lines else "") + "]")
                else:
                    out.append("[" + body + "]")
                i = end
            i += 1
        start = i
    literal()
    return "".join(out)


def match(pattern: str, path: str) -> bool:
    return compile_glob(pattern).match(path) is not None


class _Utf8Safe:
    """An RE2 regex that also takes paths holding undecodable bytes (surrogateescape'd):
    RE2 wants valid UTF-8, so those bytes become U+FFFD, which `*` and `?` still match."""

    __slots__ = ("_regex",)

    def __init__(self, regex: object) -> None:
        self._regex = cast(Matcher, regex)

    def match(self, text: str) -> object | None:
        try:
            return self._regex.match(text)
        except UnicodeEncodeError:
            return self._regex.match(
                text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def combine(patterns: list[str]) -> Matcher | None:
    """One regex matching any of `patterns` (None when there are none).

    RE2 compiles it: the contract's tool classes give a few hundred globs, which Python's
    re takes ~0.15 s to compile on every run (its parser is Python), RE2 a millisecond.
    """
    if not patterns:
        return None
    body = "|".join(f"(?:{translate(p)})" for p in patterns)
    try:
        return _Utf8Safe(re2.compile(f"(?:{body})\\z"))
    except re2.error:      # a class RE2 reads differently: Python's re, as before
        return re.compile(f"(?:{body})\\Z")


_BATCH = 4096


def matching_lines(patterns: list[str], paths: Iterable[str]) -> set[str] | None:
    """The paths that match any of `patterns`, found by one RE2 scan over all of them
    joined by newlines instead of one regex call a path (the Python wrapper's ~5 us a
    call is most of a 20,000-file image's cost). A superset is enough: callers match
    each candidate again. Paths that are not plain ASCII or hold a newline are matched
    one by one. None when RE2 cannot take the patterns (callers match every path)."""
    if not patterns:
        return set()
    if any(min(p, default=" ") <= "\n" for p in patterns):     # a glob naming a newline
        return None
    body = "|".join(f"(?:{translate(p, lines=True)})" for p in patterns)
    try:
        regex = re2.compile(f"(?m)^(?:{body})$")
    except re2.error:
        return None
    found: set[str] = set()
    plain: list[str] = []
    odd: list[str] = []
    for path in paths:
        (plain if path.isascii() and "\n" not in path else odd).append(path)
        if len(plain) == _BATCH:         # a bounded text at a time, whatever the image
            found.update(m.group(0) for m in regex.finditer("\n".join(plain)))
            plain.clear()
    found.update(m.group(0) for m in regex.finditer("\n".join(plain)))
    if odd:
        single = combine(patterns)
        found.update(p for p in odd if single is not None and single.match(p))
    return found
