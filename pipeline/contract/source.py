"""The contract's text: read, parsed and merged with its overlays, and errors located in it.

Pydantic-free, so both readers share it: `loader` (the models, pydantic) and
`plain` (check-image's start-up). Overlays are deep-merged over the base in
order: tables merge, scalars and arrays replace. Each leaf remembers the file it
came from, so an error names the file (and, where it can be found, the line)
that supplied the faulty value. tomllib gives no positions for keys, so
`locate()` finds the line of a field by scanning table headers and `key =`
lines: good for the contracts people write, and it falls back to the file alone
rather than guessing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.contract import limits
from pipeline.errors import ContractError

Loc = tuple[str | int, ...]
Locator = Callable[[Loc, str], ContractError]


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class Merged:
    """The files read, the merged document, and which file each location came from."""

    sources: list[Source]
    document: dict[str, Any]
    origins: dict[Loc, int]

    def error(self, loc: Loc, message: str) -> ContractError:
        return error_at(self.sources, self.origins, loc, message)

    def locator(self) -> Locator:
        return partial(error_at, self.sources, self.origins)


def read_merged(path: Path, overlays: Sequence[Path]) -> Merged:
    """Every file read (all before any is parsed), parsed and merged in order."""
    sources = [Source(p, limits.read_text(p)) for p in (path, *overlays)]
    merged: dict[str, Any] = {}
    origins: dict[Loc, int] = {}
    for index, source in enumerate(sources):
        _merge(merged, _parse(source), (), index, origins)
    return Merged(sources, merged, origins)


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_EOF = re.compile(r"\s*\(at end of document\)$")


def _parse(source: Source) -> dict[str, Any]:
    limits.check_nesting(source.text, source.path)
    try:
        document = tomllib.loads(source.text)
    except RecursionError:
        raise ContractError(f"nested deeper than {limits.MAX_DEPTH} levels",
                            path=str(source.path)) from None
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        at = _TOML_AT.search(text)
        line = int(at.group(1)) if at else (source.text.count("\n") + 1
                                              if _TOML_EOF.search(text) else None)
        message = _TOML_EOF.sub("", _TOML_AT.sub("", text))
        raise ContractError(f"invalid TOML: {message}", path=str(source.path),
                            line=line) from None
    too_deep = limits.deepest(document)
    if too_deep is not None:
        raise ContractError(f"nested deeper than {limits.MAX_DEPTH} levels",
                            path=str(source.path), line=locate(source.text, too_deep),
                            field=field_name(too_deep[:4]) + "...")
    return document


def _merge(into: dict[str, Any], new: dict[str, Any], prefix: Loc, index: int,
           origins: dict[Loc, int]) -> None:
    """Deep-merge `new` into `into`: tables merge, anything else replaces."""
    for key, value in new.items():
        loc = (*prefix, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, loc, index, origins)
            continue
        if key in into:  # everything under a replaced key now comes from this file
            for old in [o for o in origins if o[: len(loc)] == loc]:
                del origins[old]
        into[key] = value
        _record(value, loc, index, origins)


def _record(value: Any, loc: Loc, index: int, origins: dict[Loc, int]) -> None:
    origins[loc] = index
    if isinstance(value, dict):
        for key, child in value.items():
            _record(child, (*loc, key), index, origins)


def _clean(loc: Loc) -> Loc:
    # pydantic marks dict-key failures with a "[key]" element; the key itself names the field.
    return tuple(part for part in loc if part != "[key]")


def field_name(loc: Loc) -> str:
    out = ""
    for part in _clean(loc):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_at(sources: list[Source], origins: dict[Loc, int], loc: Loc,
             message: str) -> ContractError:
    """A one-line error naming the file that supplied `loc`, its line and the field."""
    loc = _clean(loc)
    index = 0
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in origins:
            index = origins[loc[:cut]]
            break
    source = sources[index]
    return ContractError(message, path=str(source.path), line=locate(source.text, loc),
                         field=field_name(loc) or None)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
                  r"""(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")
_PART = re.compile(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""")


def _keys(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(dotted)]


def locate(text: str, loc: Loc) -> int | None:
    """The 1-based line that best matches `loc`: the longest matching key path."""
    wanted = tuple(str(p) for p in loc)
    table: tuple[str, ...] = ()
    arrays: dict[tuple[str, ...], int] = {}
    best, best_len = None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            path = tuple(_keys(header.group(2)))
            if header.group(1) == "[[":
                arrays[path] = arrays.get(path, -1) + 1
                path = (*path, str(arrays[path]))
            table, keypath = path, path
        else:
            key = _KEY.match(line)
            if not key:
                continue
            keypath = (*table, *_keys(key.group(1)))
        if len(keypath) > best_len and wanted[: len(keypath)] == keypath:
            best, best_len = number, len(keypath)
    return best
