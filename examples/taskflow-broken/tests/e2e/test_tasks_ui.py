"""A person's path through the UI: type a task, add it, see it listed, tick it, delete it."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect


def open_app(page: Page, url: str) -> None:
    """Load the page and wait until the list shows what the backend holds."""
    page.goto(url)
    expect(page.get_by_role("list", name="Tasks")).to_have_attribute("data-state", "ready")


def reload_app(page: Page) -> None:
    page.reload()
    expect(page.get_by_role("list", name="Tasks")).to_have_attribute("data-state", "ready")


def test_create_a_task_through_the_ui_and_see_it_listed(page: Page, frontend_url: str) -> None:
    title = f"e2e task {uuid.uuid4().hex[:8]}"
    open_app(page, frontend_url)
    expect(page.get_by_role("heading", name="taskflow")).to_be_visible()

    page.get_by_label("New task").fill(title)
    page.get_by_role("button", name="Add").click()

    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item).to_have_count(1)
    # A reload shows what the backend stored, not what the page remembered.
    reload_app(page)
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(1)


def test_tick_and_delete_a_task(page: Page, frontend_url: str) -> None:
    title = f"e2e done {uuid.uuid4().hex[:8]}"
    open_app(page, frontend_url)
    page.get_by_label("New task").fill(title)
    page.get_by_label("New task").press("Enter")
    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item).to_have_count(1)

    with page.expect_response(lambda r: r.request.method == "PATCH" and r.ok):
        item.get_by_role("checkbox").check()
    reload_app(page)
    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item.get_by_role("checkbox")).to_be_checked()

    item.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(0)
    reload_app(page)
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(0)


def test_an_unknown_path_falls_back_to_the_app(page: Page, frontend_url: str) -> None:
    # SPA fallback: a deep link is served index.html, and the app renders.
    open_app(page, f"{frontend_url}/some/deep/link")
    expect(page.get_by_role("heading", name="taskflow")).to_be_visible()
