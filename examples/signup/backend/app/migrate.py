"""Apply the SQL files in migrations/ that this database has not seen, in name order.

Run as a one-shot step before the service starts (`python -m app.migrate`): the
contract's runtime.init. Each file runs in its own transaction and is recorded in
schema_migrations, so running it again applies nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

from app.db import connect
from app.settings import Settings, SettingsError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Two starts at once (a probe and a test lane) must not apply the same file twice.
LOCK_ID = 4_242_001


def pending(conn: psycopg.Connection, folder: Path = MIGRATIONS) -> list[Path]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    done = {row["name"] for row in conn.execute("SELECT name FROM schema_migrations")}
    return [path for path in sorted(folder.glob("*.sql")) if path.name not in done]


def migrate(url: str, folder: Path = MIGRATIONS) -> list[str]:
    """Apply pending migrations; the names applied."""
    applied = []
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            for path in pending(conn, folder):
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                applied.append(path.name)
            conn.commit()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return applied


def main() -> int:
    try:
        url = Settings.from_env().database_url
    except SettingsError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 2
    try:
        applied = migrate(url)
    except psycopg.Error as exc:
        print(f"migrate: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    print(
        f"migrate: applied {len(applied)} migration(s)"
        + (f": {', '.join(applied)}" if applied else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
