"""Multi-call binaries (busybox, toybox): one executable, many applet names.

`/bin/dpkg -> busybox` is busybox's small dpkg applet, not Debian's package
manager, so an applet is not a separate tool. Applets are the names that reach
the binary: symlinks resolving to it (Alpine, `busybox --install -s`), hard
links to it (the official busybox image), and the binary's own other names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.image.model import FileEntry, Kind
from pipeline.image.view import ImageView

_NAME = re.compile(r"^(busybox|toybox)(?:[._-][\w.-]*)?$")
_BIN_DIR = re.compile(r"(?:^|/)s?bin/[^/]+$")


@dataclass(slots=True)
class MultiCall:
    path: str                     # the binary, as named (bin/busybox)
    kind: str                     # busybox or toybox
    layer: int                    # the layer that supplied it
    applets: dict[str, str] = field(default_factory=dict)    # image path -> applet name

    @property
    def names(self) -> list[str]:
        return sorted(set(self.applets.values()))


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def find(image: ImageView, entries: list[FileEntry] | None = None) -> list[MultiCall]:
    """Every multi-call binary in the final filesystem, with the applet names that reach it."""
    entries = list(image.list()) if entries is None else entries
    hardlinks: dict[str, list[FileEntry]] = {}
    for entry in entries:
        if entry.kind is Kind.HARDLINK:
            hardlinks.setdefault(entry.linkname, []).append(entry)
    # One group per file: the file and every hard link to it are the same binary.
    groups: dict[str, MultiCall] = {}
    by_path: dict[str, FileEntry] | None = None
    for entry in entries:
        # "box" first: one substring test a path, the regex only where it can match.
        found = _NAME.match(_base(entry.path)) if "box" in entry.path else None
        if not found or entry.kind not in (Kind.FILE, Kind.HARDLINK):
            continue
        target = entry.path if entry.kind is Kind.FILE else entry.linkname
        if by_path is None:
            by_path = {entry.path: entry for entry in entries}
        file = by_path.get(target)
        # An executable, not dpkg's busybox-static.list or an initramfs hook script.
        if file is None or not file.mode & 0o111:
            continue
        if target not in groups:
            groups[target] = MultiCall(entry.path, found.group(1), entry.layer)
    if not groups:
        return []
    member: dict[str, MultiCall] = {}
    for target, call in groups.items():
        for path in [target, *(h.path for h in hardlinks.get(target, ()))]:
            member[path] = call
            if not _NAME.match(_base(path)):
                call.applets[path] = _base(path)
    wanted = {_base(p) for p in member} | {"busybox", "toybox"}
    for entry in entries:
        if entry.kind is not Kind.SYMLINK or _base(entry.linkname.rstrip("/")) not in wanted:
            continue
        resolved = image.stat(entry.path)
        call = member.get(resolved.path) if resolved is not None else None
        if call is not None and not _NAME.match(_base(entry.path)):
            call.applets[entry.path] = _base(entry.path)
    # Outside a bin directory, only a binary that applets reach is one (not a data file
    # or a package's copy left in /usr/share).
    return sorted((c for c in groups.values() if c.applets or _BIN_DIR.search(c.path)),
                  key=lambda c: c.path)
