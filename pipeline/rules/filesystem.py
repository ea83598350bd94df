"""Filesystem hygiene in the final image: setuid/setgid files, .git directories."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject


def _layer(subject: Subject, index: int) -> str | None:
    layers = subject.image.layers
    return layers[index].digest if index < len(layers) else None


def check_setuid(subject: Subject) -> Iterator[Finding]:
    for entry in sorted(subject.image.list(), key=lambda e: e.path):
        if entry.is_setuid:
            bits = " and ".join(b for b, m in (("setuid", 0o4000), ("setgid", 0o2000))
                                if entry.mode & m)
            yield Finding("fs.setuid", f"/{entry.path} is {bits} (mode {entry.mode:04o})",
                          (Evidence(layer=_layer(subject, entry.layer), path=entry.path,
                                    detail=f"mode {entry.mode:04o}"),), subject=subject.name)


def check_git(subject: Subject) -> Iterator[Finding]:
    roots: dict[str, int] = {}
    for entry in subject.image.list():
        parts = entry.path.split("/")
        if ".git" in parts:
            root = "/".join(parts[: parts.index(".git") + 1])
            roots.setdefault(root, entry.layer)
    for root, layer in sorted(roots.items()):
        yield Finding("fs.git-dir", f"/{root} ships in the image",
                      (Evidence(layer=_layer(subject, layer), path=root),), subject=subject.name)
