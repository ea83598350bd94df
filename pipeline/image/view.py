"""The image-access layer rules use: config, layers, stat, list, read.

`ImageView` is a protocol, so rules do not care whether an image came from a
tarball or elsewhere. `read_tarball()` builds one in a single streaming pass:
each layer is read once, in order; regular files up to `scan_limit` bytes are
offered to `on_file` (the content scanners: they see every layer, including
files a later layer deletes, since those still ship); a few small files rules
need (passwd, package databases) are kept in memory.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast

from pipeline.errors import ImageError
from pipeline.image.archive import READ_ERRORS, Archive, LayerBlob, _why
from pipeline.image.filesystem import OPAQUE, WHITEOUT, Filesystem, normalise
from pipeline.image.model import FileEntry, ImageConfig, Kind, Layer
from pipeline.image.tarstream import TarFormatError, TarStream

OnFile = Callable[[Layer, str, bytes], None]

# Small files rules read from the final filesystem: accounts and package databases.
CAPTURED = re.compile(
    r"^(etc/(passwd|group|os-release)|usr/lib/os-release"
    r"|var/lib/dpkg/status|var/lib/dpkg/status\.d/[^/]+|lib/apk/db/installed)$"
)
_CAPTURED_ROOTS = ("etc/", "usr/lib/os-release", "var/lib/dpkg/", "lib/apk/")
CAPTURE_LIMIT = 16 * 1024 * 1024
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"

_KIND = {b"0": Kind.FILE, b"\0": Kind.FILE, b"7": Kind.FILE, b"5": Kind.DIR,
         b"2": Kind.SYMLINK, b"1": Kind.HARDLINK}


class ImageView(Protocol):
    """What rules may ask of an image."""

    @property
    def config(self) -> ImageConfig: ...
    @property
    def layers(self) -> tuple[Layer, ...]: ...
    @property
    def annotations(self) -> dict[str, str]: ...
    @property
    def content_size(self) -> int: ...
    def stat(self, path: str) -> FileEntry | None: ...
    def list(self, pattern: str | None = None) -> Iterator[FileEntry]: ...
    def read(self, path: str) -> bytes | None: ...


@dataclass
class TarballImage:
    """An image read from a tarball; implements ImageView."""

    source: Path
    config: ImageConfig
    layers: tuple[Layer, ...]
    annotations: dict[str, str]
    repo_tags: tuple[str, ...]
    content_size: int                    # bytes of file content over all layers, as shipped
    fs: Filesystem
    format: str = "docker-save"
    config_digest: str = ""
    _captured: dict[str, tuple[int, bytes]] = field(default_factory=dict, repr=False)

    def stat(self, path: str) -> FileEntry | None:
        return self.fs.resolve(path)

    def list(self, pattern: str | None = None) -> Iterator[FileEntry]:
        if pattern is None:
            yield from self.fs
            return
        regex = re.compile(fnmatch.translate(pattern))
        yield from (e for e in self.fs if regex.match(e.path))

    def read(self, path: str) -> bytes | None:
        """Content of a captured file in the final filesystem (symlinks followed)."""
        entry = self.fs.resolve(path)
        if entry is None or entry.kind is not Kind.FILE:
            return None
        held = self._captured.get(entry.path)
        if held is not None and held[0] == entry.layer:
            return held[1]
        return None


def read_tarball(path: Path, *, on_file: OnFile | None = None,
                 scan_limit: int = 1024 * 1024) -> TarballImage:
    """Read an image tarball in one streaming pass; ImageError on anything unreadable."""
    path = Path(path)
    with Archive.open(path) as archive:
        parts = archive.parts()
        try:
            config = ImageConfig.from_json(parts.config)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ImageError(f"{path}: malformed image config ({_why(exc)})") from None
        if config.diff_ids and len(config.diff_ids) != len(parts.layers):
            raise ImageError(f"{path}: config lists {len(config.diff_ids)} layers, manifest "
                             f"{len(parts.layers)}")
        layers = tuple(
            Layer(i, config.diff_ids[i] if config.diff_ids else (blob.digest or blob.member),
                  blob.size, blob.media_type)
            for i, blob in enumerate(parts.layers)
        )
        fs = Filesystem()
        captured: dict[str, tuple[int, bytes]] = {}
        content_size = 0
        for layer, blob in zip(layers, parts.layers, strict=True):
            try:
                content_size += _read_layer(archive, blob, layer, fs, captured, on_file,
                                            scan_limit)
            except ImageError:
                raise
            except READ_ERRORS + (TarFormatError, gzip.BadGzipFile) as exc:
                raise ImageError(f"{path}: layer {layer.index} ({blob.member}) is damaged or "
                                 f"truncated ({_why(exc)})") from None
    return TarballImage(path, config, layers, parts.annotations, parts.repo_tags, content_size,
                        fs, parts.format, parts.config_digest, captured)


@contextmanager
def _open_layer(archive: Archive, blob: LayerBlob) -> Iterator[TarStream]:
    """The layer as a forward-only tar stream.

    An uncompressed layer in an uncompressed tarball (docker save, most OCI
    exports) is read in place through a bounded window on the tarball file;
    compressed layers go through gzip, forward only.
    """
    span = archive.span(blob.member)
    with open(archive.path, "rb") as raw:
        if span is not None:
            start, size = span
            raw.seek(start)
            source: IO[bytes] = io.BufferedReader(_Window(raw, start, size), 1 << 16)
            known: int | None = size
        else:
            source, known = archive.stream(blob.member), archive.member_size(blob.member)
        head = source.peek(4)[:4] if isinstance(source, io.BufferedReader) else b""
        if head == ZSTD_MAGIC or blob.media_type.endswith("+zstd"):
            raise ImageError(f"{archive.path}: layer {blob.member} is zstd-compressed, which "
                             "this reader does not support; export gzip or plain layers")
        if head[:2] == GZIP_MAGIC or blob.media_type.endswith("+gzip"):
            source = cast(IO[bytes], gzip.GzipFile(fileobj=source, mode="rb"))  # self-buffered
            known = None
        yield TarStream(source, known)


class _Window(io.RawIOBase):
    """A read-only, seekable view of `size` bytes of `raw` from `start` (offsets relative)."""

    def __init__(self, raw: io.BufferedReader, start: int, size: int) -> None:
        self._raw, self._start, self._size, self._pos = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, min(self._size, base + offset))
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(memoryview(buffer)[:want])
        self._pos += got or 0
        return got or 0


def _read_layer(archive: Archive, blob: LayerBlob, layer: Layer, fs: Filesystem,
                captured: dict[str, tuple[int, bytes]], on_file: OnFile | None,
                scan_limit: int) -> int:
    deletions: list[str] = []
    opaque: list[str] = []
    additions: list[FileEntry] = []
    size = 0
    with _open_layer(archive, blob) as tar:
        for info in tar:
            name = info.name
            if name.startswith(("/", "./")) or "//" in name or "/." in name or name[-1:] == "/":
                name = normalise(name)
            if not name or name == ".":
                continue
            directory, _, base = name.rpartition("/")
            if base.startswith(WHITEOUT):
                if base == OPAQUE:
                    opaque.append(directory)
                else:
                    target = base[len(WHITEOUT):]
                    deletions.append(f"{directory}/{target}" if directory else target)
                continue
            kind = _KIND.get(info.type, Kind.OTHER)
            linkname = normalise(info.linkname) if kind is Kind.HARDLINK else info.linkname
            additions.append(FileEntry(name, kind, info.mode, info.size if kind is Kind.FILE
                                       else 0, info.uid, info.gid, layer.index, linkname))
            if kind is not Kind.FILE:
                continue
            size += info.size
            wanted = (name.startswith(_CAPTURED_ROOTS) and CAPTURED.match(name) is not None
                      and info.size <= CAPTURE_LIMIT)
            if not wanted and (on_file is None or info.size > scan_limit):
                continue
            data = tar.read(info)
            if wanted:
                captured[name] = (layer.index, data)
            if on_file is not None and info.size <= scan_limit:
                on_file(layer, name, data)
    for gone in fs.apply(deletions, opaque, additions):
        captured.pop(gone, None)
    return size

