from __future__ import annotations

import pytest

from app.main import app_from_env
from app.settings import ConfigError, Settings


def test_database_url_is_required() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL is required"):
        Settings.from_env({})


def test_blank_database_url_counts_as_missing() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL is required"):
        Settings.from_env({"DATABASE_URL": "  "})


def test_non_postgres_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DATABASE_URL": "mysql://root:hunter2@db/app"})
    assert "hunter2" not in str(caught.value)


def test_valid_url_is_kept() -> None:
    url = "postgresql://taskflow:pw@postgres:5432/taskflow"
    assert Settings.from_env({"DATABASE_URL": url}).database_url == url


def test_factory_exits_in_one_line_without_database_url(monkeypatch, capsys) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as caught:
        app_from_env()
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "taskflow: DATABASE_URL is required "
        "(e.g. postgresql://taskflow:PASSWORD@postgres:5432/taskflow)"
    ]
