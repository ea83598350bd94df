"""Precision on real images: every finding on the corpus (tests/corpus) is one that was
reviewed as a true positive; a new finding, or a changed severity, fails here first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.corpus import BASES, BUILT, REVIEW, check, export, summary

pytestmark = [pytest.mark.engine, pytest.mark.slow]

T, F = True, False
# (rule id, severity, inherited?) of every finding, per corpus image.
EXPECTED: dict[str, list[tuple[str, str, bool]]] = {
    "busybox": [("multicall.binary", "low", F)],
    "debian-busybox": [("forbidden.package-managers", "medium", T), ("fs.setuid", "medium", T),
                       ("multicall.binary", "low", F)],
    "flask-app": [("forbidden.package-managers", "medium", T), ("fs.setuid", "medium", T)],
    "express-app": [("dockerignore.not-excluded", "medium", F)] * 2 + [
        ("forbidden.linters", "medium", T), ("forbidden.package-managers", "medium", T),
        ("fs.setuid", "medium", T)],
    "nginx-site": [("dockerignore.missing", "medium", F), ("forbidden.package-managers", "medium", T),
                   ("fs.setuid", "medium", T), ("user.root", "high", F)],
    "debian": [("forbidden.package-managers", "high", F)] + [("fs.setuid", "medium", F)] * 11 + [
        ("port.not-exposed", "high", F), ("user.root", "high", F)],
    "python": [("forbidden.package-managers", "high", F), ("forbidden.package-managers", "medium", T),
               ("fs.setuid", "medium", T), ("port.not-exposed", "high", F), ("user.root", "high", F)],
    "node": [("forbidden.linters", "high", F), ("forbidden.package-managers", "high", F),
             ("forbidden.package-managers", "medium", T), ("fs.setuid", "medium", T),
             ("port.not-exposed", "high", F), ("user.root", "high", F)],
    "nginx": [("forbidden.package-managers", "medium", T), ("fs.setuid", "medium", T),
              ("user.root", "high", F)],
    "postgres": [("forbidden.package-managers", "medium", T), ("fs.setuid", "medium", T),
                 ("secret.private-key", "critical", F), ("user.root", "high", F)],
}


@pytest.mark.parametrize("name", [*BUILT, *BASES])
async def test_corpus_findings_are_the_reviewed_ones(dag, tmp_path: Path, name: str) -> None:
    tarball = tmp_path / f"{name}.tar"
    checked = check(name, tarball, await export(name, tarball))
    got = summary(checked.findings)
    unreviewed = [key for key in {(name, r, i) for r, _, i in got} if key not in REVIEW]
    assert not unreviewed, f"review these findings first: {unreviewed}"
    assert got == sorted(EXPECTED[name]), "\n".join(f.message for f in checked.findings)
    if name not in ("debian", "busybox"):     # debian is the root; busybox is FROM scratch
        # Every other image is FROM a registry base: its findings are attributed.
        assert checked.base is not None

