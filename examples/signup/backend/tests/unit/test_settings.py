"""Settings: missing or malformed variables are named, never their values."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError

BASE = {"DATABASE_URL": "postgresql://x@db/x", "SECRET_KEY": "s" * 32, "SMTP_HOST": "mail"}


def test_complete_environment_loads():
    settings = Settings.from_env({**BASE, "SMTP_PORT": "1025"})
    assert settings.smtp_port == 1025


@pytest.mark.parametrize("name", ["DATABASE_URL", "SECRET_KEY", "SMTP_HOST"])
def test_missing_variable_is_named(name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({k: v for k, v in BASE.items() if k != name})


def test_short_secret_key_is_refused_without_echoing_it():
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**BASE, "SECRET_KEY": "tiny-secret"})
    assert "tiny-secret" not in str(info.value)
