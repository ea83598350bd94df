"""A person's path through the UI: type a task, add it, see it listed, tick it, delete it."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect


def test_create_a_task_through_the_ui_and_see_it_listed(page: Page, frontend_url: str) -> None:
    title = f"e2e task {uuid.uuid4().hex[:8]}"
    page.goto(frontend_url)
    expect(page.get_by_role("heading", name="taskflow")).to_be_visible()

    page.get_by_label("New task").fill(title)
    page.get_by_role("button", name="Add").click()

    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item).to_have_count(1)
    # A reload shows what the backend stored, not what the page remembered.
    page.reload()
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(1)


def test_tick_and_delete_a_task(page: Page, frontend_url: str) -> None:
    title = f"e2e done {uuid.uuid4().hex[:8]}"
    page.goto(frontend_url)
    page.get_by_label("New task").fill(title)
    page.get_by_label("New task").press("Enter")
    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item).to_have_count(1)

    item.get_by_role("checkbox").check()
    page.reload()
    item = page.get_by_role("listitem").filter(has_text=title)
    expect(item.get_by_role("checkbox")).to_be_checked()

    item.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="taskflow")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=title)).to_have_count(0)


def test_an_unknown_path_falls_back_to_the_app(page: Page, frontend_url: str) -> None:
    # SPA fallback: a deep link is served index.html, and the app renders.
    page.goto(f"{frontend_url}/some/deep/link")
    expect(page.get_by_role("heading", name="taskflow")).to_be_visible()
