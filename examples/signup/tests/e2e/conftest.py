"""Browser tests against the running app: APP_URL says where, MAILCATCHER_URL where the
caught mail is, CHROMIUM_PATH which browser (Debian's Chromium in the local image)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

READY_SECONDS = float(os.environ.get("READY_SECONDS", "30"))
DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _required(name: str) -> str:
    value = os.environ.get(name, "").rstrip("/")
    if not value:
        pytest.exit(f"{name} is required", returncode=2)
    return value


@pytest.fixture(scope="session")
def app_url() -> str:
    url = _required("APP_URL")
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return url
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url}/health did not answer 200 within {READY_SECONDS:.0f}s")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def wait_for_mail() -> Callable[[str], dict]:
    base = _required("MAILCATCHER_URL")

    def wait(to: str) -> dict:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{base}/messages?to={to}", timeout=5) as response:
                found = json.load(response)
            if found:
                return found[-1]
            time.sleep(0.2)
        pytest.fail(f"no mail to {to} reached the mail catcher within 10s")

    return wait


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM_PATH") or (
        DEBIAN_CHROMIUM if os.path.exists(DEBIAN_CHROMIUM) else None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
