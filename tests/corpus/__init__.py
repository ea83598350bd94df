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


# Every finding on the corpus, reviewed: (image, rule id, inherited?) -> verdict and why.
# "TP" a true positive against the minimal contract; "FP" would be a false positive (each
# one found was fixed and pinned by a unit test: tests/unit/test_corpus_false_positives.py,
# test_multicall_inherited.py).
REVIEW: dict[tuple[str, str, bool], str] = {
    ("busybox", "multicall.binary", False):
        "TP (low): one busybox binary and its applets, dpkg and rpm among them, not counted as tools",
    ("debian-busybox", "multicall.binary", False):
        "TP (low): Debian's busybox-static with `--install -s` symlinks; its dpkg/rpm applets not counted",
    ("debian-busybox", "forbidden.package-managers", True):
        "TP, inherited: Debian's real apt and dpkg, from the base",
    ("debian-busybox", "fs.setuid", True): "TP, inherited: the base's 11 setuid/setgid files, one finding",
    ("flask-app", "forbidden.package-managers", True):
        "TP, inherited: apt/dpkg (debian) and pip (python base); not the app's doing",
    ("flask-app", "fs.setuid", True): "TP, inherited: the base's setuid files",
    ("express-app", "dockerignore.not-excluded", False):
        "TP: the guide's .dockerignore lists node_modules and npm-debug.log, not .git or .env",
    ("express-app", "forbidden.linters", True):
        "TP, inherited: Debian's npm package depends on eslint, so the node base ships it",
    ("express-app", "forbidden.package-managers", True): "TP, inherited: npm/npx and apt/dpkg from the base",
    ("express-app", "fs.setuid", True): "TP, inherited: the base's setuid files",
    ("nginx-site", "user.root", False): "TP: the official nginx image runs as root unless USER is set",
    ("nginx-site", "dockerignore.missing", False): "TP: the context has no .dockerignore",
    ("nginx-site", "forbidden.package-managers", True): "TP, inherited: apt/dpkg from the base",
    ("nginx-site", "fs.setuid", True): "TP, inherited: the base's setuid files",
    ("debian", "user.root", False): "TP: a base image runs as root",
    ("debian", "port.not-exposed", False): "TP against a service contract: a base image exposes nothing",
    ("debian", "forbidden.package-managers", False): "TP: apt and dpkg (the image is the base itself)",
    ("debian", "fs.setuid", False): "TP: su, passwd, mount... (one finding each: no base to attribute to)",
    ("python", "user.root", False): "TP: runs as root",
    ("python", "port.not-exposed", False): "TP against a service contract",
    ("python", "forbidden.package-managers", False): "TP: pip, added by the python image's own layer",
    ("python", "forbidden.package-managers", True): "TP, inherited: apt/dpkg from debian",
    ("python", "fs.setuid", True): "TP, inherited from debian",
    ("node", "user.root", False): "TP: runs as root",
    ("node", "port.not-exposed", False): "TP against a service contract",
    ("node", "forbidden.package-managers", False): "TP: npm/npx, the node image's own layer",
    ("node", "forbidden.package-managers", True): "TP, inherited: apt/dpkg from debian",
    ("node", "forbidden.linters", False): "TP: Debian's npm pulls in eslint",
    ("node", "fs.setuid", True): "TP, inherited from debian",
    ("nginx", "user.root", False): "TP: the master process runs as root",
    ("nginx", "forbidden.package-managers", True): "TP, inherited: apt/dpkg from debian",
    ("nginx", "fs.setuid", True): "TP, inherited from debian",
    ("postgres", "user.root", False): "TP: the entrypoint starts as root and drops to postgres",
    ("postgres", "secret.private-key", False):
        "TP: ssl-cert's snakeoil key, generated at install, ships to everyone who pulls the image "
        "(allowlist it with a reason if SSL never uses it)",
    ("postgres", "forbidden.package-managers", True): "TP, inherited: apt/dpkg from debian",
    ("postgres", "fs.setuid", True): "TP, inherited from debian",
}


def table(checked: list[Checked]) -> str:
    """The markdown table docs/contract.md records."""
    from collections import Counter

    lines = ["| image | base (attribution) | finding | severity | count | review |",
             "| --- | --- | --- | --- | --- | --- |"]
    for item in checked:
        counts = Counter(summary(item.findings))
        if not counts:
            lines.append(f"| `{item.image}` | {item.base or '-'} | none | | | |")
        for (rule_id, severity, inherited), count in sorted(counts.items()):
            review = REVIEW.get((item.name, rule_id, inherited), "NOT REVIEWED")
            label = f"`{rule_id}`" + (" (inherited)" if inherited else "")
            base = item.base.rsplit("/", 1)[-1] if item.base else "-"
            lines.append(f"| `{item.image.replace('127.0.0.1:5000/', '')}` | {base} | {label} | "
                         f"{severity} | {count} | {review} |")
    return "\n".join(lines) + "\n"
