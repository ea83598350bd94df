"""Bringing report files out of containers."""

from __future__ import annotations

from pathlib import Path

import dagger


async def collect_junit(container: dagger.Container, path: str, dest: Path) -> tuple[Path, ...]:
    """Export the *.xml files under `path` in `container` to `dest`; none if the folder is absent."""
    directory = container.directory(path)
    try:
        names = await directory.glob("**/*.xml")
    except dagger.QueryError:
        return ()
    if not names:
        return ()
    await directory.export(str(dest))
    return tuple(sorted(dest / name for name in names))
