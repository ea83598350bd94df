"""The runtime image contract: models, defaults and the line-aware loader.

The names below load on first use (PEP 562): `pipeline.contract.plain` and the
pydantic-free modules beside it must not pull pydantic in through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.contract.loader import load_contract
    from pipeline.contract.models import (
        BaseImage,
        Checks,
        Contract,
        Dependency,
        EnvContract,
        Forbidden,
        Health,
        Resources,
        Runner,
        Runtime,
        SecretAllow,
        Service,
        Shutdown,
        ToolClass,
        UserSpec,
    )
    from pipeline.contract.sizes import format_size, parse_size

_MODELS = ("BaseImage", "Checks", "Contract", "Dependency", "EnvContract", "Forbidden", "Health",
           "Resources", "Runner", "Runtime", "SecretAllow", "Service", "Shutdown", "ToolClass",
           "UserSpec")
_WHERE = {"load_contract": "loader", "format_size": "sizes", "parse_size": "sizes",
          **{name: "models" for name in _MODELS}}

__all__ = [
    "BaseImage", "Checks", "Contract", "Dependency", "EnvContract", "Forbidden", "Health",
    "Resources", "Runner", "Runtime", "SecretAllow", "Service", "Shutdown", "ToolClass", "UserSpec",
    "format_size", "load_contract", "parse_size",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
