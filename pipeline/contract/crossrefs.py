"""Cross-references between a contract's parts: image keys, dependency and service names.

Attribute access only, so the pydantic models (`Contract.references()`) and the
plain reading (pipeline.contract.plain) check the same way.
"""

from __future__ import annotations

from typing import Any

Loc = tuple[str | int, ...]


def broken_references(contract: Any) -> list[tuple[Loc, str]]:
    """Broken cross-references as (field location, message); empty when all resolve."""
    broken: list[tuple[Loc, str]] = []

    def need(kind: str, names: dict[str, Any], name: str, loc: Loc) -> None:
        if name not in names:
            known = ", ".join(names) or "none defined"
            broken.append((loc, f"unknown {kind} {name!r} (known: {known})"))

    backing_or_service = {**contract.dependencies, **contract.services}  # once: not per entry
    for sname, svc in contract.services.items():
        if svc.checks is not None:
            need("image key", contract.images, svc.checks.image,
                 ("services", sname, "checks", "image"))
        # A service may depend on a dependency (postgres) or on another
        # service (the frontend on the backend).
        for i, dep in enumerate(svc.runtime.depends_on):
            need("dependency or service", backing_or_service, dep,
                 ("services", sname, "runtime", "depends_on", i))
            if dep == sname:
                broken.append((("services", sname, "runtime", "depends_on", i),
                               f"service {sname!r} cannot depend on itself"))
    started = {**contract.dependencies, **contract.services}
    for sname, svc in contract.services.items():
        for i, dep in enumerate(svc.checks.depends_on if svc.checks else ()):
            need("dependency or service", started, dep,
                 ("services", sname, "checks", "depends_on", i))
    for dname, backing in contract.dependencies.items():
        if backing.image is not None:
            need("image key", contract.images, backing.image, ("dependencies", dname, "image"))
    for lane in ("integration", "e2e"):
        runner = getattr(contract, lane)
        if runner is None:
            continue
        need("image key", contract.images, runner.image, (lane, "image"))
        for i, svc_name in enumerate(runner.services):
            need("service or dependency", started, svc_name, (lane, "services", i))
    return broken
