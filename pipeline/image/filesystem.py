"""Layer-by-layer filesystem with OCI whiteouts applied.

OCI image-spec §layer "Whiteouts": `.wh.NAME` deletes NAME (and everything
under it) from LOWER layers; `.wh..wh..opq` in a directory deletes all of that
directory's lower-layer children. Whiteouts never affect entries of their own
layer, so each layer's deletions are applied before its additions.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from pipeline.image.model import FileEntry, Kind

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


def normalise(name: str) -> str:
    """Tar member name -> image path without leading "/" or "./" and without trailing "/"."""
    path = posixpath.normpath("/" + name).lstrip("/")
    return "" if path == "." else path


class Filesystem:
    """The union of the layers applied so far."""

    def __init__(self) -> None:
        self._entries: dict[str, FileEntry] = {}

    def apply(self, deletions: list[str], opaque_dirs: list[str],
              additions: list[FileEntry]) -> list[str]:
        """Apply one layer; returns the paths it removed from lower layers."""
        removed: list[str] = []
        for directory in opaque_dirs:
            removed.extend(self._remove_children(directory))
        for path in deletions:
            old = self._entries.pop(path, None)
            if old is not None:
                removed.append(path)
            # Only a directory (or a path whose directory entry was never written) can
            # have children: skip the scan for files, the common case (`rm` of files).
            if old is None or old.kind is Kind.DIR:
                removed.extend(self._remove_children(path))
        for entry in additions:
            old = self._entries.get(entry.path)
            # A non-directory replacing a directory hides everything below it.
            if old is not None and old.kind is Kind.DIR and entry.kind is not Kind.DIR:
                removed.extend(self._remove_children(entry.path))
            self._entries[entry.path] = entry
        return removed

    def _remove_children(self, directory: str) -> list[str]:
        prefix = f"{directory}/" if directory else ""
        doomed = [p for p in self._entries if p.startswith(prefix) and p != directory]
        for path in doomed:
            del self._entries[path]
        return doomed

    def get(self, path: str) -> FileEntry | None:
        return self._entries.get(path)

    def resolve(self, path: str, *, depth: int = 0) -> FileEntry | None:
        """The entry at `path`, following symlinks (in the final path and its parents)."""
        if depth > 32:
            return None
        parts = normalise(path).split("/") if normalise(path) else []
        current = ""
        for i, part in enumerate(parts):
            current = f"{current}/{part}" if current else part
            entry = self._entries.get(current)
            if entry is None:
                return None
            if entry.kind is Kind.SYMLINK:
                base = posixpath.dirname(current)
                target = entry.linkname if entry.linkname.startswith("/") else \
                    posixpath.join("/", base, entry.linkname)
                rest = "/".join(parts[i + 1:])
                return self.resolve(posixpath.join(target, rest) if rest else target,
                                    depth=depth + 1)
        return self._entries.get(current) if current else None

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
