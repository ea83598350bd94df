"""The build context's .dockerignore excludes what the contract says it must.

An entry is excluded when the last .dockerignore pattern that matches it is not
a `!` exception (Docker's rule), or when a pattern is literally the entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding
from pipeline.rules import globs

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject


def _clean(pattern: str) -> str:
    return pattern.strip().lstrip("/").removeprefix("./").rstrip("/")


def excluded(entry: str, patterns: list[str]) -> bool:
    target = _clean(entry)
    result = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = _clean(raw[1:] if negated else raw)
        if not pattern:
            continue
        # A literal pattern equal to the entry, or a glob that matches the entry or a parent.
        parts = target.split("/")
        hit = pattern == target or any(globs.match(pattern, "/".join(parts[:i]))
                                       for i in range(1, len(parts) + 1))
        if hit:
            result = not negated
    return result


def check(subject: Subject) -> Iterator[Finding]:
    required = subject.service.dockerignore
    if subject.context_dir is None or not required:
        return
    path = subject.context_dir / ".dockerignore"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        yield Finding("dockerignore.missing", f"{path} does not exist",
                      (Evidence(path=str(path)),), subject=subject.name)
        return
    except (OSError, UnicodeDecodeError) as exc:
        yield Finding("dockerignore.missing", f"{path} cannot be read ({exc})",
                      (Evidence(path=str(path)),), subject=subject.name)
        return
    patterns = [line.strip() for line in text.splitlines()
                if line.strip() and not line.strip().startswith("#")]
    for entry in required:
        if not excluded(entry, patterns):
            yield Finding("dockerignore.not-excluded",
                          f"{path.name} does not exclude {entry}",
                          (Evidence(path=str(path), detail=entry),), subject=subject.name)
