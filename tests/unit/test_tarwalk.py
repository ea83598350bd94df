"""The C header walk (pipeline/image/_tarwalk.c) against the Python one it stands in for:
on any stream, tarfile's archives and their damaged copies alike, both give the same
members, the same data and the same error, whatever the chunk size."""

from __future__ import annotations

import io
import tarfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.image import tarstream
from pipeline.image.tarstream import TarStream
from tests.conftest import missing


@pytest.fixture(autouse=True)
def _built() -> None:
    if tarstream._walk is None:
        missing("pipeline.image._tarwalk", "not built (a C compiler and Python's headers are "
                "needed when the package is installed; scripts/test installs it)")


def outcome(data: bytes, *, chunk: int, known_size: bool, walk: bool) -> tuple:
    """Every member (its fields' types and its hash too, and where the stream stands) with
    the data of its files, then how the stream ended."""
    stream = TarStream(io.BytesIO(data), len(data) if known_size else None)
    stream.CHUNK = chunk
    seen: list[tuple] = []
    try:
        for member in stream._members(tarstream._walk if walk else None):
            body = stream.read(member) if member.size and len(seen) % 3 != 2 else None
            seen.append((member, type(member), tuple(map(type, member)), hash(member),
                         stream.position, body))
    except tarstream.TarFormatError as exc:
        return seen, f"TarFormatError: {exc}"
    return seen, "end"


def same(data: bytes, chunk: int, known_size: bool) -> None:
    python = outcome(data, chunk=chunk, known_size=known_size, walk=False)
    c = outcome(data, chunk=chunk, known_size=known_size, walk=True)
    assert c == python


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                min_size=1, max_size=120)
kinds = st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                         tarfile.LNKTYPE, tarfile.CONTTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE])
entry = st.tuples(names, kinds, st.integers(0, 0o7777), st.integers(0, 2**21 - 1),
                  st.integers(0, 3000), names)


def archive(entries: list[tuple], fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, kind, mode, uid, size, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, uid, uid // 3
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = link
            data = bytes(range(256)) * (size // 256 + 1) if kind in tarfile.REGULAR_TYPES \
                else b""
            info.size = size if data else 0
            tar.addfile(info, io.BytesIO(data[:size]) if data else None)
    return out.getvalue()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry, max_size=25),
       st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
       st.sampled_from([512, 1024, 4096, 256 * 1024]), st.booleans())
def test_the_same_members_as_the_python_walk(entries, fmt, chunk, known_size):
    try:
        data = archive(entries, fmt)
    except ValueError:           # a name or number the format cannot hold (ustar)
        return
    same(data, chunk, known_size)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry, min_size=1, max_size=8),
       st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1,
                max_size=6),
       st.sampled_from([512, 2048, 256 * 1024]), st.booleans(), st.integers(0, 12_000))
def test_the_same_members_and_errors_on_damaged_streams(entries, fmt, edits, chunk,
                                                         known_size, cut):
    try:
        data = bytearray(archive(entries, fmt))
    except ValueError:
        return
    for where, value in edits:        # anywhere, headers and their number fields included
        data[where % len(data)] = value
    same(bytes(data[:max(cut, 1)]), chunk, known_size)


def header(**fields: bytes) -> bytes:
    """One header of `fields` (raw bytes, cut to their width) over defaults, with a good
    checksum unless `chksum` is given."""
    block = bytearray(512)
    layout = {"name": (0, 100), "mode": (100, 8), "uid": (108, 8), "gid": (116, 8),
              "size": (124, 12), "kind": (156, 1), "link": (157, 100), "magic": (257, 8),
              "prefix": (345, 155)}
    values = {"name": b"a", "mode": b"0000644\0", "uid": b"0000000\0", "gid": b"0000000\0",
              "size": b"00000000000\0", "kind": b"0", "magic": b"ustar\x0000", **fields}
    for key, value in values.items():
        if key == "chksum":
            continue
        start, width = layout[key]
        block[start:start + len(value[:width])] = value[:width]
    block[148:156] = b" " * 8
    block[148:156] = fields.get("chksum", b"%06o\0 " % sum(block))[:8].ljust(8, b"\0")
    return bytes(block)


# Number fields as writers write them and as they should not: every one is either read by
# the C walk exactly as Python reads it, or left to Python.
number_bytes = st.lists(st.sampled_from(b" \0\t\n01234567_+-o8x\x80\xff"), max_size=12).map(bytes)


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={
    "size": number_bytes, "mode": number_bytes, "uid": number_bytes, "gid": number_bytes,
    "name": st.binary(max_size=100), "link": st.binary(max_size=100),
    "prefix": st.binary(max_size=155),
    "kind": st.sampled_from([b"0", b"\0", b"1", b"2", b"5", b"7", b"x", b"g", b"L", b"S", b"Z"]),
    "magic": st.sampled_from([b"ustar\x0000", b"ustar  \0", b"\0" * 8]),
    "chksum": st.one_of(st.none(), number_bytes)}),
    st.sampled_from([512, 2048, 256 * 1024]), st.booleans())
def test_header_fields_of_every_shape_read_as_python_reads_them(fields, chunk, known_size):
    fields = {k: v for k, v in fields.items() if v is not None}
    data = header(**fields) + bytes(range(256)) * 4 + header(name=b"next") + bytes(1024)
    same(data, chunk, known_size)


def test_a_stale_build_is_not_used(monkeypatch):
    from pipeline.image import _tarwalk

    assert tarstream._c_walk() is _tarwalk.walk
    monkeypatch.setattr(_tarwalk, "SOURCE_SHA256", "0" * 64)   # built from another source
    assert tarstream._c_walk() is None


def test_a_member_past_any_real_size_is_refused_as_a_tar_error():
    # Base-256: 2**70 bytes, on a stream of unknown length (a compressed layer's).
    data = header(size=b"\x80" + (1 << 70).to_bytes(11, "big")) + bytes(1024)
    for walk in (True, False):
        _, end = outcome(data, chunk=512, known_size=False, walk=walk)
        assert end.startswith("TarFormatError: a: member size 1180591620717411303424")


# Fields the C walk must leave to Python, each read by Python as it always was.


@pytest.mark.parametrize("fields", [
    {"size": b" 0000000012 "}, {"size": b"00000000012\t"}, {"size": b"0_0000000012"},
    {"size": b"+0000000012\0"}, {"size": b"\x80" + bytes(10) + b"\x0c"}, {"size": bytes(12)},
    {"mode": b"0o00644\0"}, {"mode": b"0100755\0"}, {"uid": b"   12  \0"},
    {"gid": b"7777777\0"},
    {"kind": b"5", "name": b"dir///"}, {"kind": b"5", "name": b"///"},
    {"prefix": b"usr/lib", "name": b"x.py"}, {"prefix": b"usr", "magic": b"ustar  \0"},
    {"name": b"\xff\xfe bad utf-8"}, {"link": b"target", "kind": b"2"}, {"kind": b"\0"},
    {"kind": b"S"}, {"kind": b"x"},
])
def test_edge_fields_read_as_python_reads_them(fields):
    body = header(**fields)
    size = 12 if b"12" in fields.get("size", b"") or fields.get("size", b"")[-1:] == b"\x0c" else 0
    data = body + bytes(range(size)) + bytes(-size % 512) + header(name=b"next") + bytes(1024)
    for chunk in (512, 256 * 1024):
        same(data, chunk, True)
        same(data, chunk, False)
