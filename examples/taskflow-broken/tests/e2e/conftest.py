"""Browser tests against a running frontend: FRONTEND_URL says where, CHROMIUM_PATH which browser."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

READY_SECONDS = float(os.environ.get("READY_SECONDS", "30"))
DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Headless in a container: no sandbox (no user namespaces), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def frontend_url() -> str:
    url = os.environ.get("FRONTEND_URL", "").rstrip("/")
    if not url:
        pytest.exit("FRONTEND_URL is required (e.g. FRONTEND_URL=http://frontend:8080)", returncode=2)
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            # The task list comes through the frontend's /api proxy: both tiers must be up.
            with urllib.request.urlopen(f"{url}/api/tasks", timeout=5) as response:
                if response.status == 200:
                    return url
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url}/api/tasks did not answer 200 within {READY_SECONDS:.0f}s")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # An installed Chromium (Debian's, or CHROMIUM_PATH); else Playwright's own build, as
    # shipped in the official Playwright images. Nothing is ever downloaded here.
    executable = os.environ.get("CHROMIUM_PATH") or (
        DEBIAN_CHROMIUM if os.path.exists(DEBIAN_CHROMIUM) else None
    )
    if executable is not None and not os.path.exists(executable):
        pytest.exit(f"CHROMIUM_PATH: no browser at {executable}", returncode=2)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
