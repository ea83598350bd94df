"""Build real OCI image tarballs in pure Python for tests and benchmarks.

`ImageBuilder` writes either a `docker save` archive (manifest.json, layer.tar
per layer) or an OCI image layout (oci-layout, index.json, blobs/sha256/...),
with real digests: diff_ids hash the uncompressed layer tars, blob names hash
the blobs. Layers may be gzip-compressed (OCI only, as registries serve them).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


@dataclass
class Entry:
    path: str
    data: bytes = b""
    mode: int = 0o644
    kind: str = "file"          # file, dir, symlink, hardlink
    linkname: str = ""
    uid: int = 0
    gid: int = 0


@dataclass
class LayerSpec:
    entries: list[Entry] = field(default_factory=list)
    created_by: str = ""
    _dirs: set[str] = field(default_factory=set, repr=False)

    def file(self, path: str, data: bytes | str = b"", mode: int = 0o644) -> LayerSpec:
        self._parents(path)
        raw = data.encode() if isinstance(data, str) else data
        self.entries.append(Entry(path, raw, mode))
        return self

    def dir(self, path: str, mode: int = 0o755) -> LayerSpec:
        self.entries.append(Entry(path, mode=mode, kind="dir"))
        self._dirs.add(path.strip("/"))
        return self

    def symlink(self, path: str, target: str) -> LayerSpec:
        self._parents(path)
        self.entries.append(Entry(path, mode=0o777, kind="symlink", linkname=target))
        return self

    def delete(self, path: str) -> LayerSpec:
        """A whiteout for `path` (deletes it from lower layers)."""
        parent, _, name = path.rpartition("/")
        return self.file(f"{parent}/.wh.{name}" if parent else f".wh.{name}")

    def opaque(self, directory: str) -> LayerSpec:
        return self.file(f"{directory}/.wh..wh..opq")

    def _parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        known = self._dirs
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in known:
                self.entries.append(Entry(parent, mode=0o755, kind="dir"))
                known.add(parent)

    def write_tar(self, out: IO[bytes]) -> None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for e in self.entries:
                info = tarfile.TarInfo(e.path.strip("/"))
                info.mode, info.uid, info.gid, info.mtime = e.mode, e.uid, e.gid, 0
                if e.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif e.kind in ("symlink", "hardlink"):
                    info.type = tarfile.SYMTYPE if e.kind == "symlink" else tarfile.LNKTYPE
                    info.linkname = e.linkname
                    tar.addfile(info)
                else:
                    info.size = len(e.data)
                    tar.addfile(info, io.BytesIO(e.data))


def debian_like() -> LayerSpec:
    """A small base layer: accounts, a dpkg database, a shell, a setuid-free /usr/bin."""
    layer = LayerSpec(created_by="# debian.sh --arch 'amd64' out/ 'bookworm'")
    layer.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
               "app:x:10001:10001::/app:/bin/sh\n")
    layer.file("etc/group", "root:x:0:\napp:x:10001:\n")
    layer.file("etc/os-release", 'ID=debian\nVERSION_ID="12"\n')
    layer.file("var/lib/dpkg/status",
               "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n"
               "Package: libc6\nStatus: install ok installed\nVersion: 2.36\n")
    layer.file("bin/sh", b"\x7fELF" + b"\0" * 60, 0o755)
    layer.file("usr/bin/env", b"\x7fELF" + b"\0" * 60, 0o755)
    return layer


@dataclass
class ImageBuilder:
    layers: list[LayerSpec] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    history_extra: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def clean(cls) -> ImageBuilder:
        """An image that satisfies `clean_contract()`: non-root, port 8000, labelled."""
        app = LayerSpec(created_by="COPY app /app # buildkit")
        app.file("app/main.py", "print('hello')\n")
        return cls(
            layers=[debian_like(), app],
            config={"User": "10001", "ExposedPorts": {"8000/tcp": {}},
                    "Entrypoint": ["python", "-m", "app"], "Cmd": None, "WorkingDir": "/app",
                    "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "PORT=8000"],
                    "Labels": {"org.opencontainers.image.source": "https://example.test/app",
                               "org.opencontainers.image.base.name": "python:3.11-slim"}},
        )

    def layer(self, created_by: str = "RUN step") -> LayerSpec:
        spec = LayerSpec(created_by=created_by)
        self.layers.append(spec)
        return spec

    def history(self, created_by: str, empty_layer: bool = True) -> ImageBuilder:
        self.history_extra.append({"created_by": created_by, "empty_layer": empty_layer})
        return self

    def _blobs(self, compress: bool) -> tuple[list[tuple[bytes, str]], list[str]]:
        blobs, diff_ids = [], []
        for spec in self.layers:
            raw = io.BytesIO()
            spec.write_tar(raw)
            data = raw.getvalue()
            diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
            blobs.append((gzip.compress(data, compresslevel=1, mtime=0) if compress else data,
                          "sha256:" + hashlib.sha256(data).hexdigest()))
        return blobs, diff_ids

    def _config_bytes(self, diff_ids: list[str]) -> bytes:
        history = [{"created_by": spec.created_by} for spec in self.layers] + self.history_extra
        doc = {"architecture": "amd64", "os": "linux", "config": self.config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}
        return json.dumps(doc, sort_keys=True).encode()

    def write(self, path: Path, *, fmt: str = "docker", compress: bool = False) -> Path:
        """Write the tarball to `path` in `fmt` ("docker" or "oci")."""
        blobs, diff_ids = self._blobs(compress and fmt == "oci")
        config = self._config_bytes(diff_ids)
        config_hex = hashlib.sha256(config).hexdigest()
        with tarfile.open(path, "w") as out:
            def add(name: str, data: bytes) -> None:
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                out.addfile(info, io.BytesIO(data))

            if fmt == "docker":
                names = []
                for i, (blob, _) in enumerate(blobs):
                    names.append(f"layer{i}/layer.tar")
                    add(names[-1], blob)
                add(f"{config_hex}.json", config)
                add("manifest.json", json.dumps([{"Config": f"{config_hex}.json",
                                                  "RepoTags": ["test/app:latest"],
                                                  "Layers": names}]).encode())
                return path
            media = ("application/vnd.oci.image.layer.v1.tar+gzip" if compress
                     else "application/vnd.oci.image.layer.v1.tar")
            descriptors = []
            for blob, _ in blobs:
                hex_ = hashlib.sha256(blob).hexdigest()
                add(f"blobs/sha256/{hex_}", blob)
                descriptors.append({"mediaType": media, "digest": f"sha256:{hex_}",
                                    "size": len(blob)})
            add(f"blobs/sha256/{config_hex}", config)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": f"sha256:{config_hex}", "size": len(config)},
                "layers": descriptors, "annotations": self.annotations,
            }).encode()
            manifest_hex = hashlib.sha256(manifest).hexdigest()
            add(f"blobs/sha256/{manifest_hex}", manifest)
            add("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
            add("index.json", json.dumps({"schemaVersion": 2, "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_hex}", "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}).encode())
        return path


CLEAN_CONTRACT = """\
version = 1

[services.backend]
context = "backend"
port = 8000
user = { uid_min = 1000 }
entrypoint = ["python", "-m", "app"]
workdir = "/app"
labels = ["org.opencontainers.image.source"]
base_images = [{ name = "python" }]
max_size = "10MB"
dockerignore = [".git", ".env", "**/__pycache__"]

[services.backend.env]
required = ["DATABASE_URL", "SECRET_KEY"]
secrets = ["DATABASE_URL", "SECRET_KEY"]
"""


def write_contract(directory: Path, text: str = CLEAN_CONTRACT,
                   dockerignore: str | None = ".git\n.env\n**/__pycache__\n") -> Path:
    """A contract file and its backend context (with .dockerignore unless None)."""
    (directory / "backend").mkdir(parents=True, exist_ok=True)
    if dockerignore is not None:
        (directory / "backend" / ".dockerignore").write_text(dockerignore)
    path = directory / "pipeline.toml"
    path.write_text(text)
    return path


def temp_tarball(builder: ImageBuilder, **kwargs: Any) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=".tar", delete=False)  # noqa: SIM115
    handle.close()
    return builder.write(Path(handle.name), **kwargs)


def files(entries: Iterable[tuple[str, bytes]]) -> LayerSpec:
    layer = LayerSpec()
    for path, data in entries:
        layer.file(path, data)
    return layer
