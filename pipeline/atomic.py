"""Atomic writes: a reader sees the old file (or directory) or the new one, never half of one."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    Raises OSError; a failed write leaves neither a partial `path` nor the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_directory(target: Path, write: Callable[[Path], T], *,
                      keep: Callable[[str], bool] = lambda name: False) -> T:
    """Build a new `target` directory with `write(staging)`, then swap it in whole.

    `write` fills a temporary directory beside `target`; entries of the old
    `target` for which `keep(name)` holds are carried over first (hard-linked
    where possible), so a command replaces its own set of files and leaves the
    rest. The swap is one atomic exchange where the kernel has it (Linux
    renameat2), else two renames. If `write` or the swap fails, the staging
    directory is removed and the previous `target` is untouched. Raises OSError
    (and whatever `write` raises).
    """
    target = Path(os.path.abspath(target))
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(target))
    cwd = Path.cwd()
    if target == cwd or target in cwd.parents:
        raise IsADirectoryError(errno.EBUSY, "is the current directory or holds it; "
                                "name a directory of its own", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; these outputs are for readers
        if target.is_dir():
            for entry in target.iterdir():
                if keep(entry.name):
                    _carry(entry, staging / entry.name)
        result = write(staging)
        if target.is_dir():
            _exchange(staging, target)      # staging now holds the old directory
        else:
            os.rename(staging, target)
            return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return result


def _carry(source: Path, dest: Path) -> None:
    if source.is_symlink() or not source.is_dir():
        try:
            os.link(source, dest, follow_symlinks=False)
        except OSError:
            shutil.copy2(source, dest, follow_symlinks=False)
        return
    shutil.copytree(source, dest, symlinks=True, copy_function=_link_or_copy)


def _link_or_copy(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(new: Path, old: Path) -> None:
    """Swap two directories: atomically with renameat2(RENAME_EXCHANGE), else by two renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old),
                     _RENAME_EXCHANGE) == 0:
            return
        if ctypes.get_errno() not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(old))
    retired = old.with_name(f".{old.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(old, retired)
    try:
        os.rename(new, old)
    except OSError:
        os.rename(retired, old)
        raise
    os.rename(retired, new)
