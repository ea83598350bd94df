"""`python -m tests.corpus [NAME...]`: build and check the corpus, print the findings table."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import anyio

from pipeline.engine import connection
from tests.corpus import BASES, BUILT, check, export, table


async def main(names: list[str]) -> None:
    checked = []
    with tempfile.TemporaryDirectory() as tmp:
        async with connection():
            for name in names:
                tarball = Path(tmp) / f"{name}.tar"
                checked.append(check(name, tarball, await export(name, tarball)))
                tarball.unlink()
    sys.stdout.write(table(checked))


if __name__ == "__main__":
    anyio.run(main, sys.argv[1:] or [*BUILT, *BASES])
