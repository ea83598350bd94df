"""Deployment inputs for a stage, pinned to digests: a compose file and Kubernetes manifests.

The files refuse tags: every image must be ``repo@sha256:...`` (a tag could
move between review and deploy). Images usually come from what the stage holds
(pipeline.registry.stages.resolve_stage, or the release a release stage holds), so
the files say exactly that.
Everything is validated before the first file is written, and the set is
swapped in whole (pipeline.atomic.replace_directory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.atomic import replace_directory
from pipeline.errors import PipelineError
from pipeline.registry.reference import require_digest
from pipeline.registry.stages import stage_tag

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_OURS = frozenset({"compose.yaml", "k8s"})


@dataclass(frozen=True, slots=True)
class ServiceImage:
    """One service to deploy: its name, digest-pinned image and (optional) port."""

    name: str
    image: str
    port: int | None = None


def write_deploy_files(out_dir: Path, stage: str, services: Sequence[ServiceImage], *,
                       release: str | None = None) -> list[Path]:
    """Write ``compose.yaml`` and ``k8s/<service>.yaml`` under ``out_dir``; returns the paths.
    ``release``: the release id the files come from, recorded in each file."""
    stage_tag(stage)  # validates the stage name
    if not services:
        raise PipelineError("render: no services given")
    for service in services:
        if not service.name or not set(service.name) <= _NAME_OK:
            raise PipelineError(f"service {service.name!r}: expected lowercase a-z, 0-9, '-'")
        require_digest(service.image)  # raises InvalidReference naming the tag
        if service.port is not None and not 0 < service.port < 65536:
            raise PipelineError(f"service {service.name}: port {service.port} out of range")
    files = {Path("compose.yaml"): [_compose(stage, services, release)]}
    for service in services:
        files[Path("k8s") / f"{service.name}.yaml"] = _kubernetes(stage, service, release)
    texts = {relative: yaml.safe_dump_all(documents, sort_keys=False)
             for relative, documents in files.items()}

    def build(staging: Path) -> None:
        (staging / "k8s").mkdir()
        for relative, text in texts.items():
            (staging / relative).write_text(text, encoding="utf-8")

    # The whole set or none of it: compose.yaml and k8s/ are replaced together (a
    # service no longer rendered loses its manifest); other files in out_dir stay.
    try:
        replace_directory(out_dir, build, keep=lambda name: name not in _OURS)
    except OSError as exc:
        raise PipelineError(f"{out_dir}: cannot write ({exc.strerror or exc})") from None
    return [out_dir / relative for relative in texts]


def _compose(stage: str, services: Sequence[ServiceImage], release: str | None) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    labels = {"dev.pipeline.stage": stage, **({"dev.pipeline.release": release} if release else {})}
    for service in services:
        entry: dict[str, Any] = {"image": service.image, "restart": "unless-stopped",
                                 "labels": dict(labels)}
        if service.port:
            entry["ports"] = [f"{service.port}:{service.port}"]
        entries[service.name] = entry
    return {"name": f"pipeline-{stage}", "services": entries}


def _kubernetes(stage: str, service: ServiceImage, release: str | None) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": service.name, "dev.pipeline/stage": stage}
    container: dict[str, Any] = {
        "name": service.name, "image": service.image, "imagePullPolicy": "IfNotPresent",
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    }
    if service.port:
        container["ports"] = [{"containerPort": service.port, "name": "http"}]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": service.name, "namespace": stage, "labels": labels,
                     **({"annotations": {"dev.pipeline/release": release}} if release else {})},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    if not service.port:
        return [deployment]
    svc = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": service.name, "namespace": stage, "labels": labels},
        "spec": {"selector": labels,
                 "ports": [{"port": service.port, "targetPort": "http", "name": "http"}]},
    }
    return [deployment, svc]
