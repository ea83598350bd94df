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
    hits: dict[str, list[Evidence]] = {name: [] for name in classes}
    # One regex per class, then one alternation over all classes so each path is
    # matched once; the per-class regexes only run on paths the union matched.
    path_res = {name: regex for name, spec in classes.items()
                if (regex := globs.combine(spec.paths)) is not None}
    union = globs.combine([p for spec in classes.values() for p in spec.paths])
    layers = subject.image.layers
    for entry in subject.image.list():
        if entry.kind is Kind.DIR or union is None or not union.match(entry.path) \
                or entry.path in allowed:
            continue
        for name, regex in path_res.items():
            if regex.match(entry.path):
                hits[name].append(Evidence(layer=layers[entry.layer].digest
                                           if entry.layer < len(layers) else None,
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
