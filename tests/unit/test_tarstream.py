"""The forward-only layer tar reader against archives written by Python's tarfile."""

from __future__ import annotations

import io
import tarfile

import pytest

from pipeline.image.tarstream import TarFormatError, TarStream

LONG = "usr/lib/python3.11/site-packages/" + "deeply/" * 20 + "nested_module_name.py"


def archive(fmt: int, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def info(name: str, kind: bytes = tarfile.REGTYPE, **attrs: object) -> tarfile.TarInfo:
    item = tarfile.TarInfo(name)
    item.type = kind
    for key, value in attrs.items():
        setattr(item, key, value)
    return item


ENTRIES = [
    (info("etc", tarfile.DIRTYPE, mode=0o755), None),
    (info("etc/passwd", mode=0o644), b"root:x:0:0::/root:/bin/sh\n"),
    (info(LONG, mode=0o600, uid=10001, gid=10001), b"x" * 1000),
    (info("usr/bin/su", mode=0o4755), b"\x7fELF"),
    (info("usr/bin/python", tarfile.SYMTYPE, linkname="python3." + "1" * 120), None),
    (info("usr/bin/python3", tarfile.LNKTYPE, linkname="usr/bin/su"), None),
    (info("big-uid", uid=2**22, gid=5), b""),
    (info("ünïcode/файл.txt"), b"utf-8 names"),
]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_matches_tarfile(fmt: int) -> None:
    entries = ENTRIES if fmt != tarfile.USTAR_FORMAT else \
        [e for e in ENTRIES if len(e[0].linkname) < 100 and e[0].uid < 2**21]
    data = archive(fmt, entries)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [(m.name, m.mode, m.uid, m.gid, m.size, m.linkname) for m in tar]
    stream = TarStream(io.BytesIO(data))
    seen, contents = [], {}
    for member in stream:
        seen.append((member.name, member.mode, member.uid, member.gid, member.size,
                     member.linkname))
        if member.name.endswith(".txt") or member.name == "etc/passwd":
            contents[member.name] = stream.read(member)
    assert seen == expected
    assert contents["etc/passwd"].startswith(b"root:")
    assert contents["ünïcode/файл.txt"] == b"utf-8 names"


def test_types() -> None:
    data = archive(tarfile.PAX_FORMAT, ENTRIES)
    kinds = {m.name: m.type for m in TarStream(io.BytesIO(data))}
    assert kinds["etc"] == b"5" and kinds["usr/bin/python"] == b"2"
    assert kinds["usr/bin/python3"] == b"1" and kinds["etc/passwd"] == b"0"


def test_truncated_data() -> None:
    data = archive(tarfile.PAX_FORMAT, ENTRIES)
    stream = TarStream(io.BytesIO(data[:1500]), size=1500)
    with pytest.raises(TarFormatError):
        for member in stream:
            if member.size:
                stream.read(member)


def test_cut_in_skipped_data_without_known_size() -> None:
    """A file object that stops short of a seek (like GzipFile) reveals the cut."""
    data = archive(tarfile.PAX_FORMAT, ENTRIES)

    class Short(io.BytesIO):
        def seek(self, offset: int, whence: int = 0) -> int:
            return super().seek(min(self.tell() + offset if whence == 1 else offset,
                                    len(self.getbuffer())))

    with pytest.raises(TarFormatError):
        list(TarStream(Short(data[:2000])))


def test_missing_end_of_archive_blocks_is_a_clean_end() -> None:
    """Some layer writers omit the two zero blocks: a stream ending at a header boundary."""
    data = archive(tarfile.USTAR_FORMAT, ENTRIES[:2])
    end = 512 + 512 + 512          # dir header, file header, file data block
    assert [m.name for m in TarStream(io.BytesIO(data[:end]), size=end)] == ["etc",
                                                                                "etc/passwd"]


def test_bad_checksum() -> None:
    data = bytearray(archive(tarfile.USTAR_FORMAT, ENTRIES[:2]))
    data[10] ^= 0xFF
    with pytest.raises(TarFormatError, match="checksum"):
        list(TarStream(io.BytesIO(bytes(data))))


def test_not_a_tar() -> None:
    with pytest.raises(TarFormatError):
        list(TarStream(io.BytesIO(b"PK\x03\x04" + b"zip data" * 100)))
