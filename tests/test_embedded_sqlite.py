"""The embedded SQLite engine: statements inline on the loop, one connection handed over
in the order it was asked for (tenantgate/embedded_sqlite.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tenantgate.embedded_sqlite import begin, connect, runs_inline
from tenantgate.identity.storage.engine import create_engine_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_transaction_runs_without_letting_the_loop_run_anything_else(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    assert runs_inline(engine)
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    try:
        async with begin(engine) as conn:  # the first connect goes through aiosqlite's thread
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        async with begin(engine) as conn:
            for value in range(50):
                await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
            count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
        # Fifty-one statements and a commit, and the other task never got a turn: no
        # thread hand-off, no suspension while the one connection was out.
        assert ticks == before
        assert count == 50
        running = False
        await task
    finally:
        await engine.dispose()


async def test_statements_run_on_the_loop_thread(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'thread.db'}")
    seen: list[int] = []

    def record(conn: object) -> None:
        seen.append(threading.get_ident())

    try:
        async with connect(engine) as conn:
            await conn.execute(text("SELECT 1"))
            await conn.run_sync(record)
        assert seen == [threading.get_ident()]
    finally:
        await engine.dispose()


async def test_the_one_connection_goes_to_whoever_asked_first(tmp_path: Path) -> None:
    """Workers that hold the connection across a suspension (as a request awaiting
    something else would) and ask again at once: nobody waits while others take more
    than one turn each. The pool's own queue lets the releasing task take the connection
    straight back; a worker then waited while hundreds of transactions went by."""
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}")
    workers, rounds = 20, 20
    completed = 0
    worst = 0

    async def worker() -> None:
        nonlocal completed, worst
        for _ in range(rounds):
            asked = completed
            async with begin(engine) as conn:
                worst = max(worst, completed - asked)
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0)
            completed += 1

    try:
        await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        await engine.dispose()
    assert completed == workers * rounds
    assert worst <= workers - 1, f"a worker waited while {worst} transactions completed"


async def test_postgres_and_memory_engines_are_not_inline() -> None:
    memory = create_engine_for("sqlite+aiosqlite:///:memory:")
    postgres = create_engine_for("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        assert not runs_inline(memory)
        assert not runs_inline(postgres)
    finally:
        await memory.dispose()
        await postgres.dispose()
