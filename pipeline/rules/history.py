"""Secrets in the image config: ENV values, and ARG/ENV/RUN lines kept in the build history.

History keeps ARG values used by RUN (`RUN |2 TOKEN=... /bin/sh -c ...`) and
every ENV ever set, even ones a later ENV overrides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.findings import Evidence, Finding
from pipeline.rules import patterns

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

_ASSIGN = re.compile(r"""\b([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|[^\s"']+)""")


def _secret_assignment(name: str, value: str, declared: set[str]) -> bool:
    if patterns.is_placeholder(value):
        return False
    return name in declared or patterns.SECRET_NAME.search(name) is not None


def check_env(subject: Subject) -> Iterator[Finding]:
    declared = set(subject.service.env.secrets)
    for name, value in subject.image.config.env:
        if name in declared and value:
            yield Finding("env.secret-baked",
                          f"ENV {name} is a declared secret and has a value baked in",
                          (Evidence(detail=f"{name}={patterns.redact(value)}"),),
                          subject=subject.name)
            continue
        token = patterns.match_text(value)
        if token or _secret_assignment(name, value, set()):
            what = token[1] if token else "secret-looking variable"
            yield Finding("env.secret-value", f"ENV {name} holds a {what}",
                          (Evidence(detail=f"{name}={patterns.redact(value)}"),),
                          subject=subject.name)


def check_history(subject: Subject) -> Iterator[Finding]:
    declared = set(subject.service.env.secrets)
    for index, entry in enumerate(subject.image.config.history):
        line = entry.created_by
        reasons: list[str] = []
        for found in _ASSIGN.finditer(line):
            name, value = found.group(1), found.group(2).strip("'\"")
            if _secret_assignment(name, value, declared):
                reasons.append(f"{name}={patterns.redact(value)}")
        token = patterns.match_text(line)
        if token:
            reasons.append(f"{token[1]} {patterns.redact(token[2])}")
        if reasons:
            step = line.split()[0] if line.split() else "step"
            if "#(nop)" in line:
                step = line.split("#(nop)", 1)[1].split()[0]
            yield Finding("history.secret",
                          f"history[{index}] ({step}) records a secret: {', '.join(reasons)}",
                          (Evidence(history=index, detail=", ".join(reasons)),),
                          subject=subject.name)
