"""The app as deployed: API, mail over SMTP, SPA serving, health."""

from __future__ import annotations

import re


def test_health_reports_a_migrated_database(api):
    answer = api.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "healthy"}


def test_signup_mails_a_link_that_confirms_it(api, address, wait_for_mail):
    answer = api.post("/api/subscribers", json={"email": address, "name": "Grace"})
    assert answer.status_code == 201, answer.text
    mail = wait_for_mail(address)
    assert mail["subject"] == "Confirm your subscription"
    assert "Hello Grace," in mail["body"]
    link = re.search(r"http://\S+", mail["body"]).group(0)
    confirmed = api.get(link, follow_redirects=False)
    assert confirmed.status_code == 303
    assert api.get(f"/api/subscribers/{address}").json()["confirmed"] is True


def test_a_second_signup_is_refused_and_mails_nothing_more(api, address, mailbox, wait_for_mail):
    assert api.post("/api/subscribers", json={"email": address}).status_code == 201
    wait_for_mail(address)
    assert api.post("/api/subscribers", json={"email": address}).status_code == 409
    assert len(mailbox.get("/messages", params={"to": address}).json()) == 1


def test_a_forged_link_is_refused(api):
    assert api.get("/api/confirm/not-a-real-token").status_code == 400


def test_the_spa_and_its_assets_are_served(api):
    index = api.get("/")
    assert index.status_code == 200 and "<title>signup</title>" in index.text
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', index.text)
    assert scripts, index.text
    asset = api.get(scripts[0])
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]


def test_client_side_routes_fall_back_to_the_spa(api):
    answer = api.get("/confirmed?email=x@example.org")
    assert answer.status_code == 200 and "<title>signup</title>" in answer.text
    assert api.get("/api/unknown").status_code == 404
