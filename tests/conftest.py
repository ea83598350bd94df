"""Shared test configuration.

Tests marked `engine`, `registry` or `browser` need real components. Where
PIPELINE_REQUIRE_REAL=1 (set by scripts/test, hence in CI), a missing
component is a failure, never a silent skip.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_REAL = os.environ.get("PIPELINE_REQUIRE_REAL") == "1"


def missing(component: str, why: str) -> None:
    """Skip locally, fail under scripts/test: a real component is unavailable."""
    message = f"{component} unavailable: {why}"
    if REQUIRE_REAL:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
