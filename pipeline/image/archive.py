"""The outer image tarball: `docker save` format or an OCI image layout, read in place.

Only the outer tar's headers are indexed (cheap: one header per blob); config,
manifest and index are small JSON blobs; layers are handed out as streams, so
nothing is extracted to disk and a layer is never held in memory whole.
Formats: docker save (manifest.json, Docker image spec v1.2) and OCI image
layout (oci-layout + index.json, image-spec v1.1 §image-layout). Newer
`docker save` writes both; the OCI index is preferred when present.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.errors import ImageError

INDEX_TYPES = {"application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json"}
# Errors a damaged tarball or blob raises while being read.
READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, KeyError,
               TypeError, UnicodeDecodeError)

# Symlinks followed before a chain is taken for a loop (the kernel's own limit).
_MAX_LINKS = 40


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


class Archive:
    """An open outer tarball; use `Archive.open(path)` as a context manager."""

    def __init__(self, path: Path, tar: tarfile.TarFile) -> None:
        self.path = path
        self._tar = tar
        self._members = {_norm(m.name): m for m in tar.getmembers()}

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Archive]:
        path = Path(path)
        if path.is_dir():
            raise ImageError(f"{path}: is a directory, not an image tarball")
        if not path.is_file():
            raise ImageError(f"{path}: no such image tarball")
        try:
            tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed in the finally below
        except READ_ERRORS:
            raise ImageError(f"{path}: not a tar archive") from None
        try:
            try:
                archive = cls(path, tar)
            except READ_ERRORS as exc:
                raise ImageError(f"{path}: damaged or truncated tar ({_why(exc)})") from None
            yield archive
        finally:
            tar.close()

    def has(self, name: str) -> bool:
        return _norm(name) in self._members

    def _member(self, name: str) -> tarfile.TarInfo | None:
        """The entry `name` names, symlinks inside the tarball followed (older `docker save`
        links repeated layers); None when it, or a link's target, is absent."""
        member = self._members.get(_norm(name))
        for _ in range(_MAX_LINKS):
            if member is None or not member.issym():
                return member
            member = self._members.get(_norm(posixpath.normpath(posixpath.join(
                posixpath.dirname(member.name), member.linkname))))
        return None

    def _require(self, name: str, what: str = "") -> tarfile.TarInfo:
        member = self._member(name)
        if member is None:
            raise ImageError(f"{self.path}: {what}{name} is referenced but missing from the "
                             "tarball")
        return member

    def member_size(self, name: str) -> int:
        return self._require(name).size

    def stream(self, name: str) -> IO[bytes]:
        """A stream over the blob `name` (symlinks and hard links inside the tarball resolved)."""
        member = self._require(name)
        try:
            handle = self._tar.extractfile(member)
        except READ_ERRORS as exc:
            raise ImageError(f"{self.path}: cannot read {name} ({_why(exc)})") from None
        if handle is None:
            raise ImageError(f"{self.path}: {name} is not a regular file in the tarball")
        return handle

    def span(self, name: str) -> tuple[int, int] | None:
        """(offset, size) of the blob's bytes in the tarball file, when they lie there plainly.

        None when the outer tarball is itself compressed: then only `stream()` can read it.
        """
        member = self._member(name)
        if member is None or not member.isfile() or self._tar.fileobj is None \
                or type(self._tar.fileobj) is not io.BufferedReader:
            return None
        return member.offset_data, member.size

    def read_json(self, name: str, *, what: str) -> Any:
        try:
            data = self.stream(name).read()
            return json.loads(data)
        except ImageError:
            raise
        except READ_ERRORS + (json.JSONDecodeError,) as exc:
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
        except (KeyError, TypeError, AttributeError) as exc:
            raise ImageError(f"{self.path}: malformed OCI manifest (missing {exc})") from None
        config = self._config(config_name, str(config_desc["digest"]))
        annotations = {**annotations, **(manifest.get("annotations") or {})}
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
        try:
            raw = self.stream(name).read()
        except READ_ERRORS as exc:
            raise ImageError(f"{self.path}: cannot read config {name} ({_why(exc)})") from None
        algo, _, hex_ = digest.partition(":")
        # docker-save names the config by its digest; OCI names every blob so. Check it:
        # a config that does not hash to its name is a damaged or tampered archive.
        if algo == "sha256" and len(hex_) == 64 and hashlib.sha256(raw).hexdigest() != hex_:
            raise ImageError(f"{self.path}: config {name} does not match its digest")
        try:
            config = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImageError(f"{self.path}: config {name} is not valid JSON ({_why(exc)})") \
                from None
        if not isinstance(config, dict):
            raise ImageError(f"{self.path}: config {name} is not a JSON object")
        return config


def _norm(name: str) -> str:
    return name.removeprefix("./").lstrip("/")


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
