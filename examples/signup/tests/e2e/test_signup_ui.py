"""A visitor signs up in the browser, gets the mail, opens its link, sees the confirmation."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect


def test_sign_up_then_confirm_from_the_mailed_link(page, app_url, wait_for_mail):
    address = f"e2e-{uuid.uuid4().hex[:12]}@example.org"
    page.goto(app_url + "/")
    expect(page.get_by_role("heading")).to_have_text("Subscribe to the newsletter")
    page.get_by_placeholder("you@example.org").fill(address)
    page.get_by_placeholder("Your name (optional)").fill("Lin")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status")).to_contain_text(f"sent a confirmation link to {address}")

    mail = wait_for_mail(address)
    link = re.search(r"http://\S+", mail["body"]).group(0)
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/confirmed\?email="))
    expect(page.get_by_role("heading")).to_have_text("Subscription confirmed")


def test_an_invalid_address_is_refused_in_the_page(page, app_url):
    page.goto(app_url + "/")
    page.get_by_placeholder("you@example.org").fill("x@y")
    # The browser's own validation would stop a malformed address: bypass it to see the API's.
    page.evaluate("document.querySelector('form').noValidate = true")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("status")).to_contain_text("a valid email address is required")
