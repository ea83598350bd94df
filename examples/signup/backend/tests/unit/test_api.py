"""The API, the SPA fallback and the migrations, against a real database."""

from __future__ import annotations

import re

from app.migrate import migrate


def test_health_is_healthy_with_a_migrated_database(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "healthy"}


def test_migrations_run_twice_apply_nothing_the_second_time(settings):
    assert migrate(settings.database_url) == []


def test_subscribe_stores_the_address_and_mails_a_link(client, outbox):
    answer = client.post("/api/subscribers", json={"email": "Ada@Example.org", "name": "Ada"})
    assert answer.status_code == 201
    assert answer.get_json() == {"email": "ada@example.org", "confirmed": False}
    assert len(outbox) == 1
    mail = outbox[0]
    assert mail["To"] == "ada@example.org"
    assert "Hello Ada," in mail.get_content()
    assert client.get("/api/subscribers/ada@example.org").get_json()["confirmed"] is False


def test_a_second_subscription_is_refused(client, outbox):
    assert client.post("/api/subscribers", json={"email": "a@example.org"}).status_code == 201
    assert client.post("/api/subscribers", json={"email": "a@example.org"}).status_code == 409
    assert len(outbox) == 1


def test_an_invalid_address_is_refused(client, outbox):
    assert client.post("/api/subscribers", json={"email": "not-an-address"}).status_code == 400
    assert outbox == []


def test_the_mailed_link_confirms_the_subscription(client, outbox):
    client.post("/api/subscribers", json={"email": "b@example.org"})
    link = re.search(r"http://\S+", outbox[0].get_content()).group(0)
    answer = client.get(link.removeprefix("http://localhost"))
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/confirmed?email=b@example.org")
    assert client.get("/api/subscribers/b@example.org").get_json()["confirmed"] is True


def test_a_forged_link_is_refused(client):
    assert client.get("/api/confirm/forged.token.value").status_code == 400


def test_spa_files_are_served_and_unknown_paths_fall_back_to_index(client):
    assert client.get("/app.js").status_code == 200
    fallback = client.get("/confirmed")
    assert fallback.status_code == 200 and b"<title>signup</title>" in fallback.data
    assert client.get("/api/nothing-here").status_code == 404
