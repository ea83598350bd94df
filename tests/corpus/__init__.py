"""The precision corpus: build (or pull) each image on the real engine, check it, tabulate.

`python -m tests.corpus` prints the findings table that docs/contract.md records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.contract import Contract, load_contract
from pipeline.findings import Finding
from pipeline.registry.baseimage import base_for_service, fetch_base_layers
from pipeline.rules import check_image
from pipeline.rules.inherited import BaseImageLayers
from tests.conftest import local_image

CORPUS = Path(__file__).resolve().parent
# The engine's base images: each built FROM debian:bookworm by scripts/engine.
BASES = {"debian": "debian:bookworm", "python": "python:3.11", "node": "node:18",
         "nginx": "nginx:1.22", "postgres": "postgres:15"}
BUILT = ("busybox", "debian-busybox", "flask-app", "express-app", "nginx-site")


def contract() -> Contract:
    return load_contract(CORPUS / "pipeline.toml")


@dataclass(frozen=True)
class Checked:
    name: str
    image: str                  # what was checked, as a reader would name it
    base: str | None            # the base whose layers findings are attributed to
    findings: tuple[Finding, ...]


async def export(name: str, tarball: Path) -> str:
    """Build (or pull) corpus image `name` on the engine into `tarball`; its description."""
    import dagger
    from dagger import dag

    spec = contract().services.get(name)
    if name in BASES:
        ref = local_image(BASES[name])
        await dag.container().from_(ref).as_tarball().export(str(tarball))
        return ref
    assert spec is not None
    image = dag.host().directory(str(CORPUS / spec.context)).docker_build(
        dockerfile=spec.dockerfile,
        build_args=[dagger.BuildArg(name=k, value=v) for k, v in spec.build_args.items()])
    await image.as_tarball().export(str(tarball))
    return f"tests/corpus/{spec.context}"


def base_of(name: str) -> BaseImageLayers | None:
    if name in BASES:
        return None if name == "debian" else fetch_base_layers(local_image(BASES["debian"]))
    return base_for_service(contract(), name)


def check(name: str, tarball: Path, image: str) -> Checked:
    loaded = contract()
    base = base_of(name)
    context = None if name in BASES else loaded.context_dir(name)
    found = check_image(tarball, loaded, name, context_dir=context, base=base)
    return Checked(name, image, base.reference if base else None, tuple(found))


def summary(found: tuple[Finding, ...]) -> list[tuple[str, str, bool]]:
    """(rule id, severity, inherited?) per finding, sorted: what the corpus test pins."""
    return sorted((f.rule_id, f.level.label, f.inherited_from is not None) for f in found)
