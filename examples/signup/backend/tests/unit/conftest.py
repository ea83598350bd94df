"""Unit tests against a real PostgreSQL (the contract's checks.depends_on = ["postgres"]).

DATABASE_URL says where; the schema comes from the app's own migrations, and every
test starts from empty tables. Mail is captured in a list instead of sent.
"""

from __future__ import annotations

import os

import pytest

from app.db import connect
from app.main import create_app
from app.migrate import migrate
from app.settings import Settings


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    if not os.environ.get("DATABASE_URL"):
        pytest.exit("DATABASE_URL is required: the unit tests need PostgreSQL", returncode=2)
    static = tmp_path_factory.mktemp("static")
    (static / "index.html").write_text("<!doctype html><title>signup</title>")
    (static / "app.js").write_text("console.log('signup')")
    env = {
        **os.environ,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "unit-test-secret-key"),
        "SMTP_HOST": "smtp.invalid",
        "STATIC_DIR": str(static),
    }
    settings = Settings.from_env(env)
    migrate(settings.database_url)
    return settings


@pytest.fixture
def outbox() -> list:
    return []


@pytest.fixture
def client(settings, outbox):
    with connect(settings.database_url) as conn:
        conn.execute("TRUNCATE subscribers RESTART IDENTITY")
    app = create_app(settings, mailer=outbox.append)
    return app.test_client()
