"""The outer image tarball: `docker save` format or an OCI image layout, read in place.

Only the outer tar's headers are indexed (cheap: one header per blob); config,
manifest and index are small JSON blobs; layers are handed out as streams, so
nothing is extracted to disk and a layer is never held in memory whole.
Formats: docker save (manifest.json, Docker image spec v1.2) and OCI image
layout (oci-layout + index.json, image-spec v1.1 §image-layout). Newer
`docker save` writes both; the OCI index is preferred when present.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import posixpath
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.errors import ImageError
from pipeline.image.tarstream import TarFormatError, TarStream

INDEX_TYPES = {"application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json"}
# Errors a damaged tarball or blob raises while being read.
READ_ERRORS = (TarFormatError, EOFError, zlib.error, OSError, ValueError, KeyError,
               TypeError, UnicodeDecodeError, lzma.LZMAError, RecursionError)

# Symlinks followed before a chain is taken for a loop (the kernel's own limit).
_MAX_LINKS = 40
# The outer tarball holds one member per blob plus a few JSON files.
MAX_MEMBERS = 100_000
# Index, manifests and configs are JSON of kilobytes; a large history is a few MB.
MAX_JSON = 16 * 1024 * 1024

# Outer tarballs may be compressed whole (`docker save | gzip`): read through the
# decompressor, which seeks by re-reading (slow, but only for this rare case).
_COMPRESSED: tuple[tuple[bytes, Callable[[str], IO[bytes]]], ...] = (
    (b"\x1f\x8b", lambda p: gzip.GzipFile(p, "rb")),
    (b"BZh", lambda p: bz2.BZ2File(p, "rb")),
    (b"\xfd7zXZ\x00", lambda p: lzma.LZMAFile(p, "rb")),
)


@dataclass(frozen=True, slots=True)
class LayerBlob:
    member: str             # path of the blob inside the outer tarball
    size: int
    media_type: str = ""
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Parts:
    """Where the image's pieces are inside the tarball."""

    config: dict[str, Any]
    config_digest: str
    layers: tuple[LayerBlob, ...]
    annotations: dict[str, str] = field(default_factory=dict)
    repo_tags: tuple[str, ...] = ()
    format: str = "docker-save"


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    type: bytes
    size: int
    offset: int             # of the data, in the (decompressed) outer stream
    linkname: str


class Archive:
    """An open outer tarball; use `Archive.open(path)` as a context manager.

    Only the headers are indexed, with the same bounded reader as the layers.
    """

    def __init__(self, path: Path, opener: Callable[[], IO[bytes]] | None) -> None:
        self.path = path
        self._opener = opener      # None: a plain tarball, blobs lie in the file as is
        self._members: dict[str, _Entry] = {}

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Archive]:
        path = Path(path)
        if path.is_dir():
            raise ImageError(f"{path}: is a directory, not an image tarball")
        if not path.is_file():
            raise ImageError(f"{path}: no such image tarball")
        try:
            with open(path, "rb") as handle:
                magic = handle.read(6)
        except OSError as exc:
            raise ImageError(f"{path}: cannot read ({exc.strerror})") from None
        opener = next((lambda make=make: make(str(path)) for prefix, make in _COMPRESSED
                       if magic.startswith(prefix)), None)
        archive = cls(path, opener)
        archive._index()
        yield archive

    def _open_stream(self) -> IO[bytes]:
        if self._opener is None:
            return open(self.path, "rb", buffering=1 << 16)  # noqa: SIM115 - caller closes
        return self._opener()

    def _index(self) -> None:
        size = None if self._opener is not None else self.path.stat().st_size
        try:
            with self._open_stream() as stream:
                tar = TarStream(stream, size)
                for member in tar:
                    if len(self._members) >= MAX_MEMBERS:
                        raise ImageError(f"{self.path}: more than {MAX_MEMBERS} members; not "
                                         "an image tarball")
                    self._members[_norm(member.name)] = _Entry(
                        member.name, member.type, member.size, member.offset, member.linkname)
        except ImageError:
            raise
        except READ_ERRORS as exc:
            # No first header at all: not a tar. A first header that is refused (a bomb) is
            # worth naming.
            if not self._members and str(exc) in ("bad header checksum",
                                                  "unexpected end of data", ""):
                raise ImageError(f"{self.path}: not a tar archive") from None
            raise ImageError(f"{self.path}: damaged or truncated tar ({_why(exc)})") from None
        if not self._members:
            raise ImageError(f"{self.path}: not a tar archive")

    def has(self, name: str) -> bool:
        return _norm(name) in self._members

    def _member(self, name: str) -> _Entry | None:
        """The entry `name` names, links inside the tarball followed (older `docker save`
        links repeated layers); None when it, or a link's target, is absent."""
        member = self._members.get(_norm(name))
        for _ in range(_MAX_LINKS):
            if member is None or member.type not in (b"1", b"2"):
                return member
            if member.type == b"1":       # hard link: the target is archive-relative
                target = member.linkname
            else:
                target = posixpath.join(posixpath.dirname(member.name), member.linkname)
            member = self._members.get(_norm(posixpath.normpath(target)))
        return None

    def _require(self, name: str, what: str = "") -> _Entry:
        member = self._member(name)
        if member is None:
            raise ImageError(f"{self.path}: {what}{name} is referenced but missing from the "
                             "tarball")
        if member.type not in (b"0", b"\0", b"7"):
            raise ImageError(f"{self.path}: {what}{name} is not a regular file in the tarball")
        return member

    def member_size(self, name: str) -> int:
        return self._require(name).size

    def stream(self, name: str) -> IO[bytes]:
        """A buffered stream over the blob `name` (links inside the tarball resolved)."""
        member = self._require(name)
        return io.BufferedReader(_Window(self._open_stream(), member.offset, member.size),
                                 1 << 16)

    def span(self, name: str) -> tuple[int, int] | None:
        """(offset, size) of the blob's bytes in the tarball file, when they lie there plainly.

        None when the outer tarball is itself compressed: then only `stream()` can read it.
        """
        member = self._member(name)
        if member is None or self._opener is not None or member.type not in (b"0", b"\0", b"7"):
            return None
        return member.offset, member.size

    def read_blob(self, name: str, *, what: str, limit: int = MAX_JSON) -> bytes:
        """A small blob whole (index, manifest, config), refused past `limit` bytes."""
        member = self._require(name, f"{what} " if what else "")
        if member.size > limit:
            raise ImageError(f"{self.path}: {what} {name} is {member.size} bytes, over the "
                             f"{limit} byte limit")
        try:
            with self.stream(name) as handle:
                data = handle.read(member.size + 1)
        except READ_ERRORS as exc:
            raise ImageError(f"{self.path}: cannot read {what} {name} ({_why(exc)})") from None
        if len(data) != member.size:
            raise ImageError(f"{self.path}: {what} {name} is truncated")
        return data

    def read_json(self, name: str, *, what: str) -> Any:
        data = self.read_blob(name, what=what)
        try:
            return json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
            raise ImageError(f"{self.path}: {what} {name} is not valid JSON ({_why(exc)})") \
                from None

    def parts(self) -> Parts:
        """Locate config and layers, OCI layout first, then docker-save manifest.json."""
        if self.has("index.json"):
            return self._oci_parts()
        if self.has("manifest.json"):
            return self._docker_parts()
        raise ImageError(f"{self.path}: neither an OCI layout (index.json) nor a docker save "
                         "archive (manifest.json)")

    def _blob(self, digest: str) -> str:
        algo, _, hex_ = str(digest).partition(":")
        return f"blobs/{algo}/{hex_}"

    def _oci_parts(self) -> Parts:
        index = self.read_json("index.json", what="index")
        manifest, annotations = self._pick_manifest(index, depth=0)
        try:
            config_desc = manifest["config"]
            layers = tuple(
                LayerBlob(self._blob(d["digest"]), int(d.get("size", 0)),
                          str(d.get("mediaType", "")), str(d["digest"]))
                for d in manifest.get("layers") or ()
            )
            config_name = self._blob(config_desc["digest"])
            annotations = {str(k): str(v) for k, v in
                           {**annotations, **(manifest.get("annotations") or {})}.items()}
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ImageError(f"{self.path}: malformed OCI manifest ({_why(exc)})") from None
        config = self._config(config_name, str(config_desc["digest"]))
        tags = tuple(v for k, v in annotations.items()
                     if k in ("io.containerd.image.name", "org.opencontainers.image.ref.name"))
        return Parts(config, str(config_desc["digest"]), layers, annotations, tags, "oci")

    def _pick_manifest(self, index: Any, depth: int) -> tuple[dict[str, Any], dict[str, str]]:
        try:
            manifests = index["manifests"]
            if not manifests:
                raise ImageError(f"{self.path}: index.json lists no manifests")
            # Prefer linux/amd64, else the first: one image per check.
            chosen = next((m for m in manifests
                           if (m.get("platform") or {}).get("architecture") == "amd64"),
                          manifests[0])
            name = self._blob(chosen["digest"])
            annotations = dict(chosen.get("annotations") or {})
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ImageError(f"{self.path}: malformed index.json ({_why(exc)})") from None
        doc = self.read_json(name, what="manifest")
        if not isinstance(doc, dict):
            raise ImageError(f"{self.path}: manifest {name} is not a JSON object")
        if doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
            if depth > 3:
                raise ImageError(f"{self.path}: nested indexes too deep")
            inner, more = self._pick_manifest(doc, depth + 1)
            return inner, {**annotations, **more}
        return doc, annotations

    def _docker_parts(self) -> Parts:
        manifest = self.read_json("manifest.json", what="manifest")
        try:
            entry = manifest[0]
            config_name = str(entry["Config"])
            layers = tuple(LayerBlob(str(name), self._size(str(name)))
                           for name in entry["Layers"])
            tags = tuple(entry.get("RepoTags") or ())
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ImageError(f"{self.path}: malformed manifest.json ({_why(exc)})") from None
        digest = "sha256:" + posixpath.basename(config_name).removesuffix(".json")
        return Parts(self._config(config_name, digest), digest, layers, {}, tags, "docker-save")

    def _size(self, name: str) -> int:
        return self._require(name, "layer ").size

    def _config(self, name: str, digest: str) -> dict[str, Any]:
        if not self.has(name):
            raise ImageError(f"{self.path}: config {name} is referenced but missing from the "
                             "tarball")
        raw = self.read_blob(name, what="config")
        # docker-save names the config by its digest; OCI names every blob so. Check it:
        # a config that does not hash to its name is a damaged or tampered archive.
        parsed = parse_digest(digest)
        if parsed is not None and hashlib.new(parsed[0], raw).hexdigest() != parsed[1]:
            raise ImageError(f"{self.path}: config {name} does not match its digest")
        try:
            config = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
            raise ImageError(f"{self.path}: config {name} is not valid JSON ({_why(exc)})") \
                from None
        if not isinstance(config, dict):
            raise ImageError(f"{self.path}: config {name} is not a JSON object")
        return config


class _Window(io.RawIOBase):
    """A read-only, seekable view of `size` bytes of `raw` from `start` (offsets relative).

    Owns `raw` (closed with the window); seeks it only when it is not already in place.
    """

    def __init__(self, raw: IO[bytes], start: int, size: int) -> None:
        self._raw, self._start, self._size, self._pos = raw, start, size, 0
        self._raw_pos = -1

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
        if self._raw_pos != self._start + self._pos:
            self._raw.seek(self._start + self._pos)
        got = self._raw.readinto(memoryview(buffer)[:want]) or 0  # type: ignore[attr-defined]
        self._pos += got
        self._raw_pos = self._start + self._pos
        return got

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


_HEX_LENGTH = {"sha256": 64, "sha512": 128}


def parse_digest(digest: str) -> tuple[str, str] | None:
    """("sha256", hex) for a well-formed sha256/sha512 digest, else None."""
    algo, _, hex_ = str(digest).partition(":")
    if _HEX_LENGTH.get(algo) != len(hex_) or hex_.strip("0123456789abcdef"):
        return None
    return algo, hex_


def _norm(name: str) -> str:
    return name.removeprefix("./").lstrip("/")


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
