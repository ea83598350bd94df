"""The final stage's base image, as its registry describes it: layer diff_ids and history.

`base_for_service` names the base from the Dockerfile's final FROM (build args
expanded) and asks the base's registry for its config. Attribution is a
refinement: any failure (a name without a registry host, a registry that does not
answer, a manifest without our platform) gives None, never an error, and the
findings keep their plain form.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from pipeline.contract.models import Contract
from pipeline.errors import RegistryError
from pipeline.registry.client import RegistryClient, RetryPolicy
from pipeline.registry.reference import parse_reference
from pipeline.rules.dockerfile import MAX_DOCKERFILE, final_base
from pipeline.rules.inherited import BaseImageLayers

# Attribution must not hold up a lane: few tries, short waits.
_TIMEOUT = 10.0
_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


def _platform_child(index: dict[str, Any], os: str, architecture: str) -> str | None:
    for child in index.get("manifests") or ():
        platform = child.get("platform") or {}
        if platform.get("os", os) == os and platform.get("architecture", architecture) == architecture:
            return child.get("digest")
    return None


def fetch_base_layers(reference: str, *, os: str = "linux", architecture: str = "amd64",
                      timeout: float = _TIMEOUT) -> BaseImageLayers | None:
    """The base's diff_ids and history length from its registry; None when unknown."""
    try:
        ref = parse_reference(reference)
    except RegistryError:
        return None                   # no explicit registry host (e.g. Docker Hub's python:3.11)
    try:
        with RegistryClient.for_reference(ref, timeout=timeout, retry=_RETRY) as client:
            manifest = client.get_manifest(ref.repository, ref.digest or ref.tag or "latest")
            if manifest is not None and manifest.is_index:
                child = _platform_child(manifest.json(), os, architecture)
                manifest = client.get_manifest(ref.repository, child) if child else None
            if manifest is None:
                return None
            config_digest = manifest.json()["config"]["digest"]
            blob = client.get_blob(ref.repository, config_digest)
            if blob is None:
                return None
            config = json.loads(blob)
            diff_ids = tuple(str(d) for d in config["rootfs"]["diff_ids"])
            history = len(config.get("history") or ())
    except (RegistryError, httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return BaseImageLayers(reference, diff_ids, history, manifest.digest)


def base_reference(contract: Contract, service: str) -> str | None:
    """The final (or target) stage's FROM, build args expanded; None for scratch or unknown."""
    spec = contract.services[service]
    path = contract.context_dir(service) / spec.dockerfile
    try:
        if Path(path).stat().st_size > MAX_DOCKERFILE:
            return None
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    ref = final_base(text, target=spec.target, build_args=spec.build_args)
    return None if ref is None or ref == "scratch" else ref


def base_for_service(contract: Contract, service: str) -> BaseImageLayers | None:
    reference = base_reference(contract, service)
    return fetch_base_layers(reference) if reference else None
