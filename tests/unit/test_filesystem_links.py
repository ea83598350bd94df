"""The filesystem's path tree: stopping at a linked directory counts what walking every
parent up to the root counted (node and byte limits depend on it), whiteouts included."""

from __future__ import annotations

import random

import pytest

from pipeline.image.filesystem import Filesystem
from pipeline.image.model import FileEntry, Kind


class WalkToRoot(Filesystem):
    """The reference: every link walks up until a parent already holds the path."""

    def _link(self, path: str) -> None:
        while path:
            parent = path.rpartition("/")[0]
            kids = self._children.get(parent)
            if kids is None:
                self._children[parent] = {path}
            elif path in kids:
                return
            else:
                kids.add(path)
            self._nodes += 1
            self._bytes += len(path)
            path = parent


@pytest.mark.parametrize("seed", range(5))
def test_linking_stops_where_walking_up_would(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        ours, reference = Filesystem(), WalkToRoot()
        for step in range(rng.randint(1, 40)):
            path = "/".join(rng.choice("abcd") for _ in range(rng.randint(1, 4)))
            action = rng.random()
            if action < 0.6:
                entry = FileEntry(path, rng.choice([Kind.FILE, Kind.DIR]), 0o644, 1, 0, 0, step)
                assert sorted(ours.add(entry)) == sorted(reference.add(entry))
            elif action < 0.85:
                assert sorted(ours.whiteout(path)) == sorted(reference.whiteout(path))
            else:
                assert sorted(ours.opaque(path)) == sorted(reference.opaque(path))
            assert (ours.nodes, ours.path_bytes) == (reference.nodes, reference.path_bytes)
            assert sorted(e.path for e in ours) == sorted(e.path for e in reference)
