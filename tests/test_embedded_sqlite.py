"""The embedded SQLite engine: statements inline on the loop, one connection handed over
in the order it was asked for, and the sync lane for whole transactions
(tenantgate/embedded_sqlite.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from tenantgate import embedded_sqlite
from tenantgate.embedded_sqlite import begin, connect, run_read, run_transaction, runs_inline
from tenantgate.identity.storage.engine import create_engine_for

from .loop_turns import other_task_turns

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_transaction_runs_without_letting_the_loop_run_anything_else(
    tmp_path: Path,
) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    assert runs_inline(engine)
    try:
        async with begin(engine) as conn:  # the first connect goes through aiosqlite's thread
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        async with other_task_turns() as turns:
            before = turns.count
            async with begin(engine) as conn:
                for value in range(50):
                    await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
                count = (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one()
            # Fifty-one statements and a commit, and the other task never got a turn: no
            # thread hand-off, no suspension while the one connection was out.
            assert turns.count == before
        assert count == 50
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


def _insert_then(conn: Connection, values: list[int], fail: bool) -> int:
    for value in values:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
    if fail:
        raise RuntimeError("half-way")
    return len(values)


def _count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


async def test_a_lane_transaction_commits_whole_or_not_at_all(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'lane.db'}")
    try:
        async with begin(engine) as conn:
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        assert await run_transaction(engine, _insert_then, [1, 2, 3], False) == 3
        with pytest.raises(RuntimeError, match="half-way"):
            await run_transaction(engine, _insert_then, [4, 5], True)
        # Both connections (the async one and the lane's) see exactly the committed rows.
        assert await run_read(engine, _count) == 3
        async with connect(engine) as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3
    finally:
        await engine.dispose()


async def test_a_lane_transaction_waits_for_the_gate(tmp_path: Path) -> None:
    """An async transaction holds the one connection across suspensions: the lane waits
    its turn instead of meeting a second writer (a busy wait on SQLite's lock, blocking
    the loop), then sees what that transaction committed."""
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    order: list[str] = []

    def lane_work(conn: Connection) -> int:
        order.append("lane")
        for value in range(50):
            conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
        return _count(conn)

    async def holder(started: asyncio.Event) -> None:
        async with begin(engine) as conn:
            started.set()
            await conn.execute(text("INSERT INTO t VALUES (-1)"))
            for _ in range(5):
                await asyncio.sleep(0)
            order.append("holder")

    try:
        async with begin(engine) as conn:
            await conn.execute(text("CREATE TABLE t (v INTEGER)"))
        started = asyncio.Event()
        held = asyncio.create_task(holder(started))
        await started.wait()
        counted, _ = await asyncio.gather(run_transaction(engine, lane_work), held)
        assert order == ["holder", "lane"]
        assert counted == 51  # the holder's row was committed before the lane began
    finally:
        await engine.dispose()


async def test_disposing_the_engine_closes_the_lane(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'dispose.db'}")
    async with begin(engine) as conn:
        await conn.execute(text("CREATE TABLE t (v INTEGER)"))
    assert await run_read(engine, _count) == 0
    lane = engine.sync_engine.pool.__dict__["_tenantgate_sync_lane"].engine
    assert lane.pool.checkedout() == 1  # the lane keeps its one connection open
    await engine.dispose()
    assert lane.pool.checkedout() == 0
    assert lane.pool.checkedin() == 0
    # A disposed engine still works, through the ordinary path.
    assert await run_transaction(engine, _insert_then, [7], False) == 1
    assert await run_read(engine, _count) == 1
    await engine.dispose()


async def test_engines_without_a_lane_run_the_work_in_one_run_sync(tmp_path: Path) -> None:
    engine = create_engine_for("sqlite+aiosqlite:///:memory:")
    try:
        await run_transaction(engine, lambda conn: conn.execute(text("CREATE TABLE t (v INT)")))
        assert await run_transaction(engine, _insert_then, [1, 2], False) == 2
        with pytest.raises(RuntimeError, match="half-way"):
            await run_transaction(engine, _insert_then, [3], True)
        assert await run_read(engine, _count) == 2
    finally:
        await engine.dispose()


def test_two_loops_in_two_threads_take_turns_on_the_lane(tmp_path: Path) -> None:
    """The gate orders one loop's tasks; a second loop in another thread sharing the
    engine must still never use the lane's connection at the same time."""
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'threads.db'}")
    errors: list[BaseException] = []

    async def create() -> None:
        await run_transaction(engine, lambda conn: conn.execute(text("CREATE TABLE t (v INT)")))

    async def writer(offset: int) -> None:
        for value in range(200):
            await run_transaction(engine, _insert_then, [offset + value], False)
            await run_read(engine, _count)

    def in_thread(offset: int) -> None:
        try:
            asyncio.run(writer(offset))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    asyncio.run(create())
    threads = [threading.Thread(target=in_thread, args=(n * 1000,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert asyncio.run(run_read(engine, _count)) == 400
    finally:
        asyncio.run(engine.dispose())


async def test_another_writer_makes_the_lane_give_up_after_the_busy_timeout_then_recover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process (an operator command) holding SQLite's write lock: the lane waits
    the busy timeout, fails with OperationalError (the web layer answers 503), and works
    again once the lock is gone."""
    monkeypatch.setattr(embedded_sqlite, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "busy.db"
    engine = embedded_sqlite.create_inline_engine(f"sqlite+aiosqlite:///{path}", str(path))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await run_transaction(engine, lambda conn: conn.execute(text("CREATE TABLE t (v INT)")))
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            await run_transaction(engine, _insert_then, [1], False)
        assert time.monotonic() - started < 5.0  # gave up, did not hang the loop
        other.execute("ROLLBACK")
        assert await run_transaction(engine, _insert_then, [2], False) == 1
        assert await run_read(engine, _count) == 1
    finally:
        other.close()
        await engine.dispose()
