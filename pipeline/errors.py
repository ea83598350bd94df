"""Errors raised by pipeline.

Hierarchy::

    PipelineError                 something pipeline cannot do; exit code 2 at the CLI
    ├── ContractError             the contract file is missing, malformed or invalid
    ├── ImageError                an image tarball or reference cannot be read
    ├── RegistryError             an OCI registry refused, timed out or answered nonsense
    │   ├── InvalidReference      an image reference is malformed, or a tag where a digest is required
    │   └── PromotionRefused      a promotion or rollback was refused (unvalidated, tampered...)
    ├── EngineError               the Dagger engine is not reachable or broke
    ├── LaneError                 a lane could not run (not: a gate said no)
    ├── GraphError                the lane graph is malformed (unknown need, cycle, duplicate)
    └── ReportError               run reports could not be written

"The outcome failed" (a gate found violations) is not an exception: it is a
value (findings, lane results) and exit code 1. These classes are for "something
broke" and bad input, and every message is one line naming the file, field or
reference at fault.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: something pipeline cannot do, reported as one line."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ContractError(PipelineError):
    """The contract file is missing, malformed or fails validation."""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None,
        field: str | None = None, hint: str | None = None,
    ) -> None:
        where = path or "contract"
        if line is not None:
            where = f"{where}:{line}"
        if field:
            where = f"{where}: {field}"
        super().__init__(f"{where}: {message}", hint=hint)
        self.path, self.line, self.field = path, line, field


class ImageError(PipelineError):
    """An image tarball or image reference cannot be read."""


class RegistryError(PipelineError):
    """An OCI registry refused a request, timed out or answered nonsense."""


class InvalidReference(RegistryError):
    """An image reference is malformed, or names a tag where a digest is required."""


class PromotionRefused(RegistryError):
    """A promotion or rollback was refused: the gate that guards stages said no."""

    exit_code = 1


class EngineError(PipelineError):
    """The Dagger engine is not reachable or failed underneath a lane."""


class LaneError(PipelineError):
    """A lane could not run at all (as opposed to running and failing its gate)."""


class GraphError(PipelineError):
    """The lane graph is malformed: an unknown need, a cycle, a duplicate or bad lane name."""


class ReportError(PipelineError):
    """The run's reports directory could not be written (nothing half-written is left)."""
