"""`pipeline init`: a starting contract read from a repository (no engine needed)."""

from pipeline.scaffold.scan import RepositoryGuess, scan_repository
from pipeline.scaffold.write import render

__all__ = ["RepositoryGuess", "render", "scan_repository"]
