"""Filesystem hygiene in the final image: setuid/setgid files, .git directories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject


MAX_EVIDENCE = 50


def _layer(subject: Subject, index: int) -> str | None:
    layers = subject.image.layers
    return layers[index].digest if index < len(layers) else None


def check_setuid(subject: Subject) -> Iterator[Finding]:
    """One finding per setuid/setgid file the image added; the base image's, together."""
    inherited: list[Evidence] = []
    # Filtered before sorted (a handful of 20,000 paths), the mode bits tested first.
    setuid = sorted((e for e in subject.image.list() if e.mode & 0o6000 and e.is_setuid),
                    key=lambda e: e.path)
    for entry in setuid:
        bits = " and ".join(b for b, m in (("setuid", 0o4000), ("setgid", 0o2000))
                            if entry.mode & m)
        evidence = Evidence(layer=_layer(subject, entry.layer), path=entry.path,
                            detail=f"{bits}, mode {entry.mode:04o}")
        if subject.from_base(entry.layer):
            inherited.append(evidence)
            continue
        yield Finding("fs.setuid", f"/{entry.path} is {bits} (mode {entry.mode:04o})",
                      (evidence,), subject=subject.name)
    if inherited:
        names = ", ".join(f"/{e.path}" for e in inherited[:8])
        more = f" and {len(inherited) - 8} more" if len(inherited) > 8 else ""
        yield Finding("fs.setuid", f"{len(inherited)} setuid/setgid files: {names}{more}",
                      tuple(inherited[:MAX_EVIDENCE]), subject=subject.name)


def check_git(subject: Subject) -> Iterator[Finding]:
    roots: dict[str, int] = {}
    for entry in subject.image.list():
        if ".git" not in entry.path:       # most paths: no split
            continue
        parts = entry.path.split("/")
        if ".git" in parts:
            root = "/".join(parts[: parts.index(".git") + 1])
            roots.setdefault(root, entry.layer)
    for root, layer in sorted(roots.items()):
        yield Finding("fs.git-dir", f"/{root} ships in the image",
                      (Evidence(layer=_layer(subject, layer), path=root),), subject=subject.name)
