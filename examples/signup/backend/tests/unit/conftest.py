"""Unit tests against a real PostgreSQL (the contract's checks.depends_on = ["postgres"]).

DATABASE_URL says which server. The tests make their own database on it (the
integration tests may use the service's database at the same time), its schema from
the app's own migrations, and every test starts from empty tables. Mail is captured
in a list instead of sent.
"""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
    env["DATABASE_URL"] = own_database(env["DATABASE_URL"], "signup_unit")
    settings = Settings.from_env(env)
    migrate(settings.database_url)
    return settings


def own_database(url: str, name: str) -> str:
    """A fresh, empty database `name` on the server `url` names; its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(**{**conninfo_to_dict(url), "dbname": name})


@pytest.fixture
def outbox() -> list:
    return []


@pytest.fixture
def client(settings, outbox):
    with connect(settings.database_url) as conn:
        conn.execute("TRUNCATE subscribers RESTART IDENTITY")
    app = create_app(settings, mailer=outbox.append)
    return app.test_client()
