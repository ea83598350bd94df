"""The runtime image contract: models, defaults and the line-aware loader."""

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

__all__ = [
    "BaseImage", "Checks", "Contract", "Dependency", "EnvContract", "Forbidden", "Health",
    "Resources", "Runner", "Runtime", "SecretAllow", "Service", "Shutdown", "ToolClass", "UserSpec",
    "format_size", "load_contract", "parse_size",
]
