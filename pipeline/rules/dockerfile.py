"""Just enough Dockerfile parsing to name the final stage's base image.

Handles line continuations, comments, global ARG defaults overridden by build
args, `FROM [--platform=...] image [AS name]`, `$VAR`/`${VAR}`/`${VAR:-default}`,
and stages built FROM earlier stages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def _instructions(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _expand(text: str, values: Mapping[str, str]) -> str:
    def sub(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(3)
        value = values.get(name, "")
        return value if value else (found.group(2) or "")
    return _VAR.sub(sub, text)


def final_base(text: str, *, target: str | None = None,
               build_args: Mapping[str, str] | None = None) -> str | None:
    """The image reference the final (or `target`) stage is built FROM; None if undeclared."""
    build_args = dict(build_args or {})
    args: dict[str, str] = {}
    stages: list[tuple[str | None, str]] = []          # (stage name, base reference)
    for word, rest in _instructions(text):
        if word == "ARG" and not stages:
            for item in rest.split():
                name, _, default = item.partition("=")
                args[name] = build_args.get(name, default.strip("\"'"))
        elif word == "FROM":
            tokens = [t for t in rest.split() if not t.startswith("--")]
            if not tokens:
                continue
            image = _expand(tokens[0], args)
            stage = tokens[2].lower() if len(tokens) >= 3 and tokens[1].lower() == "as" else None
            stages.append((stage, image))
    if not stages:
        return None
    index = len(stages) - 1
    if target is not None:
        names = [n for n, _ in stages]
        if target.lower() not in names:
            return None
        index = names.index(target.lower())
    base = stages[index][1]
    seen = 0
    by_name = {n: i for i, (n, _) in enumerate(stages) if n}
    while base.lower() in by_name and seen < len(stages):     # FROM an earlier stage
        base = stages[by_name[base.lower()]][1]
        seen += 1
    return base
