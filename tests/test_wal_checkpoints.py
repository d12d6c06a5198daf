"""WAL checkpoints of the embedded SQLite file run on their own thread
(tenantgate/wal_checkpoints.py): the event loop's connections only checkpoint past the
backstop, the thread copies the log back into the file, and it stops with the engine."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from tenantgate import wal_checkpoints
from tenantgate.embedded_sqlite import run_read, run_transaction
from tenantgate.identity.storage.engine import create_engine_for

pytestmark = pytest.mark.anyio
ROWS = 400  # ~100 pages of 4 KiB: far below the backstop


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal_checkpoints, "BUSY_INTERVAL_S", 0.02)
    monkeypatch.setattr(wal_checkpoints, "IDLE_INTERVAL_S", 0.05)


def _create(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))


def _fill(conn: Connection, start: int) -> None:
    rows = [{"id": start + n, "body": "x" * 900} for n in range(ROWS)]
    conn.execute(text("INSERT INTO filler (id, body) VALUES (:id, :body)"), rows)


def _autocheckpoint(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _checkpointer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("wal-checkpoints:")]


def _size(path: Path | str) -> int:
    return os.path.getsize(path)


async def _file_size_reaches(path: Path, size: int, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.02)):
        if _size(path) >= size or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    return _size(path)


async def test_the_log_is_copied_back_by_the_thread_not_by_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "identity.db"
    engine = create_engine_for(f"sqlite+aiosqlite:///{path}")
    try:
        await run_transaction(engine, _create)
        # The loop's connections leave checkpoints to the thread until the backstop.
        assert await run_read(engine, _autocheckpoint) == wal_checkpoints.BACKSTOP_PAGES
        async with engine.connect() as conn:
            assert await conn.run_sync(_autocheckpoint) == wal_checkpoints.BACKSTOP_PAGES
        before = _size(path)
        await run_transaction(engine, _fill, 0)
        # Committed into the log; the database file grows only when a checkpoint copies
        # the pages back, and no COMMIT here reached the backstop: the thread did it.
        assert _size(f"{path}-wal") > ROWS * 900
        grown = await _file_size_reaches(path, before + ROWS * 900)
        assert grown >= before + ROWS * 900, (before, grown)
        # What it copied is the committed data, readable by any connection.
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT count(*) FROM filler").fetchone() == (ROWS,)
    finally:
        await engine.dispose()


async def test_the_log_keeps_being_copied_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "identity.db"
    engine = create_engine_for(f"sqlite+aiosqlite:///{path}")
    try:
        await run_transaction(engine, _create)
        for batch in range(5):
            await run_transaction(engine, _fill, batch * ROWS)
            await asyncio.sleep(0.1)
        expected = 5 * ROWS * 900
        assert await _file_size_reaches(path, expected) >= expected
        # The log was reused from its start after checkpoints, not grown batch by batch.
        assert _size(f"{path}-wal") < expected
    finally:
        await engine.dispose()


async def test_the_thread_stops_with_the_engine(tmp_path: Path) -> None:
    before = set(_checkpointer_threads())
    path = tmp_path / "identity.db"
    engine = create_engine_for(f"sqlite+aiosqlite:///{path}")
    await run_transaction(engine, _create)
    mine = [t for t in _checkpointer_threads() if t not in before and str(path) in t.name]
    assert len(mine) == 1
    assert mine[0].is_alive()
    await engine.dispose()
    mine[0].join(5)
    assert not mine[0].is_alive()


async def test_a_missing_file_is_not_created_by_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "never-used.db"
    checkpointer = wal_checkpoints.Checkpointer(str(path))
    try:
        await asyncio.sleep(0.2)  # several attempts
        assert not path.exists()
        assert checkpointer.running
    finally:
        checkpointer.stop()
    assert not checkpointer.running
