"""Rules over the image config: size, user, port, entrypoint/cmd, workdir, labels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipeline.contract.sizes import format_size
from pipeline.findings import Evidence, Finding

if TYPE_CHECKING:
    from pipeline.rules.subject import Subject


def check_size(subject: Subject) -> Iterator[Finding]:
    size, limit = subject.image.content_size, subject.service.max_size
    if size > limit:
        yield Finding("size.exceeded",
                      f"image content is {format_size(size)}, max_size is {format_size(limit)}",
                      (Evidence(detail=f"{size} bytes over {len(subject.image.layers)} layers"),),
                      subject=subject.name)


def _passwd(subject: Subject) -> dict[str, int]:
    data = subject.image.read("etc/passwd") or b""
    users: dict[str, int] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            users.setdefault(fields[0], int(fields[2]))
    return users


def check_user(subject: Subject) -> Iterator[Finding]:
    spec = subject.service.user
    raw = subject.image.config.user
    user = raw.split(":", 1)[0]
    if user in ("", "root", "0"):
        shown = f"USER {raw}" if raw else "no USER instruction"
        yield Finding("user.root", f"the image runs as root ({shown})",
                      (Evidence(detail=shown),), subject=subject.name)
        return
    if user.isdigit():
        uid, name = int(user), None
    else:
        name = user
        found = _passwd(subject).get(user)
        if found is None:
            yield Finding("user.unknown", f"USER {user} is not an account in /etc/passwd",
                          (Evidence(path="etc/passwd", detail=f"USER {raw}"),),
                          subject=subject.name)
            return
        uid = found
    if uid == 0:
        yield Finding("user.root", f"USER {raw} resolves to UID 0 (root)",
                      (Evidence(path="etc/passwd", detail=f"USER {raw}"),), subject=subject.name)
        return
    problems = []
    if uid < spec.uid_min:
        problems.append(f"UID {uid} is below uid_min {spec.uid_min}")
    if spec.uid is not None and uid != spec.uid:
        problems.append(f"UID {uid}, contract requires {spec.uid}")
    if spec.name is not None and name is not None and name != spec.name:
        problems.append(f"user {name}, contract requires {spec.name}")
    if spec.name is not None and name is None and _passwd(subject).get(spec.name) != uid:
        problems.append(f"UID {uid} is not the contract's user {spec.name}")
    if problems:
        yield Finding("user.mismatch", "; ".join(problems), (Evidence(detail=f"USER {raw}"),),
                      subject=subject.name)


def check_port(subject: Subject) -> Iterator[Finding]:
    port = subject.service.port
    exposed = subject.image.config.exposed_ports
    wanted = {f"{port}/tcp", str(port)}
    if not exposed & wanted:
        shown = ", ".join(sorted(exposed)) or "none"
        yield Finding("port.not-exposed", f"port {port}/tcp is not exposed (exposed: {shown})",
                      (Evidence(detail=f"ExposedPorts: {shown}"),), subject=subject.name)
    extra = sorted(exposed - wanted)
    if extra:
        yield Finding("port.extra", f"image also exposes {', '.join(extra)}",
                      (Evidence(detail=f"ExposedPorts: {', '.join(sorted(exposed))}"),),
                      subject=subject.name)


def check_command(subject: Subject) -> Iterator[Finding]:
    config, service = subject.image.config, subject.service
    for rule_id, field, want, have in (
        ("entrypoint.mismatch", "ENTRYPOINT", service.entrypoint, config.entrypoint),
        ("cmd.mismatch", "CMD", service.cmd, config.cmd),
    ):
        if want is not None and list(have or ()) != list(want):
            yield Finding(rule_id, f"{field} is {list(have or [])}, contract requires {want}",
                          (Evidence(detail=f"{field} {list(have or [])}"),),
                          subject=subject.name)


def check_workdir(subject: Subject) -> Iterator[Finding]:
    want, have = subject.service.workdir, subject.image.config.workdir
    if want is not None and have.rstrip("/") != want.rstrip("/"):
        yield Finding("workdir.mismatch",
                      f"WORKDIR is {have or '(unset)'}, contract requires {want}",
                      (Evidence(detail=f"WorkingDir {have!r}"),), subject=subject.name)


def check_labels(subject: Subject) -> Iterator[Finding]:
    labels = subject.image.config.labels
    for key in subject.service.labels:
        if not labels.get(key):
            yield Finding("labels.missing", f"required label {key} is missing or empty",
                          (Evidence(detail=key),), subject=subject.name)
