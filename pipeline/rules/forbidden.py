"""Forbidden tool classes, found by path and by package databases.

A multi-call binary's applets (busybox `dpkg`) are not the tools they are named
after: the binary is reported once (multicall.binary, low) and its applets count
toward a class only when the contract lists it in `forbidden.count_applets`.
What the base image brought and what the image's own layers added are separate
findings, so the inherited one can say so.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import FORBIDDEN_PREFIX, Evidence, Finding
from pipeline.image.model import Kind
from pipeline.rules import globs, multicall
from pipeline.rules.packages import installed

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

MAX_EVIDENCE = 20
SHOWN_APPLETS = 12


def check(subject: Subject) -> Iterator[Finding]:
    forbidden = subject.service.forbidden
    classes = forbidden.classes()
    allowed = {p.lstrip("/") for p in forbidden.allow}
    entries = list(subject.image.list())
    calls = multicall.find(subject.image, entries)
    applets = {path: call for call in calls for path in call.applets}
    # (class, from the base?) -> evidence; applet hits kept apart per binary.
    hits: dict[tuple[str, bool], list[Evidence]] = {}
    applet_hits: dict[str, dict[str, list[str]]] = {call.path: {} for call in calls}
    # One regex per class, then one alternation over all classes so each path is
    # matched once; the per-class regexes only run on paths the union matched.
    path_res: dict[str, globs.Matcher] | None = None      # compiled for the first candidate
    every = [p for spec in classes.values() for p in spec.paths]
    # The union runs once over all paths together; what it matches is looked at closer.
    candidates = globs.matching_lines(every, (e.path for e in entries if e.kind is not Kind.DIR))
    union = globs.combine(every) if candidates is None else None    # RE2 refused: one by one
    for entry in entries:
        if entry.kind is Kind.DIR or entry.path in allowed:
            continue
        if candidates is not None:
            if entry.path not in candidates:
                continue
        elif union is None or not union.match(entry.path):
            continue
        if path_res is None:
            path_res = {name: regex for name, spec in classes.items()
                        if (regex := globs.combine(spec.paths)) is not None}
        for name, regex in path_res.items():
            if not regex.match(entry.path):
                continue
            call = applets.get(entry.path)
            if call is not None:
                applet_hits[call.path].setdefault(name, []).append(call.applets[entry.path])
                if name not in forbidden.count_applets:
                    continue
            hits.setdefault((name, subject.from_base(entry.layer)), []).append(
                Evidence(layer=subject.layer_digest(entry.layer), path=entry.path,
                         detail=f"{call.kind} applet" if call else None))
    packages = list(installed(subject.image))
    for name, spec in classes.items():
        lowered = [p.lower() for p in spec.packages]
        for package in packages:
            if package.path in allowed:
                continue
            if any(fnmatch.fnmatchcase(package.name.lower(), p) for p in lowered):
                layer = subject.layer_digest(package.layer) if package.layer is not None else None
                hits.setdefault((name, subject.from_base(package.layer)), []).append(
                    Evidence(layer=layer, path=package.path,
                             detail=f"{package.ecosystem} package {package.name}"))

    for (name, _), evidence in sorted(hits.items()):
        shown = [e.detail if e.detail and " package " in e.detail else e.path
                 for e in evidence[:5]]
        more = f" and {len(evidence) - 5} more" if len(evidence) > 5 else ""
        yield Finding(f"{FORBIDDEN_PREFIX}{name}",
                      f"{name} present: {', '.join(str(s) for s in shown)}{more}",
                      tuple(evidence[:MAX_EVIDENCE]), subject=subject.name)
    for call in calls:
        yield _multicall_finding(subject, call, applet_hits[call.path])


def _multicall_finding(subject: Subject, call: multicall.MultiCall,
                       named: dict[str, list[str]]) -> Finding:
    names = call.names
    shown = ", ".join(names[:SHOWN_APPLETS]) + (f" and {len(names) - SHOWN_APPLETS} more"
                                                if len(names) > SHOWN_APPLETS else "")
    message = f"/{call.path} is {call.kind}, a multi-call binary " + (
        f"with {len(names)} applets: {shown}" if names else "(no applet links)")
    counted = subject.service.forbidden.count_applets
    if named:
        parts = [f"{cls} ({', '.join(sorted(set(found)))}"
                 f"{'; counted as tools' if cls in counted else ''})"
                 for cls, found in sorted(named.items())]
        message += f"; applets named like forbidden tools: {', '.join(parts)}"
    return Finding("multicall.binary", message,
                   (Evidence(layer=subject.layer_digest(call.layer), path=call.path,
                             detail="applets: " + " ".join(names)),),
                   subject=subject.name)
