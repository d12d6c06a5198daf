"""Engine preparation the banking code relies on.

SQLite leaves foreign keys off unless every connection turns them on, and by default gives up
immediately when another connection holds the write lock. The banking schema relies on composite
foreign keys to make cross-tenant references impossible, and transfers may run concurrently, so
every SQLite connection gets ``foreign_keys=ON`` and a busy timeout. PostgreSQL needs nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: How long a SQLite writer waits for the lock before failing, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def prepare_engine(engine: AsyncEngine) -> AsyncEngine:
    """Install the per-connection SQLite settings (no-op elsewhere); returns the engine."""
    sync_engine = engine.sync_engine
    if sync_engine.dialect.name == "sqlite" and not event.contains(
        sync_engine, "connect", _on_sqlite_connect
    ):
        event.listen(sync_engine, "connect", _on_sqlite_connect)
    return engine


def create_banking_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """``create_async_engine`` + ``prepare_engine``; keyword arguments pass through."""
    return prepare_engine(create_async_engine(url, **kwargs))
