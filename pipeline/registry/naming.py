"""Where publish pushes and which tags it sets (seed 002, "Image Naming Convention").

- repository: ``<prefix>/<service>``, or ``<prefix>/<project>-<service>`` with
  ``[release] project = "taskflow"`` (``taskflow-backend``);
- tags: the semver given (or derived from a git tag ``v1.2.3`` on HEAD), plus
  ``<version>-<branch>`` for a branch build; without a version, the run id. The
  digest is what every later step uses; tags are for people;
- ``latest`` only for a local registry (127.0.0.1, localhost, [::1]): seed 002 says
  "only for local dev, NEVER in production".
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pipeline.errors import PipelineError

# semver.org's regex, without build metadata (`+` is not allowed in a tag).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)
_LOCAL = ("127.", "localhost", "[::1]")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def is_local_registry(host: str) -> bool:
    return host.startswith(_LOCAL)


def image_repository(prefix: str, service: str, project: str | None) -> str:
    return f"{prefix.rstrip('/')}/{project}-{service}" if project else f"{prefix.rstrip('/')}/{service}"


def branch_suffix(branch: str) -> str:
    """A branch name as a tag part: ``feature/k8s`` -> ``feature-k8s``."""
    return _TAG_UNSAFE.sub("-", branch).strip("-.")[:60]


def publish_tags(registry_host: str, *, version: str = "", branch: str = "",
                 run_id: str = "") -> list[str]:
    """The tags to set on every image of a publish, first one first; one-line errors."""
    if version == "latest":
        if not is_local_registry(registry_host):
            raise PipelineError(
                f"--version latest: 'latest' is for local use only, not registry {registry_host}")
        return ["latest"]
    if version:
        if not SEMVER.match(version):
            raise PipelineError(f"--version {version!r}: not a semantic version (MAJOR.MINOR.PATCH)")
        tags = [version]
        suffix = branch_suffix(branch) if branch else ""
        if suffix:
            tags.append(f"{version}-{suffix}"[:128])
        return tags
    return [run_id] if run_id else []  # no version: nothing for a branch tag to extend


def version_from_git(source: Path) -> str:
    """The semver of a ``v1.2.3`` (or ``1.2.3``) tag on HEAD; "" when there is none."""
    try:
        out = subprocess.run(["git", "-C", str(source), "tag", "--points-at", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    versions = [t.removeprefix("v") for t in out.stdout.split() if SEMVER.match(t.removeprefix("v"))]
    return sorted(versions, key=_semver_key)[-1] if versions else ""


def _semver_key(version: str) -> tuple:
    match = SEMVER.match(version)
    assert match
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), pre is None, pre or "")
