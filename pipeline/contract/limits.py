"""Bounds on what the loader reads: file kind and size, nesting depth, paths on disk.

A contract is small and hand-written; anything far beyond that is hostile or a
mistake, and must cost neither unbounded memory nor time. So only regular files
are opened (a FIFO or /dev/zero never blocks or streams), reads stop at
MAX_BYTES, and the text is scanned for nesting before tomllib sees it: tomllib
recurses on nested arrays and inline tables and is quadratic in the parts of a
dotted key.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import ContractError

MAX_BYTES = 1024 * 1024      # a real contract is a few KiB
MAX_DEPTH = 32               # tables, arrays and dotted-key parts, all counted alike


def read_text(path: Path) -> str:
    """The UTF-8 text of the regular file at `path`, at most MAX_BYTES; ContractError else."""
    where = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ContractError("no such file", path=where) from None
    except IsADirectoryError:
        raise ContractError("is a directory, not a contract file", path=where) from None
    except OSError as exc:
        raise ContractError(f"cannot read: {exc.strerror}", path=where) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ContractError("is a directory, not a contract file", path=where)
        if not stat.S_ISREG(info.st_mode):
            raise ContractError("not a regular file (a device, FIFO or socket is never read)",
                                path=where)
        if info.st_size > MAX_BYTES:
            raise ContractError(f"file is {info.st_size} bytes, over the {MAX_BYTES}-byte limit",
                                path=where)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)   # the file may grow after fstat
    except OSError as exc:
        raise ContractError(f"cannot read: {exc.strerror}", path=where) from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise ContractError(f"file is over the {MAX_BYTES}-byte limit", path=where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"not UTF-8 text (byte {exc.start})", path=where) from None


def check_nesting(text: str, path: Path) -> None:
    """Refuse text nesting deeper than MAX_DEPTH before tomllib parses it.

    A lexical scan: strings and comments are skipped; brackets and braces count
    one level each, and so does each dot of a key (or float) between separators.
    """
    depth = 0
    dots = 0
    line = 1
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            dots = 0
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "\"'":
            i, line = _skip_string(text, i, line)
            continue
        elif ch in "[{":
            depth += 1
            dots = 0
            if depth > MAX_DEPTH:
                raise _too_deep(path, line)
        elif ch in "]}":
            depth = max(0, depth - 1)
            dots = 0
        elif ch in ",=":
            dots = 0
        elif ch == ".":
            dots += 1
            if dots + depth > MAX_DEPTH:
                raise _too_deep(path, line)
        i += 1


def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
    """Index just past the string starting at `i`, and the line it ends on."""
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    close = quote * 3 if triple else quote
    j = i + len(close)
    n = len(text)
    while j < n:
        ch = text[j]
        if ch == "\\" and quote == '"':
            line += text.startswith("\n", j + 1)
            j += 2
            continue
        if ch == "\n":
            line += 1
            if not triple:     # an unterminated one-line string: tomllib reports it
                return j, line - 1
        if text.startswith(close, j):
            j += len(close)
            while triple and j < n and text[j] == quote:  # """ may close after 1-2 quotes
                j += 1
            return j, line
        j += 1
    return n, line


def _too_deep(path: Path, line: int) -> ContractError:
    return ContractError(f"nested deeper than {MAX_DEPTH} levels", path=str(path), line=line)


def deepest(value: Any, limit: int = MAX_DEPTH) -> tuple[str | int, ...] | None:
    """The location of a value nested deeper than `limit`, else None (iterative: no recursion)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, loc = stack.pop()
        if len(loc) > limit:
            return loc[: limit + 1]
        if isinstance(node, dict):
            stack.extend((child, (*loc, key)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, (*loc, index)) for index, child in enumerate(node))
    return None


def inside(root: Path, relative: str, *, resolved: bool = False) -> bool:
    """Whether `root/relative` stays inside `root` once symlinks are followed."""
    base = root if resolved else root.resolve()
    try:
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):   # a symlink loop, a NUL byte
        return False
    return target == base or base in target.parents


def escaping_paths(contract: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(field location, message) for every contract path that leaves the contract's directory."""
    root = contract.root.resolve()
    verdicts: dict[str, bool] = {}   # services usually share paths: resolve each once

    def ok(relative: str) -> bool:
        if relative not in verdicts:
            verdicts[relative] = inside(root, relative, resolved=True)
        return verdicts[relative]

    for name, service in contract.services.items():
        if not ok(service.context):
            yield (("services", name, "context"),
                   f"{service.context!r} leads outside the contract's directory")
            continue
        if not ok(f"{service.context}/{service.dockerfile}"):
            yield (("services", name, "dockerfile"),
                   f"{service.dockerfile!r} leads outside the contract's directory")
    for lane in ("integration", "e2e"):
        runner = getattr(contract, lane)
        if runner is not None and not ok(runner.source):
            yield ((lane, "source"), f"{runner.source!r} leads outside the contract's directory")
