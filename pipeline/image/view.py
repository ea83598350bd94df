"""The image-access layer rules use: config, layers, stat, list, read.

`ImageView` is a protocol, so rules do not care whether an image came from a
tarball or elsewhere. `read_tarball()` builds one in a single streaming pass:
each layer is read once, in order, header by header; regular files up to
`scan_limit` bytes are offered to `on_file` (the content scanners: they see
every layer, including files a later layer deletes, since those still ship),
other contents are skipped; a few small files rules need (passwd, package
databases) are kept in memory, capped by count and total size. Each layer's
bytes are checked against its digest (and, uncompressed, the config's diff_id)
while it is read; see pipeline.image.digest.
"""

from __future__ import annotations

import fnmatch
import gc
import gzip
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol, cast

from pipeline.errors import ImageError
from pipeline.image.archive import READ_ERRORS, Archive, LayerBlob, _why, parse_digest
from pipeline.image.digest import Expected, HashingReader, Verifier
from pipeline.image.filesystem import (
    MAX_NODES,
    MAX_PATH,
    MAX_PATH_BYTES,
    OPAQUE,
    WHITEOUT,
    Filesystem,
    FilesystemLimitError,
    normalise,
)
from pipeline.image.model import FileEntry, ImageConfig, Kind, Layer
from pipeline.image.tarstream import TarStream

OnFile = Callable[[Layer, str, bytes], None]

# Small files rules read from the final filesystem: accounts and package databases.
CAPTURED = re.compile(
    r"^(etc/(passwd|group|os-release)|usr/lib/os-release"
    r"|var/lib/dpkg/status|var/lib/dpkg/status\.d/[^/]+|lib/apk/db/installed)$"
)
_CAPTURED_ROOTS = ("etc/", "usr/lib/os-release", "var/lib/dpkg/", "lib/apk/")
CAPTURE_LIMIT = 16 * 1024 * 1024            # one file; a larger one is not kept
CAPTURE_TOTAL = 32 * 1024 * 1024            # all kept files together
CAPTURE_FILES = 10_000                      # distroless keeps one status.d file per package
MAX_LAYERS = 1024                           # overlayfs stacks at most 128 (docker: 127)
MAX_REREAD = 1024 * 1024 * 1024             # bytes of layers listed more than once
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"
# A gzip layer inflates at most ~1032x (deflate's limit), so a small crafted one can make
# the reader inflate gigabytes of nothing: past both bounds below it is refused. Real
# layers inflate 2-10x; one holding a huge run of zeros (a sparse file) may reach the
# ratio, and is still read in full up to the floor.
INFLATE_RATIO = 200
INFLATE_FLOOR = 4 << 30


class _BoundedInflate:
    """A gzip layer's output, refused once it passes `limit` bytes."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self._inner, self._limit, self._what = inner, limit, what

    def _check(self) -> None:
        if self._inner.tell() > self._limit:
            raise ImageError(f"{self._what} inflates past {self._limit >> 20} MiB, more than "
                             f"{INFLATE_RATIO}x its compressed size: a decompression bomb")

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._limit + 1  # never the whole (unbounded) rest at once
        data = self._inner.read(min(size, self._limit + 1 - self._inner.tell()) or 1)
        self._check()
        return data

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Forward only, in chunks, so a member declaring terabytes is refused at the bound.
        target = offset if whence == io.SEEK_SET else self._inner.tell() + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._inner.tell():
            raise io.UnsupportedOperation("a gzip layer is read forward only")
        while self._inner.tell() < target:
            if not self.read(min(target - self._inner.tell(), 1 << 20)):
                break
        return self._inner.tell()

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
    # Tens of thousands of small acyclic records: the cycle collector would walk them
    # again and again while they are made, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_tarball(Path(path), on_file, scan_limit)
    finally:
        if collecting:
            gc.enable()


def _read_tarball(path: Path, on_file: OnFile | None, scan_limit: int) -> TarballImage:
    with Archive.open(path) as archive:
        parts = archive.parts()
        try:
            config = ImageConfig.from_json(parts.config)
        except (TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise ImageError(f"{path}: malformed image config ({_why(exc)})") from None
        if config.diff_ids and len(config.diff_ids) != len(parts.layers):
            raise ImageError(f"{path}: config lists {len(config.diff_ids)} layers, manifest "
                             f"{len(parts.layers)}")
        if len(parts.layers) > MAX_LAYERS:
            raise ImageError(f"{path}: {len(parts.layers)} layers, over the limit of "
                             f"{MAX_LAYERS}")
        _refuse_repeats(archive, parts.layers)
        layers = tuple(
            Layer(i, config.diff_ids[i] if config.diff_ids else (blob.digest or blob.member),
                  blob.size, blob.media_type)
            for i, blob in enumerate(parts.layers)
        )
        fs = Filesystem()
        captured = _Captured(path)
        content_size = 0
        verifier = Verifier.for_file(path)
        try:
            for layer, blob in zip(layers, parts.layers, strict=True):
                try:
                    content_size += _read_layer(archive, blob, layer, config, fs, captured,
                                                verifier, on_file, scan_limit)
                except ImageError:
                    raise
                except FilesystemLimitError as exc:
                    raise ImageError(f"{path}: layer {layer.index} ({blob.member}): {exc} "
                                     "in the filesystem, over the reader's limit") from None
                except READ_ERRORS + (gzip.BadGzipFile,) as exc:
                    # Damaged bytes are better named by their digest, when it is known.
                    verifier.check()
                    raise ImageError(f"{path}: layer {layer.index} ({blob.member}) is damaged "
                                     f"or truncated ({_why(exc)})") from None
            verifier.check()
        finally:
            verifier.close()
    return TarballImage(path, config, layers, parts.annotations, parts.repo_tags, content_size,
                        fs, parts.format, parts.config_digest, captured.files)


def _refuse_repeats(archive: Archive, blobs: tuple[LayerBlob, ...]) -> None:
    """A manifest may list one blob many times (identical layers are legal, and old images
    repeat the empty layer); each listing is read again, so the bytes read again are
    capped: a small tarball listing its one big layer a thousand times is refused."""
    seen: set[str] = set()
    again = 0
    for blob in blobs:
        if blob.member in seen:
            again += archive.member_size(blob.member)
            if again > MAX_REREAD:
                raise ImageError(f"{archive.path}: the manifest lists layer {blob.member} "
                                 f"and others again and again ({again} bytes to read a "
                                 f"second time, over the limit of {MAX_REREAD})")
        seen.add(blob.member)


def prefetch_digests(path: Path) -> None:
    """Start hashing the layers of a plain tarball in the background, for a `read_tarball`
    of the same file later: check-image calls it before loading the contract, so the
    hashing runs on another core during that start-up. Any problem is left for
    `read_tarball` to report; compressed tarballs are not prefetched (they hash inline).
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            if handle.read(512)[257:262] != b"ustar":
                return
        with Archive.open(path) as archive:
            parts = archive.parts()
            config = ImageConfig.from_json(parts.config)
            if config.diff_ids and len(config.diff_ids) != len(parts.layers):
                return
            verifier = Verifier(path)
            for index, blob in enumerate(parts.layers[:MAX_LAYERS]):
                span = archive.span(blob.member)
                if span is None:
                    continue
                with archive.stream(blob.member) as raw:
                    head = raw.peek(4)[:4]
                compressed = head[:2] == GZIP_MAGIC or blob.media_type.endswith("+gzip")
                layer = Layer(index, "", blob.size, blob.media_type)
                verifier.span(*span, _expected(blob, layer, config, compressed, path))
            verifier.share()
    except (ImageError, *READ_ERRORS, AttributeError):
        return


class _Captured:
    """The small files rules read, by path: (layer index, content); bounded in count and bytes."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.files: dict[str, tuple[int, bytes]] = {}
        self.total = 0

    def keep(self, path: str, layer: int, data: bytes) -> None:
        old = self.files.pop(path, None)
        if old is not None:
            self.total -= len(old[1])
        if len(self.files) >= CAPTURE_FILES or self.total + len(data) > CAPTURE_TOTAL:
            raise ImageError(f"{self.source}: account and package-database files exceed "
                             f"{CAPTURE_FILES} files or {CAPTURE_TOTAL >> 20} MiB in total "
                             f"(at layer {layer}, /{path})")
        self.files[path] = (layer, data)
        self.total += len(data)

    def drop(self, paths: list[str], below: int) -> None:
        """Forget files a layer removed; only lower layers' (a layer never removes its own)."""
        for path in paths:
            held = self.files.get(path)
            if held is not None and held[0] < below:
                del self.files[path]
                self.total -= len(held[1])


def _expected(blob: LayerBlob, layer: Layer, config: ImageConfig, compressed: bool,
              source: Path) -> list[Expected]:
    """What this layer's bytes must hash to: the blob digest, and the diff_id if plain."""
    what = f"layer {layer.index} ({blob.member})"
    claims: list[tuple[str, str]] = []
    digest = blob.digest
    if not digest and blob.member.startswith("blobs/"):     # newer docker save names blobs so
        algo, _, hex_ = blob.member.removeprefix("blobs/").partition("/")
        digest = f"{algo}:{hex_}"
        if parse_digest(digest) is None:
            digest = ""
    if digest:
        claims.append(("digest", digest))
    if config.diff_ids and not compressed:
        claims.append(("diff_id in the config", config.diff_ids[layer.index]))
    expected: list[Expected] = []
    for claim, value in claims:
        parsed = parse_digest(value)
        if parsed is None:
            raise ImageError(f"{source}: {what} has a malformed or unsupported {claim} "
                             f"{value[:80]!r} (sha256 or sha512 expected)")
        if all(e.algo != parsed[0] or e.hex != parsed[1] for e in expected):
            expected.append(Expected(what, claim, *parsed))
    return expected


@contextmanager
def _open_layer(archive: Archive, blob: LayerBlob, layer: Layer, config: ImageConfig,
                verifier: Verifier) -> Iterator[TarStream]:
    """The layer as a forward-only tar stream, its digests checked as it goes.

    An uncompressed layer in an uncompressed tarball (docker save, most OCI
    exports) is read in place through a bounded window on the tarball file,
    and hashed from the file on the verifier's thread; compressed layers go
    through gzip, forward only. In a compressed tarball the blob is hashed inline.
    """
    span = archive.span(blob.member)
    hashing: HashingReader | None = None
    raw = archive.stream(blob.member)
    with raw:
        head = raw.peek(4)[:4]
        if head == ZSTD_MAGIC or blob.media_type.endswith("+zstd"):
            raise ImageError(f"{archive.path}: layer {blob.member} is zstd-compressed, which "
                             "this reader does not support; export gzip or plain layers")
        compressed = head[:2] == GZIP_MAGIC or blob.media_type.endswith("+gzip")
        expected = _expected(blob, layer, config, compressed, archive.path)
        source: IO[bytes] = raw
        if span is not None:
            verifier.span(*span, expected)
        elif expected:
            hashing = HashingReader(raw, sorted({e.algo for e in expected}))
            source = io.BufferedReader(hashing, 1 << 16)
        known: int | None = archive.member_size(blob.member)
        if compressed:
            inflated = gzip.GzipFile(fileobj=source, mode="rb")  # self-buffered
            limit = max(INFLATE_FLOOR, INFLATE_RATIO * (known or 0))
            source = cast(IO[bytes], _BoundedInflate(
                cast(IO[bytes], inflated), limit, f"{archive.path}: layer {blob.member}"))
            known = None
        yield TarStream(source, known)
        if hashing is not None:
            hashing.finish(archive.path, expected)


def _read_layer(archive: Archive, blob: LayerBlob, layer: Layer, config: ImageConfig,
                fs: Filesystem, captured: _Captured, verifier: Verifier,
                on_file: OnFile | None, scan_limit: int) -> int:
    additions: list[FileEntry] = []
    index = layer.index
    size = 0
    limit = MAX_NODES - fs.nodes
    text_limit = MAX_PATH_BYTES - fs.path_bytes     # additions wait for the layer's end
    add, entry_of, file, hardlink = additions.append, tuple.__new__, Kind.FILE, Kind.HARDLINK
    with _open_layer(archive, blob, layer, config, verifier) as tar:
        for info in tar:
            name = info.name
            if name.startswith(("/", "./")) or "//" in name or "/." in name or name[-1:] == "/":
                name = normalise(name)
            if not name or name == ".":
                continue
            directory, _, base = name.rpartition("/")
            if base.startswith(WHITEOUT):
                # Applied at once: the filesystem holds only lower layers until the end.
                if base == OPAQUE:
                    gone = fs.opaque(directory)
                else:
                    target = base[len(WHITEOUT):]
                    gone = fs.whiteout(f"{directory}/{target}" if directory else target)
                if gone:
                    captured.drop(gone, index)
                    limit = MAX_NODES - fs.nodes
                    text_limit = MAX_PATH_BYTES - fs.path_bytes
                continue
            kind = _KIND.get(info.type, Kind.OTHER)
            linkname = normalise(info.linkname) if kind is hardlink else info.linkname
            # FileEntry(...) without its Python-level __new__: one per path of every layer.
            add(entry_of(FileEntry, (name, kind, info.mode, info.size if kind is file else 0,
                                     info.uid, info.gid, index, linkname)))
            if len(name) > MAX_PATH:
                raise FilesystemLimitError(f"a path of {len(name)} characters (longer than "
                                           f"PATH_MAX, {MAX_PATH})")
            text_limit -= len(name)
            if len(additions) > limit or text_limit < 0:
                raise FilesystemLimitError(f"more than {MAX_NODES} paths or "
                                           f"{MAX_PATH_BYTES >> 20} MiB of path names")
            if kind is not file:
                continue
            size += info.size
            wanted = (name.startswith(_CAPTURED_ROOTS) and CAPTURED.match(name) is not None
                      and info.size <= CAPTURE_LIMIT)
            if not wanted and (on_file is None or info.size > scan_limit):
                continue
            data = tar.read(info)
            if wanted:
                captured.keep(name, index, data)
            if on_file is not None and info.size <= scan_limit:
                on_file(layer, name, data)
    for entry in additions:
        gone = fs.add(entry)
        if gone:
            captured.drop(gone, index)
    return size
