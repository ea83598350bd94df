"""Forbidden tool classes, found by path and by package databases."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import FORBIDDEN_PREFIX, Evidence, Finding
from pipeline.image.model import Kind
from pipeline.rules import globs
from pipeline.rules.packages import installed

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

MAX_EVIDENCE = 20


def check(subject: Subject) -> Iterator[Finding]:
    forbidden = subject.service.forbidden
    classes = forbidden.classes()
    allowed = {p.lstrip("/") for p in forbidden.allow}
    path_res = {name: globs.combine(spec.paths) for name, spec in classes.items()}
    hits: dict[str, list[Evidence]] = {name: [] for name in classes}

    for entry in subject.image.list():
        if entry.kind is Kind.DIR or entry.path in allowed:
            continue
        for name, regex in path_res.items():
            if regex is not None and regex.match(entry.path):
                hits[name].append(Evidence(layer=subject.image.layers[entry.layer].digest
                                           if entry.layer < len(subject.image.layers) else None,
                                           path=entry.path))
    packages = list(installed(subject.image))
    for name, spec in classes.items():
        lowered = [p.lower() for p in spec.packages]
        for package in packages:
            if package.path in allowed:
                continue
            if any(fnmatch.fnmatchcase(package.name.lower(), p) for p in lowered):
                hits[name].append(Evidence(path=package.path,
                                           detail=f"{package.ecosystem} package {package.name}"))

    for name, evidence in hits.items():
        if not evidence:
            continue
        shown = [e.detail or e.path for e in evidence[:5]]
        more = f" and {len(evidence) - 5} more" if len(evidence) > 5 else ""
        yield Finding(f"{FORBIDDEN_PREFIX}{name}",
                      f"{name} present: {', '.join(str(s) for s in shown)}{more}",
                      tuple(evidence[:MAX_EVIDENCE]), subject=subject.name)
