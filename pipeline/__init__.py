"""pipeline: a release pipeline as code on Dagger.

The domain modules (contract, image, rules, findings, reports, dag, registry)
import no Dagger. The Dagger main object is exported lazily so that importing
the domain never loads the SDK.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Pipeline"]


def __getattr__(name: str) -> Any:
    # `dagger.mod` loads the main object through the entry point
    # "pipeline:Pipeline"; a module-level __getattr__ serves it on demand.
    if name == "Pipeline":
        from pipeline.module import Pipeline

        return Pipeline
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
