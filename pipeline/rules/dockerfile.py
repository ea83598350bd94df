"""The build context's Dockerfile: enough parsing to name the final stage's base, and
the rules that read the Dockerfile itself (HEALTHCHECK, layer-caching order, ARG secrets).

Parsing handles line continuations, comments, heredocs (`RUN <<EOF ... EOF`), global
ARG defaults overridden by build args, `FROM [--platform=...] image [AS name]`,
`$VAR`/`${VAR}`/`${VAR:-default}`, and stages built FROM earlier stages.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import re2  # type: ignore[import-untyped]

from pipeline.findings import Evidence, Finding
from pipeline.rules import patterns

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
# A Dockerfile over this size is not read (the rules say nothing rather than stall).
MAX_DOCKERFILE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Instruction:
    line: int        # 1-based line where the instruction starts
    word: str        # upper-cased keyword: FROM, RUN, COPY...
    rest: str        # its arguments, continuations joined


@dataclass(slots=True)
class Stage:
    name: str | None                 # the AS name, lower-cased
    base: str                        # the FROM reference, global ARGs expanded
    line: int
    body: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions in order, with the line each starts on."""
    out: list[Instruction] = []
    lines = text.splitlines()
    pending, start, i = "", 0, 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("#") or (not pending and not line):
            continue
        if not pending:
            start = i
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        # A heredoc's body is part of its instruction, up to the delimiter line.
        for delimiter in _HEREDOC.findall(full):
            while i < len(lines) and lines[i].strip() != delimiter:
                full += "\n" + lines[i]
                i += 1
            i += 1
        word, _, rest = full.partition(" ")
        out.append(Instruction(start, word.upper(), rest.strip()))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        out.append(Instruction(start, word.upper(), rest.strip()))
    return out


def _expand(text: str, values: Mapping[str, str]) -> str:
    def sub(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(3)
        value = values.get(name, "")
        return value if value else (found.group(2) or "")
    return _VAR.sub(sub, text)


def _arg_items(rest: str) -> list[tuple[str, str | None]]:
    """`ARG A B=1 C="two words"` as (name, default or None)."""
    try:
        words = shlex.split(rest, posix=True)
    except ValueError:
        words = rest.split()
    items: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, default = word.partition("=")
        items.append((name, default if eq else None))
    return items


def stages(text: str, build_args: Mapping[str, str] | None = None) -> tuple[list[Instruction],
                                                                            list[Stage]]:
    """(global instructions before the first FROM, the stages in order)."""
    build_args = dict(build_args or {})
    args: dict[str, str] = {}
    preamble: list[Instruction] = []
    found: list[Stage] = []
    for ins in instructions(text):
        if ins.word == "FROM":
            tokens = [t for t in ins.rest.split() if not t.startswith("--")]
            if not tokens:
                continue
            name = tokens[2].lower() if len(tokens) >= 3 and tokens[1].lower() == "as" else None
            found.append(Stage(name, _expand(tokens[0], args), ins.line))
        elif not found:
            preamble.append(ins)
            if ins.word == "ARG":
                for name, default in _arg_items(ins.rest):
                    args[name] = build_args.get(name, default or "")
        else:
            found[-1].body.append(ins)
    return preamble, found


def _chain(found: list[Stage], target: str | None) -> list[Stage] | None:
    """The target (or last) stage, then each earlier stage it is built FROM."""
    if not found:
        return None
    index = len(found) - 1
    if target is not None:
        names = [s.name for s in found]
        if target.lower() not in names:
            return None
        index = names.index(target.lower())
    by_name = {s.name: i for i, s in enumerate(found) if s.name}
    chain = [found[index]]
    while chain[-1].base.lower() in by_name and len(chain) <= len(found):
        chain.append(found[by_name[chain[-1].base.lower()]])
    return chain


def final_base(text: str, *, target: str | None = None,
               build_args: Mapping[str, str] | None = None) -> str | None:
    """The image reference the final (or `target`) stage is built FROM; None if undeclared."""
    chain = _chain(stages(text, build_args)[1], target)
    return chain[-1].base if chain else None


# --- rules over the Dockerfile --------------------------------------------------

def _read(subject: Subject) -> str | None:
    if subject.context_dir is None:
        return None
    path = subject.context_dir / subject.service.dockerfile
    try:
        if path.stat().st_size > MAX_DOCKERFILE:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def check_healthcheck(subject: Subject) -> Iterator[Finding]:
    """healthcheck = "required": the built stage (or a stage it is FROM) sets one."""
    if subject.service.healthcheck != "required":
        return
    text = _read(subject)
    if text is None:
        return
    chain = _chain(stages(text, subject.service.build_args)[1], subject.service.target)
    if chain is None:
        return
    # The nearest HEALTHCHECK wins: the final stage's last, else its parents'.
    for stage in chain:
        checks = [ins for ins in stage.body if ins.word == "HEALTHCHECK"]
        if checks:
            last = checks[-1]
            if last.rest.strip().upper() != "NONE":
                return
            where = f"HEALTHCHECK NONE at line {last.line}"
            break
    else:
        stage = chain[0]
        where = f"no HEALTHCHECK in stage {stage.name or 'final'} (FROM line {stage.line})"
    yield Finding("dockerfile.healthcheck-missing",
                  f"{subject.service.dockerfile}: {where}; the contract requires one "
                  f"(e.g. probing {subject.service.health.path} on port {subject.service.port})",
                  (Evidence(path=subject.service.dockerfile, detail=where),),
                  subject=subject.name)


# Files that describe dependencies, not the application: copying these first is the
# layer-caching pattern the rule wants.
MANIFESTS = (
    "package.json", "package-lock.json", "npm-shrinkwrap.json", "package*.json", "yarn.lock",
    ".yarnrc", ".yarnrc.yml", ".yarn", "pnpm-lock.yaml", "pnpm-workspace.yaml", ".npmrc",
    "requirements*.txt", "requirements*.in", "requirements", "constraints*.txt",
    "pyproject.toml", "poetry.lock", "poetry.toml", "uv.lock", "pdm.lock", "Pipfile",
    "Pipfile.lock", "setup.py", "setup.cfg", "go.mod", "go.sum", "Cargo.toml", "Cargo.lock",
    "Gemfile", "Gemfile.lock", "composer.json", "composer.lock", "README*", "LICENSE*",
)
_FLAGS = r"(?:\s+-{1,2}[A-Za-z][\w-]*(?:=\S+)?)*"
_END = r"\s*(?:$|&&|;|\|\||\)|\n)"
# Installs driven by a manifest (not `npm install -g pnpm` or `pip install gunicorn`).
# RE2: linear in the RUN line whatever it holds (a line of 100k "pip install" would make
# a backtracking engine quadratic).
_INSTALL = re2.compile("(?m)" + "|".join((
    rf"\bnpm\s+(?:ci|install|i){_FLAGS}{_END}",
    rf"\byarn(?:\s+install)?{_FLAGS}{_END}",
    rf"\bpnpm\s+(?:i|install){_FLAGS}{_END}",
    r"\bpip[0-9.]*\s+install\b[^\n&;|]*?(?:\s-r\s*|\s--requirement[=\s])",
    r"\bpip[0-9.]*\s+install\b[^\n&;|]*?\s(?:-e\s+)?\.(?:\[[^\]]*\])?/?(?:\s|$)",
    r"\b(?:poetry|pipenv|pdm|bundle|composer)\s+install\b",
    r"\buv\s+(?:sync|pip\s+install\b[^\n&;|]*?\s-r)\b",
    r"\bgo\s+mod\s+download\b",
    r"\bcargo\s+fetch\b",
)))


def _copy_sources(rest: str) -> list[str] | None:
    """The sources of a COPY/ADD from the build context; None for COPY --from."""
    words = rest.split()
    if any(w.startswith("--from") for w in words):
        return None
    rest = " ".join(w for w in words if not w.startswith("--"))
    if rest.startswith("["):
        try:
            parts = [str(p) for p in json.loads(rest)]
        except ValueError:
            parts = rest.strip("[]").replace(",", " ").split()
    else:
        parts = rest.split()
    if "<<" in rest:         # COPY <<EOF /path: inline content, no source
        return []
    return parts[:-1]


def _copy_destination(rest: str) -> str:
    words = [w for w in rest.split() if not w.startswith("--")]
    return words[-1].strip('[]",').rstrip("/") if words else ""


_PIP_TARGETS = re2.compile(r"\bpip[0-9.]*\s+install\b([^\n&;|]*)")


def _installs(run: str, copied: set[str]) -> str | None:
    """The manifest-driven install in a RUN, or `pip install <dir>` of a copied source dir."""
    if found := _INSTALL.search(run):
        return found.group(0).strip().rstrip(";&|)").strip()
    for found in _PIP_TARGETS.finditer(run):
        targets = [t.rstrip("/") for t in found.group(1).split() if not t.startswith("-")]
        if any(t in copied for t in targets):
            return found.group(0).strip()
    return None


def _is_manifest(source: str) -> bool:
    base = source.rstrip("/").rsplit("/", 1)[-1]
    # A source that is itself a glob (package*.json) names a manifest if it matches one.
    glob = len(base) <= 128 and any(c in base for c in "*?[")
    return any(fnmatch.fnmatchcase(base, p) or (glob and fnmatch.fnmatchcase(p, base))
               for p in MANIFESTS)


def check_cache_order(subject: Subject) -> Iterator[Finding]:
    """In each stage, dependencies are installed before the rest of the source arrives."""
    text = _read(subject)
    if text is None:
        return
    dockerfile = subject.service.dockerfile
    for number, stage in enumerate(stages(text, subject.service.build_args)[1], 1):
        source_copy: Instruction | None = None
        copied: set[str] = set()
        for ins in stage.body:
            if ins.word in ("COPY", "ADD"):
                sources = _copy_sources(ins.rest) or []
                if any(not _is_manifest(s) for s in sources):
                    source_copy = source_copy or ins
                    copied.add(_copy_destination(ins.rest))
            elif ins.word == "RUN" and (install := _installs(ins.rest, copied)):
                if source_copy is not None:
                    name = stage.name or f"#{number}"
                    yield Finding(
                        "dockerfile.cache-order",
                        f"{dockerfile}: stage {name} runs `{_short(install)}` (line {ins.line}) "
                        f"after `{ins_text(source_copy)}` (line {source_copy.line}): every "
                        f"source change reinstalls the dependencies",
                        (Evidence(path=dockerfile, detail=f"line {source_copy.line}: "
                                  f"{ins_text(source_copy)}; line {ins.line}: RUN {_short(install)}"),),
                        subject=subject.name)
                break        # the stage's first install decides


def ins_text(ins: Instruction) -> str:
    return _short(f"{ins.word} {ins.rest}")


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_URL_PASSWORD = re.compile(r"://[^/\s:@]+:([^/\s@]+)@")


def check_secret_args(subject: Subject) -> Iterator[Finding]:
    """No ARG default holds a secret: a secret-named variable with a real value, a token,
    or a URL with a password."""
    text = _read(subject)
    if text is None:
        return
    dockerfile = subject.service.dockerfile
    declared = set(subject.service.env.secrets)
    for ins in instructions(text):
        if ins.word != "ARG":
            continue
        for name, default in _arg_items(ins.rest):
            if not default or patterns.is_placeholder(default):
                continue
            token = patterns.match_text(default)
            password = _URL_PASSWORD.search(default)
            named = name in declared or patterns.SECRET_NAME.search(name) is not None
            if not (token or named or (password and not patterns.is_placeholder(
                    password.group(1)))):
                continue
            what = token[1] if token else ("URL with a password" if password
                                           else "secret-named variable")
            shown = f"line {ins.line}: ARG {name}={patterns.redact(default)}"
            yield Finding("dockerfile.secret-arg",
                          f"{dockerfile}: ARG {name} has a default value ({what})",
                          (Evidence(path=dockerfile, detail=shown),), subject=subject.name)
