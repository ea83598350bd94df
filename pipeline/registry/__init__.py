"""Registry side of a release: publish records, attestations, stages, promotion, rendering.

No Dagger here: the publish lane (pipeline/lanes/) pushes images and then calls
``attest`` and ``publish_record``; the CLI and the module call ``promote``,
``rollback`` and ``render`` with the same arguments.

Names are served lazily (PEP 562), so importing one submodule, e.g.
``pipeline.registry.reference``, does not load the HTTP client, cryptography and
structlog with it: the CLI's start-up pays only for what a command uses.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS = {
    "attest": "attestation", "verify_attestation": "attestation",
    "Credentials": "client", "RegistryClient": "client", "RetryPolicy": "client",
    "PromotionEvent": "promotion", "promote": "promotion", "rollback": "promotion",
    "ImageReference": "reference", "parse_reference": "reference",
    "require_digest": "reference",
    "LaneSummary": "release", "ReleaseRecord": "release", "publish_record": "release",
    # `render` (the function) is not served here: the submodule of that name would
    # shadow it once imported; import it from pipeline.registry.render.
    "ServiceImage": "render", "resolve_stage": "render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline.registry' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pipeline.registry.{module}"), name)
    globals()[name] = value
    return value
