"""Contract-lane findings reused when nothing they were measured on has changed.

A contract lane exports its image, reads it and starts it several times (13-14 s
a service), although a warm run's images are usually the very same. Its findings,
static and runtime, are kept under a key made of:

- the image's digest (the engine's digest of its OCI tarball: same bytes, same key),
- the digests of the images of everything it depends on, transitively (built
  services the same way; external images by the digest their reference resolves to),
- a hash of the contract fields the lane reads: the service's section, its
  dependencies' sections, the image references they use, and the build-context
  files static rules read (Dockerfile, .dockerignore),
- a hash of pipeline's own code, so new rules or probes never see old results.

All equal: the stored findings are returned and the lane says so. `--fresh` (or
PIPELINE_FRESH=1) measures again and stores the new result. Only passing results
are kept: a failing lane is measured again on every run until it passes. Results live in
a store (pipeline.lanes.result_store): in client mode $PIPELINE_RESULTS_CACHE, default
~/.cache/pipeline/contract-results, one JSON file per key; in module mode the engine's
cache volume. An unreadable one is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagger
from dagger import dag

from pipeline.contract.models import Contract
from pipeline.findings import Evidence, Finding, Severity, Verdict
from pipeline.lanes.result_store import LocalStore, ResultStore

FRESH_ENV = "PIPELINE_FRESH"
STORE_ENV = "PIPELINE_RESULTS_CACHE"
_FORMAT = 1


def store_dir() -> Path:
    configured = os.environ.get(STORE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipeline" / "contract-results"


def local_store() -> LocalStore:
    """Client mode's store: store_dir() on this machine."""
    return LocalStore(store_dir())


def fresh_requested() -> bool:
    return os.environ.get(FRESH_ENV, "").lower() in ("1", "true", "yes")


@cache
def code_fingerprint() -> str:
    """sha256 over pipeline's own sources: a changed rule or probe is a changed key."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _closure(contract: Contract, service: str) -> list[str]:
    """The service's dependencies, transitively (services and external dependencies)."""
    seen: list[str] = []
    todo = list(contract.services[service].runtime.depends_on)
    while todo:
        name = todo.pop(0)
        if name in seen or name == service:
            continue
        seen.append(name)
        if name in contract.services:
            todo.extend(contract.services[name].runtime.depends_on)
    return seen


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None


def contract_fields(contract: Contract, service: str) -> str:
    """sha256 of what of the contract (and build context) the lane for `service` reads."""
    spec = contract.services[service]
    names = _closure(contract, service)
    sections: dict[str, Any] = {}
    keys: set[str] = set()
    for name in [service, *names]:
        if name in contract.services:
            sections[f"services.{name}"] = contract.services[name].model_dump(mode="json")
        else:
            dependency = contract.dependencies[name]
            sections[f"dependencies.{name}"] = dependency.model_dump(mode="json")
            keys.add(dependency.image)
    context = contract.context_dir(service)
    doc = {
        "sections": sections,
        "images": {k: contract.images.get(k) for k in sorted(keys)},
        "context": {name: _file_digest(context / name)
                    for name in (spec.dockerfile, ".dockerignore")},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


async def image_digests(contract: Contract, images: Mapping[str, dagger.Container],
                        service: str) -> dict[str, str]:
    """The digest of the service's image and of each image it depends on, by name."""
    digests = {service: await images[service].as_tarball().digest()}
    for name in _closure(contract, service):
        if name in contract.services:
            digests[name] = await images[name].as_tarball().digest()
        else:
            reference = contract.images.get(contract.dependencies[name].image, "")
            # Resolved right after `from`: the reference pinned to the digest it names now.
            digests[name] = await dag.container().from_(reference).image_ref()
    return digests


@dataclass(frozen=True)
class Stored:
    findings: list[Finding]
    image: str              # the digest the findings were measured on
    measured: float         # when (Unix time)


def _finding(doc: Mapping[str, Any]) -> Finding:
    return Finding(
        rule_id=str(doc["rule"]), message=str(doc["message"]),
        evidence=tuple(Evidence(**{k: doc_e[k] for k in ("layer", "path", "history", "detail")
                                   if k in doc_e}) for doc_e in doc.get("evidence", ())),
        severity=Severity.parse(str(doc["severity"])),
        remediation=doc.get("remediation"), subject=doc.get("subject"),
        inherited_from=doc.get("inherited_from"))


async def load(store: ResultStore, key: str) -> Stored | None:
    text = await store.read(key)
    if text is None:
        return None
    try:
        doc = json.loads(text)
        if doc.get("format") != _FORMAT or doc.get("key") != key:
            return None
        return Stored([_finding(f) for f in doc["findings"]], str(doc["image"]),
                      float(doc["measured"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


async def save(store: ResultStore, key: str, image: str, findings: Iterable[Finding]) -> None:
    """Store (a store that cannot be written is skipped)."""
    doc = {"format": _FORMAT, "key": key, "image": image, "measured": time.time(),
           "findings": [f.as_dict() for f in findings]}
    await store.write(key, json.dumps(doc))


@dataclass(frozen=True)
class Result:
    findings: list[Finding]
    reused: Stored | None   # what was reused, None when measured now

    def describe(self) -> str:
        """The note for the lane line and reports ("" when measured now)."""
        if self.reused is None:
            return ""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.reused.measured))
        return (f"reused: image {self.reused.image[:19]} and its inputs unchanged since "
                f"{when} (--fresh measures again)")


async def findings_for(contract: Contract, images: Mapping[str, dagger.Container],
                       service: str, measure: Callable[[], Awaitable[list[Finding]]], *,
                       fresh: bool | None = None, store: ResultStore | None = None) -> Result:
    """The lane's findings: stored ones when every input is unchanged, else `measure()`d."""
    try:
        digests = await image_digests(contract, images, service)
    except (KeyError, dagger.DaggerError):
        # An input without a digest here (an image this lane was not handed, a reference
        # that does not resolve): measure, keep nothing; the probes report what is wrong.
        return Result(await measure(), None)
    key = hashlib.sha256(json.dumps({
        "digests": digests, "fields": contract_fields(contract, service),
        "code": code_fingerprint()}, sort_keys=True).encode()).hexdigest()
    store = store or local_store()
    if not (fresh_requested() if fresh is None else fresh):
        stored = await load(store, key)
        if stored is not None:
            return Result(stored.findings, stored)
    findings = await measure()
    # Only a passing result is kept (as `go test` caches only passes): a failure, perhaps
    # a probe timed out on a loaded machine, is measured again on the next run.
    if Verdict.of(findings).passed:
        await save(store, key, digests[service], findings)
    return Result(findings, None)
