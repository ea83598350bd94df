"""The streaming tarball reader: both archive formats, compression, whiteouts, bad input."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import ImageError
from pipeline.image import Kind, read_tarball
from tests.imagebuilder import ImageBuilder


def layered() -> ImageBuilder:
    image = ImageBuilder.clean()
    lower = image.layer("RUN add")
    lower.file("data/keep.txt", "keep").file("data/gone.txt", "gone")
    lower.file("cache/a", "a").file("cache/sub/b", "b")
    lower.symlink("usr/bin/python", "python3.11")
    lower.file("usr/bin/python3.11", b"\x7fELF", 0o755)
    upper = image.layer("RUN remove")
    upper.delete("data/gone.txt")
    upper.opaque("cache")
    upper.file("cache/new", "new")       # same layer as the opaque marker: survives
    return image


@pytest.mark.parametrize(("fmt", "compress"), [("docker", False), ("oci", False),
                                               ("oci", True)])
def test_formats_agree_on_the_final_filesystem(tmp_path: Path, fmt: str, compress: bool) -> None:
    path = layered().write(tmp_path / "image.tar", fmt=fmt, compress=compress)
    seen: list[tuple[int, str]] = []
    image = read_tarball(path, on_file=lambda layer, p, data: seen.append((layer.index, p)))
    paths = {e.path for e in image.list()}
    assert "data/keep.txt" in paths and "data/gone.txt" not in paths
    assert "cache/new" in paths and "cache/a" not in paths and "cache/sub/b" not in paths
    assert not any(".wh." in p for p in paths)
    assert image.stat("usr/bin/python").kind is Kind.FILE          # symlink followed
    assert image.read("etc/passwd").startswith(b"root:x:0:0")
    assert image.config.user == "10001"
    assert image.config.exposed_ports == {"8000/tcp"}
    assert len(image.layers) == 4 and image.layers[0].digest.startswith("sha256:")
    # deleted files are still offered to scanners: they ship in their layer
    assert (2, "data/gone.txt") in seen and (2, "cache/a") in seen


def test_whiteout_of_a_directory_removes_its_children(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("srv/tree/a", "a").file("srv/tree/b/c", "c")
    image.layer().delete("srv/tree")
    view = read_tarball(image.write(tmp_path / "i.tar"))
    assert [e.path for e in view.list("srv/*")] == []
    assert view.stat("srv/tree/b/c") is None


def test_content_size_counts_deleted_content(tmp_path: Path) -> None:
    image = ImageBuilder.clean()
    image.layer().file("big", b"x" * 100_000)
    image.layer().delete("big")
    view = read_tarball(image.write(tmp_path / "i.tar"))
    assert view.content_size >= 100_000


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def one_line(exc: pytest.ExceptionInfo[ImageError]) -> str:
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "image.tar"
    path.write_text("hello, I am not a tarball\n" * 100)
    with pytest.raises(ImageError) as info:
        read_tarball(path)
    assert one_line(info) == f"{path}: not a tar archive"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        read_tarball(tmp_path / "nope.tar")
    assert "no such image tarball" in one_line(info)


@pytest.mark.parametrize(("fmt", "member"), [("docker", 0), ("docker", 1), ("docker", -1),
                                              ("oci", 0), ("oci", -1)])
def test_truncated_tar(tmp_path: Path, fmt: str, member: int) -> None:
    """Cut the archive in the middle of a member's data (a layer, the config, the index)."""
    path = ImageBuilder.clean().write(tmp_path / "image.tar", fmt=fmt)
    with tarfile.open(path) as tar:
        victim = tar.getmembers()[member]
    data = path.read_bytes()
    path.write_bytes(data[: victim.offset_data + victim.size // 2])
    with pytest.raises(ImageError) as info:
        read_tarball(path)
    assert str(path) in one_line(info)


_CONFIG = b'{"config": {}}'
_CONFIG_NAME = hashlib.sha256(_CONFIG).hexdigest() + ".json"


def _manifest(config: str, layers: list[str]) -> bytes:
    return json.dumps([{"Config": config, "Layers": layers}]).encode()


@pytest.mark.parametrize(("members", "expected"), [
    ({"manifest.json": _manifest("abc.json", [])},
     "config abc.json is referenced but missing from the tarball"),
    ({_CONFIG_NAME: _CONFIG, "manifest.json": _manifest(_CONFIG_NAME, ["l/layer.tar"])},
     "layer l/layer.tar is referenced but missing from the tarball"),
    ({"hello.txt": b"hi"}, "neither an OCI layout"),
    ({"0" * 64 + ".json": _CONFIG, "manifest.json": _manifest("0" * 64 + ".json", [])},
     "does not match its digest"),
    ({"manifest.json": b"{not json"}, "manifest manifest.json is not valid JSON"),
], ids=["missing-config", "missing-layer", "no-manifest", "config-digest", "bad-manifest"])
def test_broken_archive_is_one_line_naming_it(tmp_path: Path, members: dict[str, bytes],
                                              expected: str) -> None:
    path = _tar(tmp_path / "image.tar", members)
    with pytest.raises(ImageError) as info:
        read_tarball(path)
    assert one_line(info).startswith(f"{path}: ")
    assert expected in one_line(info)


_SAMPLE = layered()


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["docker", "oci"]), compress=st.booleans(),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                      max_size=4),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_tarballs_raise_image_error_only(tmp_path: Path, fmt: str, compress: bool,
                                                 flips: list[tuple[float, int]],
                                                 cut: float | None) -> None:
    """Any damage to a tarball is either harmless or one ImageError line, never a traceback."""
    path = _SAMPLE.write(tmp_path / "image.tar", fmt=fmt, compress=compress and fmt == "oci")
    data = bytearray(path.read_bytes())
    for where, xor in flips:
        data[int(where * len(data))] ^= xor
    if cut is not None:
        data = data[: int(cut * len(data))]
    path.write_bytes(bytes(data))
    try:
        read_tarball(path, on_file=lambda layer, name, content: None)
    except ImageError as exc:
        assert "\n" not in str(exc)


def test_gzipped_save_with_symlinked_layers(tmp_path: Path) -> None:
    """Older `docker save` stores repeated layers as symlinks; gzipped, no member has a plain
    offset, so every lookup must follow the links the same way."""
    plain = layered().write(tmp_path / "plain.tar", fmt="docker")
    with tarfile.open(plain) as src:
        members = {m.name: src.extractfile(m).read() for m in src.getmembers() if m.isfile()}
    layers = json.loads(members["manifest.json"])[0]["Layers"]
    out = tmp_path / "image.tar.gz"
    with tarfile.open(out, "w:gz") as dst:
        for name, data in members.items():
            blob = f"blobs/{name.replace('/', '-')}" if name in layers else name
            info = tarfile.TarInfo(blob)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
            if name in layers:
                link = tarfile.TarInfo(name)
                link.type, link.linkname = tarfile.SYMTYPE, "../" + blob
                dst.addfile(link)
    image = read_tarball(out)
    assert {e.path for e in image.list()} == {e.path for e in read_tarball(plain).list()}
    assert image.read("etc/passwd") == read_tarball(plain).read("etc/passwd")
