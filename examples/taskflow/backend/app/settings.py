"""Configuration from the environment, checked before anything starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg.conninfo


class ConfigError(Exception):
    """The environment cannot configure the service; the message never holds a secret value."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    # libpq's minimum is 2 s; health must answer 503 well inside the probe's budget.
    connect_timeout_seconds: int = 2

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        url = environ.get("DATABASE_URL", "").strip()
        if not url:
            raise ConfigError(
                "DATABASE_URL is required "
                "(e.g. postgresql://taskflow:PASSWORD@postgres:5432/taskflow)"
            )
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("DATABASE_URL must be a postgresql:// URL")
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            # The parser's message may quote the URL, password included: not repeated here.
            raise ConfigError("DATABASE_URL is not a valid PostgreSQL connection URL") from None
        return cls(database_url=url)
