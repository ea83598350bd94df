"""What an image is made of, as plain values: config, history, layers, filesystem entries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Kind(enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"          # devices, fifos


class FileEntry(NamedTuple):
    """One path in the image's final filesystem (or in one layer).

    A named tuple, not a frozen dataclass: a reader makes one for every path of every
    layer, and a tuple is made in a third of the time (no `object.__setattr__` a field).
    """

    path: str                # normalised: no leading "/" or "./", no trailing "/"
    kind: Kind
    mode: int                # permission bits including setuid/setgid/sticky
    size: int
    uid: int
    gid: int
    layer: int               # index of the layer that supplied this entry
    linkname: str = ""

    @property
    def is_setuid(self) -> bool:
        return self.kind in (Kind.FILE, Kind.HARDLINK) and bool(self.mode & 0o6000)


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer as shipped: its position, identity and sizes."""

    index: int
    digest: str              # the diff_id when the config has one, else the blob digest/name
    blob_size: int           # bytes in the tarball (compressed if the blob is)
    media_type: str = ""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    created_by: str = ""
    empty_layer: bool = False
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The runtime-relevant parts of an OCI/Docker image config."""

    user: str = ""
    env: tuple[tuple[str, str], ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str = ""
    exposed_ports: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)
    history: tuple[HistoryEntry, ...] = ()
    diff_ids: tuple[str, ...] = ()
    os: str = ""
    architecture: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageConfig:
        """Parse a config blob; raises ValueError/TypeError on a malformed one."""
        if not isinstance(data, dict):
            raise TypeError("config is not a JSON object")
        conf = data.get("config") or {}
        env = []
        for item in conf.get("Env") or ():
            name, _, value = str(item).partition("=")
            env.append((name, value))
        history = tuple(
            HistoryEntry(str(h.get("created_by", "")), bool(h.get("empty_layer", False)),
                         str(h.get("comment", "")))
            for h in data.get("history") or ()
        )
        entrypoint, cmd = conf.get("Entrypoint"), conf.get("Cmd")
        return cls(
            user=str(conf.get("User") or ""),
            env=tuple(env),
            entrypoint=tuple(map(str, entrypoint)) if entrypoint is not None else None,
            cmd=tuple(map(str, cmd)) if cmd is not None else None,
            workdir=str(conf.get("WorkingDir") or ""),
            exposed_ports=frozenset(conf.get("ExposedPorts") or {}),
            labels={str(k): str(v) for k, v in (conf.get("Labels") or {}).items()},
            history=history,
            diff_ids=tuple((data.get("rootfs") or {}).get("diff_ids") or ()),
            os=str(data.get("os", "")),
            architecture=str(data.get("architecture", "")),
        )
