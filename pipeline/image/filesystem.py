"""Layer-by-layer filesystem with OCI whiteouts applied.

OCI image-spec §layer "Whiteouts": `.wh.NAME` deletes NAME (and everything
under it) from LOWER layers; `.wh..wh..opq` in a directory deletes all of that
directory's lower-layer children. Whiteouts never affect entries of their own
layer: the reader applies a layer's whiteouts as it meets them (the filesystem
then holds only lower layers) and its additions at the layer's end.

Every path is linked into a tree (directory -> the paths directly below it,
implicit parents included), so a whiteout costs the size of what it removes:
a whiteout of an absent path is one lookup, not a scan of every file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator

from pipeline.image.model import FileEntry, Kind

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
# Paths held (entries plus implicit parent directories). Large real images hold a few
# hundred thousand files; the cap keeps memory bounded for a crafted one.
MAX_NODES = 1_000_000
# Text of those paths together: a deep path brings every parent along, so a few long
# paths with many components would otherwise cost their length squared.
MAX_PATH_BYTES = 40 * 1024 * 1024
# Linux's PATH_MAX: no longer path can exist in a running container.
MAX_PATH = 4096


class FilesystemLimitError(ValueError):
    """The image holds more paths than the reader keeps."""


def normalise(name: str) -> str:
    """Tar member name -> image path without leading "/" or "./" and without trailing "/"."""
    path = posixpath.normpath("/" + name).lstrip("/")
    return "" if path == "." else path


class Filesystem:
    """The union of the layers applied so far."""

    def __init__(self, max_nodes: int = MAX_NODES) -> None:
        self._entries: dict[str, FileEntry] = {}
        self._children: dict[str, set[str]] = {}   # directory -> paths directly below it
        self._nodes = 0                            # paths linked into the tree
        self._bytes = 0                            # and their length together
        self._max_nodes = max_nodes

    @property
    def nodes(self) -> int:
        return self._nodes

    @property
    def path_bytes(self) -> int:
        return self._bytes

    def _link(self, path: str) -> None:
        if len(path) > MAX_PATH:
            raise FilesystemLimitError(f"a path of {len(path)} characters (longer than "
                                       f"PATH_MAX, {MAX_PATH})")
        while path:
            parent = path.rpartition("/")[0]
            kids = self._children.get(parent)
            if kids is not None and path in kids:
                return
            if kids is None:
                self._children[parent] = {path}
            else:
                kids.add(path)
            self._nodes += 1
            self._bytes += len(path)
            if self._nodes > self._max_nodes:
                raise FilesystemLimitError(f"more than {self._max_nodes} paths")
            if self._bytes > MAX_PATH_BYTES:
                raise FilesystemLimitError(f"more than {MAX_PATH_BYTES >> 20} MiB of path names")
            if kids is not None:
                # A directory with children is linked itself (linking a path links its
                # parents; removing one drops its children first): stop here.
                return
            path = parent

    def _unlink(self, path: str) -> None:
        kids = self._children.get(path.rpartition("/")[0])
        if kids is not None and path in kids:
            kids.discard(path)
            self._nodes -= 1
            self._bytes -= len(path)

    def whiteout(self, path: str) -> list[str]:
        """Delete `path` and everything under it; returns the entry paths removed."""
        removed = self._remove_children(path)
        if self._entries.pop(path, None) is not None:
            removed.append(path)
        self._unlink(path)
        return removed

    def opaque(self, directory: str) -> list[str]:
        """Delete everything under `directory` (it stays); returns the entry paths removed."""
        return self._remove_children(directory)

    def add(self, entry: FileEntry) -> list[str]:
        """Add or replace an entry; returns the entry paths it hid (a directory replaced)."""
        path = entry.path
        old = self._entries.get(path)
        removed: list[str] = []
        if old is None:
            self._link(path)
        elif old.kind is Kind.DIR and entry.kind is not Kind.DIR:
            # A non-directory replacing a directory hides everything below it.
            removed = self._remove_children(path)
        self._entries[path] = entry
        return removed

    def apply(self, deletions: Iterable[str], opaque_dirs: Iterable[str],
              additions: Iterable[FileEntry]) -> list[str]:
        """Apply one whole layer; returns the paths it removed from lower layers."""
        removed: list[str] = []
        for directory in opaque_dirs:
            removed.extend(self.opaque(directory))
        for path in deletions:
            removed.extend(self.whiteout(path))
        for entry in additions:
            removed.extend(self.add(entry))
        return removed

    def _remove_children(self, directory: str) -> list[str]:
        kids = self._children.pop(directory, None)
        if not kids:
            return []
        removed: list[str] = []
        stack = list(kids)
        while stack:
            path = stack.pop()
            self._nodes -= 1
            self._bytes -= len(path)
            if self._entries.pop(path, None) is not None:
                removed.append(path)
            below = self._children.pop(path, None)
            if below:
                stack.extend(below)
        return removed

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
