"""Engines for SQLite (embedded default) and PostgreSQL (production), and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ...embedded_sqlite import BUSY_TIMEOUT_S, create_inline_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine_for(url: str, *, pool_size: int = 20) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A file database: one connection per process whose statements run inline on the
        # event loop (embedded_sqlite), several times cheaper than a thread hand-off per
        # call.  In-memory databases keep SQLAlchemy's single static connection.
        if parsed.database and parsed.database != ":memory:":
            return create_inline_engine(url, parsed.database, on_connect=_sqlite_pragmas)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it doubles round trips.  A connection broken by a database restart
    # fails one request (503) and invalidates the pool, which then reconnects.
    # Bounded waits: a database that stops answering (not refusing) must turn into a quick
    # 503, not requests hanging for the driver's and the pool's default 30+ s.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; busy_timeout queues writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sync_url(url: str) -> str:
    """Alembic runs synchronously: aiosqlite → sqlite3; psycopg serves both modes."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def upgrade_database(url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = sync_url(url)
    command.upgrade(config, revision)
