"""Errors raised by pipeline.

Hierarchy::

    PipelineError                 something pipeline cannot do; exit code 2 at the CLI
    ├── ContractError             the contract file is missing, malformed or invalid
    ├── ImageError                an image tarball or reference cannot be read
    ├── RegistryError             an OCI registry refused, timed out or answered nonsense
    │   ├── InvalidReference      an image reference is malformed, or a tag where a digest is required
    │   │   └── InvalidStageName  a stage name that cannot be a stage tag (stage-<name>)
    │   ├── RegistryUnreachable   no connection (refused, DNS, TLS), after retries
    │   ├── RegistryTimeout       the command's deadline passed (--deadline, $PIPELINE_REGISTRY_DEADLINE)
    │   ├── RegistryRefused       an HTTP error status (401, 403, 404 where content must exist, 5xx)
    │   ├── RegistryProtocolError redirect or pagination loop, oversized or malformed HTTP answer
    │   ├── RegistryBadResponse   an answer that is not the JSON or the digest it must be
    │   └── PromotionRefused      a promotion or rollback was refused (unvalidated, tampered...); exit 1
    │       └── StageEmpty        the stage holds nothing yet: nothing to roll back, render or verify
    ├── SigningKeyError           a signing or verification key is missing or not an Ed25519 PEM key
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

from pipeline.textsafe import printable


class PipelineError(Exception):
    """Base class: something pipeline cannot do, reported as one line.

    The message may quote what a user, an image or a registry supplied: it is
    made `printable` (one line, control characters escaped, secrets masked).
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = printable(message)
        super().__init__(message)
        self.message = message
        self.hint = printable(hint) if hint else hint

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


class InvalidStageName(InvalidReference):
    """A stage name that cannot be a stage tag: lowercase letters, digits and '-' only."""


class RegistryUnreachable(RegistryError):
    """No connection to the registry (refused, name unknown, TLS), after the retries."""


class RegistryTimeout(RegistryError):
    """The command's overall registry deadline passed before the registry answered."""


class RegistryRefused(RegistryError):
    """The registry answered an HTTP error status."""


class RegistryProtocolError(RegistryError):
    """A redirect or pagination loop, an oversized answer, or HTTP that cannot be spoken."""


class RegistryBadResponse(RegistryError):
    """An answer of the wrong shape: not JSON, not the object expected, not the digest asked."""


class PromotionRefused(RegistryError):
    """A promotion or rollback was refused: the gate that guards stages said no."""

    exit_code = 1


class StageEmpty(PromotionRefused):
    """The stage holds no release or digest yet: nothing to roll back, render or verify.

    A refusal like any other (exit 1): the stage is not in a state to act on.
    """


class SigningKeyError(PipelineError):
    """A signing or verification key is missing, unreadable or not an Ed25519 PEM key."""


class EngineError(PipelineError):
    """The Dagger engine is not reachable or failed underneath a lane."""


class LaneError(PipelineError):
    """A lane could not run at all (as opposed to running and failing its gate)."""


class GraphError(PipelineError):
    """The lane graph is malformed: an unknown need, a cycle, a duplicate or bad lane name."""


class ReportError(PipelineError):
    """The run's reports directory could not be written (nothing half-written is left)."""
