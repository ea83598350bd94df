"""A forward-only reader of tar streams: headers and, on request, file data.

Why not `tarfile`: its per-header cost (~25 µs) dominates a 20,000-file image,
and it reads pax and GNU long-name headers whole whatever size they declare
(a 9 MB gzipped tarball can declare a 4 GB header). This reads the POSIX ustar
header (POSIX.1-2001 `pax` interchange format, which also defines the `x`/`g`
extended headers) plus GNU long names (`L`/`K`) and base-256 numbers, which is
what image builders write, with every size checked before anything is read:
extended headers are capped, negative sizes refused, and a member that runs
past the end of a stream of known length is refused before it is skipped.
GNU sparse members are refused with a clear error.

Runs of plain ustar headers go through `_tarwalk` (C) where it is built; it takes
only headers it reads exactly as this file does, and leaves every other header, and
every error, to the Python walk (tests/unit/test_tarwalk.py compares the two).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import IO, NamedTuple

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
USTAR = b"ustar\x0000"
# Real pax headers hold a path, a link target, times and a few xattrs: kilobytes.
MAX_PAX_HEADER = 1024 * 1024
# Linux paths stop at PATH_MAX (4096); a GNU long name far beyond that is hostile.
MAX_LONG_NAME = 64 * 1024
# name, mode, uid, gid, size, (mtime), chksum, typeflag, linkname, magic+version,
# (uname, gname, devmajor, devminor), prefix: the whole 512-byte ustar header in one call.
_HEADER = struct.Struct("100s8s8s8s12s12x8sc100s8s80x155s12x")
_FILE_TYPES = (b"0", b"\0", b"7")
_ADLER_MOD = 65521

# Far past any real member (and past what the file object's seek and read can take).
MAX_MEMBER = 1 << 60


def _c_walk() -> Callable[..., tuple[list[Member], int]] | None:
    """The plain headers of a chunk in one C call (pipeline/image/_tarwalk.c, built when
    the package is installed where a C compiler is): the same members, no Python per
    header. None where it is not built (the module runtime), or built from another
    source than the one beside it (a checkout changed it since): this file's walk alone."""
    try:
        from pipeline.image import _tarwalk
    except ImportError:
        return None
    try:
        with open(os.path.join(os.path.dirname(__file__), "_tarwalk.c"), "rb") as source:
            current = hashlib.sha256(source.read()).hexdigest()
    except OSError:
        return None
    return _tarwalk.walk if _tarwalk.SOURCE_SHA256 == current else None


class TarFormatError(ValueError):
    """The stream is not a well-formed tar: bad checksum, truncated data, unsupported member."""


class Member(NamedTuple):
    """One member's header, as read (a tuple: one is made per member)."""

    name: str
    type: bytes          # the typeflag: b"0" file, b"1" hard link, b"2" symlink, b"5" dir...
    mode: int
    uid: int
    gid: int
    size: int
    linkname: str
    offset: int = 0      # where the data starts in the stream


def _number(field: bytes) -> int:
    try:
        # The common case, "0000644\0" or "00000001750 ": one C call. int() strips spaces.
        return int(field.rstrip(b"\0"), 8)
    except ValueError:
        pass
    if field[:1] and field[0] & 0x80:               # GNU base-256 for large values
        value = field[0] & 0x3F
        for byte in field[1:]:
            value = (value << 8) | byte
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip()
    return int(text, 8) if text else 0


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax(data: bytes) -> dict[str, str]:
    """Parse pax extended header records: "<len> <key>=<value>\\n"."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 24)
        if space == -1:
            if data[pos:].strip(b"\0") == b"":
                break
            raise TarFormatError("malformed pax record")
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarFormatError("malformed pax record length") from None
        if length <= space - pos or pos + length > len(data):
            raise TarFormatError("malformed pax record")
        record = data[space + 1: pos + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8",
                                                                       "surrogateescape")
        pos += length
    return records


def _pax_int(extra: dict[str, str], key: str, default: int) -> int:
    if key not in extra:
        return default
    text = extra[key]
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise TarFormatError(f"pax {key} {text[:40]!r} is not a non-negative integer")
    return int(text)


def _checksum_ok(block: memoryview, stored: bytes) -> bool:
    try:
        # "0012345\0 " (Python's tarfile, GNU tar) or "0012345\0" / "012345 \0" (others).
        expected = int(stored.strip(b" \0"), 8)
    except ValueError:
        try:
            expected = _number(stored)
        except ValueError:
            return False
    # The checksum is the byte sum with its own field read as eight spaces. Adler-32's low
    # half is the byte sum + 1 (mod 65521), computed in C over the block in place: minus
    # the field's own bytes (at most 8 x 255, no wrap), plus eight spaces.
    total = (zlib.adler32(block) & 0xFFFF) - (zlib.adler32(stored) & 0xFFFF) + 1 + 256
    return (expected + 1) % _ADLER_MOD == total % _ADLER_MOD


class TarStream:
    """Iterate a tar stream's members; `read(member)` returns the current member's data.

    The stream is read in chunks of `CHUNK` bytes, and headers and small members are
    taken from the chunk in place: one read call for many members, not two each. Data
    between the members the caller reads is skipped by seeking where the stream can.
    """

    CHUNK = 256 * 1024

    def __init__(self, fileobj: IO[bytes], size: int | None = None) -> None:
        self._f = fileobj
        self._size = size          # the stream's length, when known: catches cuts in skipped data
        try:
            start = fileobj.tell()
        except (OSError, ValueError):       # a pipe-like stream: count from here
            start = 0
        self._buf = b""            # bytes of the stream from self._base on
        self._base = start
        self._end = start          # where the file object stands: self._base + len(self._buf)
        self._pos = start          # where the next header starts
        self._unread = 0           # bytes of the current member's data still readable by read()
        self._data = 0             # where the current member's data starts

    @property
    def position(self) -> int:
        return self._pos

    def _seek_to(self, target: int) -> None:
        """Move the file object forward to `target` (past data nobody reads)."""
        if self._size is not None and target > self._size:
            raise TarFormatError("unexpected end of data")
        try:
            # File-like seeks stop at the end (gzip, the tarball window): compare.
            reached = self._f.seek(target - self._end, 1)
        except (OSError, ValueError):
            reached = self._end
            while reached < target:
                chunk = self._f.read(min(target - reached, 1 << 20))
                if not chunk:
                    break
                reached += len(chunk)
        if reached != target:
            raise TarFormatError("unexpected end of data")
        self._end = target

    def _at(self, where: int, count: int) -> int:
        """Make the buffer hold `count` bytes from stream offset `where` (fewer at the end of
        the stream); their offset in the buffer."""
        offset = where - self._base
        if offset >= 0 and offset + count <= len(self._buf):
            return offset
        if where >= self._end:
            if where > self._end:
                self._seek_to(where)
            kept = b""
        else:
            kept = self._buf[offset:]
        want = max(count - len(kept), self.CHUNK)
        parts = [kept] if kept else []
        got = len(kept)
        while got < count or not parts:
            more = self._f.read(want)
            if not more:
                break
            parts.append(more)
            got += len(more)
            want = count - got
            if want <= 0:
                break
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self._base = where
        self._end = where + len(self._buf)
        return 0

    def read(self, member: Member) -> bytes:
        """The data of the member just yielded (call before advancing)."""
        if self._unread != member.size:
            raise TarFormatError(f"{member.name}: data already consumed")
        self._unread = 0
        size, offset = member.size, self._data - self._base
        if offset + size <= len(self._buf):
            return self._buf[offset:offset + size]
        # Runs past the chunk: its start from the chunk, the rest straight from the stream
        # (the next header then starts a new chunk), never the chunk copied again.
        if self._data >= self._end:
            if self._data > self._end:
                self._seek_to(self._data)
            parts = []
        else:
            parts = [self._buf[offset:]]
        got = len(parts[0]) if parts else 0
        while got < size:
            more = self._f.read(size - got)
            if not more:
                raise TarFormatError("unexpected end of data")
            parts.append(more)
            got += len(more)
        self._buf, self._base = b"", self._data + size
        self._end = self._base
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _extended(self, size: int, limit: int, what: str) -> bytes:
        if size > limit:
            raise TarFormatError(f"{what} header of {size} bytes exceeds the {limit} byte limit")
        padded = (size + BLOCK - 1) // BLOCK * BLOCK
        if self._size is not None and self._pos + size > self._size:
            raise TarFormatError(f"{what} header runs past the end of the data")
        offset = self._at(self._pos, padded)
        data = self._buf[offset:offset + size]
        self._pos += min(padded, len(self._buf) - offset)
        if len(data) < size:
            raise TarFormatError("unexpected end of data")
        return data

    def __iter__(self) -> Iterator[Member]:
        return self._members(_walk)

    def _members(self, walk: Callable[..., tuple[list[Member], int]] | None) -> Iterator[Member]:
        """The members; `walk` takes the runs of plain headers it can (None: Python alone)."""
        size_limit = -1 if self._size is None else self._size
        pax_global: dict[str, str] = {}
        pax: dict[str, str] = {}
        long_name = long_link = None
        unpack, new_member, adler32 = _HEADER.unpack_from, tuple.__new__, zlib.adler32
        view, viewed = memoryview(b""), b""
        while True:
            self._unread = 0
            offset = self._pos - self._base
            buf = self._buf
            if offset < 0 or offset + BLOCK > len(buf):
                offset = self._at(self._pos, BLOCK)
                buf = self._buf
            if buf is not viewed:            # a new chunk
                view, viewed = memoryview(buf), buf
            available = len(buf) - offset
            # End of archive: zero blocks, or (some layer writers omit them) the end of
            # the stream at a header boundary.
            if available <= 0:
                return
            if available < BLOCK:
                raise TarFormatError("unexpected end of data")
            if walk is not None and not pax and not pax_global and long_name is None \
                    and long_link is None:
                members, stop = walk(buf, offset, self._base, size_limit, Member)
                if members:
                    # Each member's data lies in `buf`, the last one's at least from its
                    # start: `read` works as for a member of the walk below.
                    last = len(members) - 1
                    for i, member in enumerate(members):
                        self._data, self._unread = member.offset, member.size
                        self._pos = members[i + 1].offset - BLOCK if i < last else stop
                        yield member
                    continue
                # Not a plain header: this walk takes it, and says what is wrong with it.
            self._pos += BLOCK
            if buf[offset] == 0 and buf.count(0, offset, offset + BLOCK) == BLOCK:
                return
            (raw_name, raw_mode, raw_uid, raw_gid, raw_size, raw_sum, kind, raw_link, magic,
             prefix) = unpack(buf, offset)
            try:     # _checksum_ok's common case, inline: it runs for every header
                good = (int(raw_sum.strip(b" \0"), 8) + 1) % _ADLER_MOD == (
                    (adler32(view[offset:offset + BLOCK]) & 0xFFFF)
                    - (adler32(raw_sum) & 0xFFFF) + 257) % _ADLER_MOD
            except ValueError:
                good = _checksum_ok(view[offset:offset + BLOCK], raw_sum)
            if not good:
                raise TarFormatError("bad header checksum")
            try:
                size = int(raw_size.rstrip(b"\0"), 8)    # the common case, one C call
            except ValueError:
                try:
                    size = _number(raw_size)
                except ValueError:
                    raise TarFormatError("malformed size field") from None
            if size < 0:
                raise TarFormatError(f"negative member size {size}")
            if kind in (b"x", b"g", b"L", b"K"):
                if kind == b"x":
                    pax = _pax(self._extended(size, MAX_PAX_HEADER, "pax"))
                elif kind == b"g":
                    pax_global.update(_pax(self._extended(size, MAX_PAX_HEADER, "pax")))
                    if len(pax_global) > 1024:
                        raise TarFormatError("too many global pax records")
                elif kind == b"L":
                    long_name = _text(self._extended(size, MAX_LONG_NAME, "GNU long name"))
                else:
                    long_link = _text(self._extended(size, MAX_LONG_NAME, "GNU long link"))
                continue
            if kind == b"S":
                raise TarFormatError("GNU sparse members are not supported")
            name = raw_name.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if magic == USTAR and prefix[0] != 0:
                name = f"{_text(prefix)}/{name}"
            link = _text(raw_link) if raw_link[0] else ""
            extra = {**pax_global, **pax} if pax_global else pax
            if extra:
                name = extra.get("path", long_name or name)
                linkname = extra.get("linkpath", long_link or link)
                size = _pax_int(extra, "size", size)
            else:
                name = long_name or name
                linkname = long_link or link
            if kind == b"5":
                name = name.rstrip("/") or name
            try:
                try:
                    mode = int(raw_mode.rstrip(b"\0"), 8) & 0o7777
                    uid = int(raw_uid.rstrip(b"\0"), 8)
                    gid = int(raw_gid.rstrip(b"\0"), 8)
                except ValueError:
                    mode, uid, gid = (_number(raw_mode) & 0o7777, _number(raw_uid),
                                      _number(raw_gid))
                if extra:
                    uid, gid = _pax_int(extra, "uid", uid), _pax_int(extra, "gid", gid)
            except ValueError:
                raise TarFormatError(f"{name[:200]}: malformed header field") from None
            if size > MAX_MEMBER:
                raise TarFormatError(f"{name[:200]}: member size {size} is past any real file")
            padded = (size + BLOCK - 1) // BLOCK * BLOCK
            # Refuse a member that says it holds more than the stream has, before skipping.
            if self._size is not None and self._pos + size > self._size:
                raise TarFormatError(f"{name[:200]}: member of {size} bytes runs past the end "
                                     "of the data")
            member = new_member(Member, (name, kind or b"0", mode, uid, gid,
                                         size if kind in _FILE_TYPES else 0, linkname, self._pos))
            # Only regular files carry data; other types may still declare a size to skip.
            self._data, self._unread = self._pos, member.size
            self._pos += padded
            pax, long_name, long_link = {}, None, None
            yield member


_walk = _c_walk()
