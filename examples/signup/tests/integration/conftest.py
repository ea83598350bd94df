"""Black-box tests against the running app and the mail catcher it sends to.

BASE_URL says where the app is (http://app:8080), MAILCATCHER_URL where the mail
catcher's HTTP API is (http://mailcatcher:8025).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

READY_SECONDS = float(os.environ.get("READY_SECONDS", "30"))


def _required(name: str) -> str:
    value = os.environ.get(name, "").rstrip("/")
    if not value:
        pytest.exit(f"{name} is required", returncode=2)
    return value


@pytest.fixture(scope="session")
def api() -> Iterator[httpx.Client]:
    base = _required("BASE_URL")
    with httpx.Client(base_url=base, timeout=10) as client:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{base}/health did not answer 200 within {READY_SECONDS:.0f}s")
            time.sleep(0.3)
        yield client


@pytest.fixture(scope="session")
def mailbox() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=_required("MAILCATCHER_URL"), timeout=10) as client:
        yield client


@pytest.fixture
def address() -> str:
    # Unique per test: the database and the mail catcher live for the whole run.
    return f"it-{uuid.uuid4().hex[:12]}@example.org"


@pytest.fixture
def wait_for_mail(mailbox: httpx.Client) -> Callable[[str], dict]:
    def wait(to: str) -> dict:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = mailbox.get("/messages", params={"to": to}).json()
            if found:
                return found[-1]
            time.sleep(0.2)
        pytest.fail(f"no mail to {to} reached the mail catcher within 10s")

    return wait
