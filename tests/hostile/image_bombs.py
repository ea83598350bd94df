"""Generators of hostile image tarballs, one per bomb class of issue 13 (image reader).

Each generator writes a small file that once made the reader blow up in memory
or time, and is scaled by `size` (MB of bytes the bomb declares or holds), so
the bomb benchmark can set each beside a clean image of the same size:

- huge-pax: a pax extended header declaring `size` MB (gzip layer: a small file)
- gnu-long-name: a GNU long-name header declaring `size` MB
- negative-size: a member whose base-256 size field is negative
- oversized-member: a member declaring far more bytes than its layer holds
- package-dbs: many large dpkg status.d files (the reader kept them all)
- deep-paths: long paths of many components under distinct roots (each parent is held)
- absent-whiteouts: thousands of files, then thousands of whiteouts of absent paths
  (cost grew as files x whiteouts)
- digest-mismatch: a layer whose bytes differ from its digest (docker, OCI, OCI gzip,
  gzipped docker save)

Every one is a real, loadable tarball apart from its one hostile feature.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.imagebuilder import ImageBuilder, LayerSpec

CONTRACT = """\
[services.app]
context = "."
port = 8000
max_size = "100GB"
"""
MB = 1_000_000


def ustar_header(name: str, size: int = 0, kind: bytes = b"0", *, mode: int = 0o644,
                 size_field: bytes | None = None) -> bytes:
    """One 512-byte ustar header with a correct checksum; `size_field` overrides the size."""
    field = size_field if size_field is not None else f"{size:011o}\0".encode()
    header = bytearray(512)
    header[0:100] = name.encode()[:100].ljust(100, b"\0")
    header[100:108] = f"{mode:07o}\0".encode()
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = field.ljust(12, b"\0")[:12]
    header[136:148] = b"00000000000\0"
    header[148:156] = b" " * 8
    header[156:157] = kind
    header[257:265] = b"ustar\x0000"
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    return bytes(header)


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 512)


def _zeros(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    while total > 0:
        yield b"\0" * min(chunk, total)
        total -= chunk


def _gzip(parts: Iterator[bytes]) -> tuple[bytes, str]:
    """Gzip a stream of parts without holding it whole (bombs declare hundreds of MB);
    returns the blob and the diff_id (the digest of what it decompresses to)."""
    out = io.BytesIO()
    plain = hashlib.sha256()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
        for part in parts:
            plain.update(part)
            gz.write(part)
    return out.getvalue(), "sha256:" + plain.hexdigest()


def _with_layer(path: Path, blob: bytes | tuple[bytes, str]) -> Path:
    """A clean OCI image plus one extra layer blob (digests computed over it)."""
    ImageBuilder.clean().write(path, fmt="oci")
    if isinstance(blob, tuple):
        return _append_layer(path, blob[0], diff_id=blob[1])
    return _append_layer(path, blob)


def _append_layer(path: Path, blob: bytes, *, diff_id: str | None = None) -> Path:
    """Add `blob` as the top layer; `diff_id` given means the blob is gzip-compressed."""
    members = read_members(path)
    index = json.loads(members["index.json"])
    manifest_name = "blobs/" + index["manifests"][0]["digest"].replace(":", "/")
    manifest = json.loads(members.pop(manifest_name))
    config_name = "blobs/" + manifest["config"]["digest"].replace(":", "/")
    config = json.loads(members.pop(config_name))
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    members[f"blobs/sha256/{digest[7:]}"] = blob
    compressed = diff_id is not None
    config["rootfs"]["diff_ids"].append(diff_id or digest)
    config["history"].append({"created_by": "RUN hostile"})
    config_bytes = json.dumps(config).encode()
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    members[f"blobs/sha256/{config_digest[7:]}"] = config_bytes
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compressed else "")
    manifest["layers"].append({"mediaType": media, "digest": digest, "size": len(blob)})
    manifest["config"].update(digest=config_digest, size=len(config_bytes))
    manifest_bytes = json.dumps(manifest).encode()
    manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    members[f"blobs/sha256/{manifest_digest[7:]}"] = manifest_bytes
    index["manifests"][0].update(digest=manifest_digest, size=len(manifest_bytes))
    members["index.json"] = json.dumps(index).encode()
    write_members(path, members)
    return path


def read_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()  # type: ignore[union-attr]
                if m.isfile()}


def write_members(path: Path, members: dict[str, bytes], mode: str = "w") -> None:
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def huge_pax(path: Path, size: int = 64) -> Path:
    """A pax header declaring `size` MB, all of it present (gzip keeps the file small)."""
    declared = size * MB
    blob = _gzip(iter([ustar_header("././@PaxHeader", declared, b"x"),
                       *_zeros(declared), _pad(declared),
                       ustar_header("file"), b"\0" * 1024]))
    return _with_layer(path, blob)


def inflating(path: Path, size: int = 64) -> Path:
    """A gzip layer of one file of `size` MB of zeros: ~1000x smaller than what it inflates to."""
    declared = size * MB
    blob = _gzip(iter([ustar_header("zeros", declared), *_zeros(declared), _pad(declared),
                       b"\0" * 1024]))
    return _with_layer(path, blob)


def gnu_long_name(path: Path, size: int = 64) -> Path:
    """A GNU long-name header declaring `size` MB of name."""
    declared = size * MB
    blob = _gzip(iter([ustar_header("././@LongLink", declared, b"L"),
                       *(b"a" * len(c) for c in _zeros(declared)), _pad(declared),
                       ustar_header("file"), b"\0" * 1024]))
    return _with_layer(path, blob)


def negative_size(path: Path, size: int = 1) -> Path:
    """A member whose base-256 size is negative (0xff... is -1), then `size` MB of data."""
    blob = (ustar_header("etc/negative", size_field=b"\xff" * 12) + b"x" * (size * MB)
            + b"\0" * 1024)
    return _with_layer(path, blob)


def oversized_member(path: Path, size: int = 1) -> Path:
    """A member declaring 1 TB in an uncompressed layer of `size` MB."""
    blob = ustar_header("huge", 10**12) + b"x" * (size * MB) + b"\0" * 1024
    return _with_layer(path, blob)


def package_dbs(path: Path, size: int = 64) -> Path:
    """`size` files of 1 MB in var/lib/dpkg/status.d (each under the per-file cap)."""
    parts: list[bytes] = []
    for i in range(size):
        parts += [ustar_header(f"var/lib/dpkg/status.d/pkg{i}", MB), b"Package: x\n" * (MB // 11),
                  b"\0" * (MB - MB // 11 * 11), _pad(MB)]
    blob = _gzip(iter([*parts, b"\0" * 1024]))
    return _with_layer(path, blob)


def deep_paths(path: Path, size: int = 2) -> Path:
    """`size` thousand entries, each a 4 KB path of 2,000 components under its own root:
    every component is a parent directory the filesystem must hold (length squared)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for i in range(size * 1000):
            tar.addfile(tarfile.TarInfo(f"r{i}/" + "a/" * 1990 + "f"))
    return _with_layer(path, _gzip(iter([out.getvalue()])))


def absent_whiteouts(path: Path, size: int = 20) -> Path:
    """`size` thousand files, then as many whiteouts of paths that do not exist."""
    count = size * 1000
    image = ImageBuilder.clean()
    files = LayerSpec(created_by="COPY files /srv")
    for i in range(count):
        files.file(f"srv/d{i // 500}/f{i}", b"x")
    gone = LayerSpec(created_by="RUN rm -rf /nowhere/*")
    for i in range(count):
        gone.delete(f"nowhere/d{i // 500}/f{i}")
    image.layers += [files, gone]
    return image.write(path, fmt="docker")


def many_files(path: Path, count: int) -> Path:
    """A clean image of `count` one-byte files: the absent-whiteouts bomb's peer by entries."""
    image = ImageBuilder.clean()
    files = LayerSpec(created_by="COPY files /srv")
    for i in range(count):
        files.file(f"srv/d{i // 500}/f{i}", b"x")
    image.layers.append(files)
    return image.write(path, fmt="docker")


def clean(path: Path, size: int = 20) -> Path:
    """A clean image holding about `size` MB in 1 MB files: the benchmark's baseline."""
    image = ImageBuilder.clean()
    layer = LayerSpec(created_by="COPY data /data")
    chunk = bytes(range(256)) * (MB // 256)
    for i in range(max(size, 1)):
        layer.file(f"data/blob{i}.bin", chunk)
    image.layers.append(layer)
    return image.write(path, fmt="docker")


def _tamper(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data and len(old) == len(new)
    return data.replace(old, new, 1)


def digest_mismatch(path: Path, size: int = 1, *, fmt: str = "docker") -> Path:
    """A layer whose bytes no longer hash to its digest: one file's content changed.

    fmt: docker (diff_id), oci (blob digest), oci-gzip (compressed blob), docker-gz
    (a gzipped docker save: hashed inline, not from the file).
    """
    image = ImageBuilder.clean()
    image.layer("COPY payload /payload").file("payload/data.bin", b"original" + b"." * (
        size * MB))
    compress = fmt == "oci-gzip"
    image.write(path, fmt="oci" if fmt.startswith("oci") else "docker", compress=compress)
    members = read_members(path)
    for name, data in members.items():
        if compress and data[:2] == b"\x1f\x8b":
            plain = gzip.decompress(data)
            if b"original" in plain:
                members[name] = gzip.compress(_tamper(plain, b"original", b"tampered"),
                                              mtime=0)
        elif b"original" in data:
            members[name] = _tamper(data, b"original", b"tampered")
    write_members(path, members, "w:gz" if fmt == "docker-gz" else "w")
    return path


BOMBS: dict[str, Callable[..., Path]] = {
    "huge-pax": huge_pax,
    "gnu-long-name": gnu_long_name,
    "negative-size": negative_size,
    "oversized-member": oversized_member,
    "package-dbs": package_dbs,
    "deep-paths": deep_paths,
    "absent-whiteouts": absent_whiteouts,
    "digest-mismatch": digest_mismatch,
}


def write_contract(directory: Path) -> Path:
    path = directory / "pipeline.toml"
    path.write_text(CONTRACT)
    return path




# Runs `python -m pipeline ...` and reports the child's own peak RSS. Not ru_maxrss: Linux
# carries the spawning process's peak across fork/vfork + exec into it, so a large parent
# (pytest, a generator) would be counted. VmHWM of the exec'd image is the child's alone.
_MEASURED = """\
import atexit, os, resource, runpy, sys
def _peak():
    kib = 0
    try:
        with open("/proc/self/status") as status:
            kib = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.environ["PIPELINE_PEAK_FILE"], "w") as out:
        out.write(str(kib))
atexit.register(_peak)
sys.argv = ["pipeline", *sys.argv[1:]]
runpy.run_module("pipeline", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float


def run_pipeline(args: list[str], *, timeout: float = 300, cwd: Path | None = None) -> Run:
    """`pipeline ARGS` in a child process: exit code, output, wall time, its own peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        env = {**os.environ, "PIPELINE_PEAK_FILE": str(peak_file)}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=cwd)
        seconds = time.perf_counter() - started
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    return Run(done.returncode, done.stdout, done.stderr, seconds, peak)


def check_image(tarball: Path, contract: Path, *, timeout: float = 300) -> Run:
    return run_pipeline(["check-image", str(tarball), "--contract", str(contract),
                         "--service", "app"], timeout=timeout)
