"""Task storage: the interface the API uses, and its PostgreSQL implementation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from app.models import Task, TaskCreate, TaskUpdate


class DatabaseUnavailable(Exception):
    """The database did not answer; the API maps this to 503."""


class TaskRepository(Protocol):
    def ping(self) -> None: ...
    def list(self) -> list[Task]: ...
    def create(self, new: TaskCreate) -> Task: ...
    def get(self, task_id: int) -> Task | None: ...
    def update(self, task_id: int, changes: TaskUpdate) -> Task | None: ...
    def delete(self, task_id: int) -> bool: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id         BIGSERIAL PRIMARY KEY,
    title      TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
COLUMNS = "id, title, done, created_at"


class PostgresTaskRepository:
    """One short-lived connection per operation: simple, and recovers by itself
    when the database comes back."""

    def __init__(self, database_url: str, *, connect_timeout_seconds: int = 2) -> None:
        self._url = database_url
        self._connect_timeout = connect_timeout_seconds
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        try:
            with psycopg.connect(
                self._url,
                connect_timeout=self._connect_timeout,
                autocommit=True,
                row_factory=dict_row,
            ) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            # Not str(exc): libpq messages can name the host and user; callers only need "down".
            raise DatabaseUnavailable("database unavailable") from exc

    def ensure_schema(self) -> None:
        """Create the table once; the service may start before the database does."""
        if self._schema_ready:
            return
        with self._schema_lock, self._connection() as conn, conn.transaction():
            # CREATE TABLE IF NOT EXISTS is not safe when two replicas start at once
            # (both can pass the check, one then fails on pg_type): serialise them.
            conn.execute("SELECT pg_advisory_xact_lock(727400)")
            conn.execute(SCHEMA)
            self._schema_ready = True

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1")

    def list(self) -> list[Task]:
        self.ensure_schema()
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {COLUMNS} FROM tasks ORDER BY id").fetchall()
        return [Task(**row) for row in rows]

    def create(self, new: TaskCreate) -> Task:
        self.ensure_schema()
        with self._connection() as conn:
            row = conn.execute(
                f"INSERT INTO tasks (title) VALUES (%s) RETURNING {COLUMNS}", (new.title,)
            ).fetchone()
        assert row is not None  # INSERT ... RETURNING always yields the row
        return Task(**row)

    def get(self, task_id: int) -> Task | None:
        self.ensure_schema()
        with self._connection() as conn:
            row = conn.execute(f"SELECT {COLUMNS} FROM tasks WHERE id = %s", (task_id,)).fetchone()
        return Task(**row) if row else None

    def update(self, task_id: int, changes: TaskUpdate) -> Task | None:
        self.ensure_schema()
        with self._connection() as conn:
            row = conn.execute(
                f"UPDATE tasks SET title = COALESCE(%s, title), done = COALESCE(%s, done) "
                f"WHERE id = %s RETURNING {COLUMNS}",
                (changes.title, changes.done, task_id),
            ).fetchone()
        return Task(**row) if row else None

    def delete(self, task_id: int) -> bool:
        self.ensure_schema()
        with self._connection() as conn:
            cursor = conn.execute("DELETE FROM tasks WHERE id = %s", (task_id,))
        return cursor.rowcount == 1
