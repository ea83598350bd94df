"""The directory a run validates, resolved once: as Dagger sees it, and where its files are local.

Client mode (`python -m pipeline`) has the directory on this machine: `root` is the
directory itself. Module mode (`dagger call`) has only a `dagger.Directory`: `root` is
a local mirror of the few small files the domain reads (the contract and its
overlays, each service's Dockerfile and .dockerignore), filled when the contract is
loaded, so rules never talk to Dagger. A plan (nothing runs) may have no Dagger
directory at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import dagger

from pipeline.contract import Contract, load_contract
from pipeline.errors import ContractError, LaneError


@dataclass(frozen=True)
class Source:
    directory: dagger.Directory | None   # None: a plan in client mode (no engine, nothing runs)
    root: Path                           # local files: the directory itself, or its mirror
    # Module mode: the directory `root` mirrors (the same as `directory`), else None.
    mirror_of: dagger.Directory | None = None

    @property
    def mirrored(self) -> bool:
        return self.mirror_of is not None

    @classmethod
    def local(cls, root: Path, directory: dagger.Directory | None = None) -> Source:
        """Client mode: the files are read where they are."""
        return cls(directory, root)

    @classmethod
    def mirror(cls, directory: dagger.Directory, scratch: Path) -> Source:
        """Module mode: the files the domain reads are copied under `scratch` on load."""
        return cls(directory, scratch / "source", mirror_of=directory)

    @classmethod
    def resolve(cls, directory: dagger.Directory | None, *, local_root: Path | None,
                scratch: Path) -> Source:
        """Client mode when the directory is on this machine (`local_root`), else a mirror
        under `scratch` of the Dagger directory; once per run, by the entry points."""
        if local_root is not None:
            return cls.local(local_root, directory)
        if directory is None:
            raise LaneError("a run needs a source directory or a local root")
        return cls.mirror(directory, scratch)

    def at(self, path: str) -> dagger.Directory:
        """A subdirectory as the engine sees it (a build context, a runner's tests)."""
        if self.directory is None:
            raise LaneError("this run has no source directory in the engine (a plan runs no lane)")
        return self.directory.directory(path)

    async def load_contract(self, contract: str, overlays: tuple[str, ...] = ()
                            ) -> tuple[Contract, str]:
        """The contract (overlays merged) and the sha256 of its files; errors name the files
        as the user knows them, not the mirror."""
        names = (contract, *overlays)
        for name in names:
            await self._copy(name)
        digest = hashlib.sha256()
        for name in names:
            path = self.root / name
            digest.update(path.read_bytes() if path.is_file() else b"")
        try:
            loaded = load_contract(self.root / contract, [self.root / o for o in overlays])
        except ContractError as exc:
            if self.mirrored:
                exc.message = exc.message.replace(f"{self.root}/", "")
                exc.args = (exc.message,)
            raise
        for spec in loaded.services.values():
            await self._copy(f"{spec.context}/{spec.dockerfile}")
            await self._copy(f"{spec.context}/.dockerignore", optional=True)
        return loaded, digest.hexdigest()

    async def _copy(self, path: str, *, optional: bool = False) -> None:
        """Mirror one file of the Dagger directory (nothing to do in client mode)."""
        origin = self.mirror_of
        if origin is None or optional and not await origin.exists(path):
            return
        try:
            await origin.file(path).export(str(self.root / path))
        except dagger.QueryError:
            raise ContractError("no such file in the source directory", path=path) from None
