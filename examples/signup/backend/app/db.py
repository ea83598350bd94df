"""PostgreSQL access: one short-lived connection per request (the app is small)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

CONNECT_TIMEOUT = 3  # seconds: the health endpoint must answer, database or not


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, row_factory=dict_row) as conn:
        yield conn
