"""Settings from the environment: what the service needs, checked once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass


class SettingsError(RuntimeError):
    """A required variable is missing or malformed; the message names it (never its value)."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    static_dir: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        missing = [
            name for name in ("DATABASE_URL", "SECRET_KEY", "SMTP_HOST") if not env.get(name)
        ]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        if len(env["SECRET_KEY"]) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters")
        try:
            smtp_port = int(env.get("SMTP_PORT", "25"))
        except ValueError:
            raise SettingsError("SMTP_PORT must be a port number") from None
        return cls(
            database_url=env["DATABASE_URL"],
            secret_key=env["SECRET_KEY"],
            smtp_host=env["SMTP_HOST"],
            smtp_port=smtp_port,
            mail_from=env.get("MAIL_FROM", "signup@example.invalid"),
            static_dir=env.get(
                "STATIC_DIR", os.path.join(os.path.dirname(__file__), "..", "static")
            ),
        )
