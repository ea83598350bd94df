"""Black-box tests against a running backend: BASE_URL says where (e.g. http://backend:8000)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

# How long a freshly started service may take to answer /health with 200.
READY_SECONDS = float(os.environ.get("READY_SECONDS", "30"))


@pytest.fixture(scope="session")
def base_url() -> str:
    url = os.environ.get("BASE_URL", "").rstrip("/")
    if not url:
        pytest.exit("BASE_URL is required (e.g. BASE_URL=http://backend:8000)", returncode=2)
    return url


@pytest.fixture(scope="session")
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{base_url}/health did not answer 200 within {READY_SECONDS:.0f}s")
            time.sleep(0.3)
        yield client
