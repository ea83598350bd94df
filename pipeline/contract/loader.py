"""Load `pipeline.toml` (and overlays) into a `Contract`, with one-line, line-aware errors.

The text is read, parsed and merged by pipeline.contract.source (which also
locates errors: file, line and field); this validates it with the pydantic
models. `pipeline.contract.plain` reads the same text without pydantic, for
check-image, and hands every contract it does not vouch for to this loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.contract import limits
from pipeline.contract.models import Contract
from pipeline.contract.source import field_name, locate, read_merged
from pipeline.errors import ContractError

__all__ = ["field_name", "load_contract", "locate"]


def load_contract(path: Path, overlays: Sequence[Path] = ()) -> Contract:
    """The validated contract at `path` with `overlays` merged over it, in order.

    Bounded whatever the input (pipeline.contract.limits): only regular files of
    at most 1 MiB, nesting at most 32 levels; every error is one ContractError line.
    """
    try:
        return _load(Path(path), [Path(p) for p in overlays])
    except (RecursionError, MemoryError, OverflowError) as exc:
        # Backstops: the limits above should make these unreachable.
        what = {RecursionError: "nested too deeply", MemoryError: "too large to load",
                OverflowError: "holds a number too large"}[type(exc)]
        raise ContractError(what, path=str(path)) from None


def _load(path: Path, overlays: list[Path]) -> Contract:
    merged = read_merged(path, overlays)
    try:
        contract = Contract.model_validate(merged.document)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        raise merged.error(tuple(error["loc"]), _message(error)) from None
    for loc, message in contract.references():
        raise merged.error(loc, message)
    contract._root = path.resolve().parent
    contract._source = path
    contract._locate = merged.locator()
    for loc, message in limits.escaping_paths(contract):
        raise merged.error(loc, message)
    return contract


def _message(error: Any) -> str:
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    return str(msg).removeprefix("Value error, ").removeprefix("Assertion failed, ")
