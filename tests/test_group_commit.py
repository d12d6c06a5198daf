"""Group commit on the embedded SQLite lane (tenantgate/group_commit.py): the transactions
of one pass of the loop share one COMMIT, each stays atomic on its own, and nobody hears of
a transaction before it is durable."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate import group_commit
from tenantgate.embedded_sqlite import begin, run_read, run_transaction
from tenantgate.identity.storage.engine import create_engine_for

from .loop_turns import other_task_turns

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(f"sqlite+aiosqlite:///{tmp_path / 'groups.db'}")
    await run_transaction(engine, _schema)
    yield engine
    await engine.dispose()


def _schema(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE t (v INTEGER)"))
    conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
    conn.execute(
        text(
            "CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    )


def _insert(conn: Connection, value: int) -> int:
    conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
    return value


def _insert_then_fail(conn: Connection, value: int) -> int:
    conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
    raise RuntimeError(f"member {value} failed")


def _count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())


def _file_of(engine: AsyncEngine) -> str:
    database = engine.url.database
    assert database is not None
    return database


def _committed(engine: AsyncEngine) -> list[int]:
    """What a connection of its own (another process, as far as SQLite can tell) sees."""
    other = sqlite3.connect(_file_of(engine))
    try:
        return sorted(v for (v,) in other.execute("SELECT v FROM t"))
    finally:
        other.close()


def _trace_commits(engine: AsyncEngine) -> list[str]:
    """Every COMMIT the lane's sqlite3 connection runs from now on."""
    lane = engine.sync_engine.pool.__dict__["_tenantgate_sync_lane"]
    driver = lane.groups.connection().connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    commits: list[str] = []
    driver.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    return commits


async def test_the_transactions_of_one_pass_share_one_commit(engine: AsyncEngine) -> None:
    commits = _trace_commits(engine)
    values = await asyncio.gather(*(run_transaction(engine, _insert, v) for v in range(20)))
    assert values == list(range(20))
    assert commits == ["COMMIT"]  # one for all twenty (one each without grouping)
    assert _committed(engine) == list(range(20))


async def test_nobody_hears_of_a_transaction_before_it_is_committed(
    engine: AsyncEngine,
) -> None:
    seen: dict[int, list[int]] = {}

    async def member(value: int) -> None:
        await run_transaction(engine, _insert, value)
        # The moment its caller hears back, the row is durable for everyone.
        seen[value] = _committed(engine)

    await asyncio.gather(*(member(v) for v in range(5)))
    assert all(value in rows for value, rows in seen.items())
    assert sorted(seen) == list(range(5))


async def test_a_failing_member_is_undone_alone(engine: AsyncEngine) -> None:
    commits = _trace_commits(engine)
    results = await asyncio.gather(
        run_transaction(engine, _insert, 1),
        run_transaction(engine, _insert_then_fail, 2),
        run_transaction(engine, _insert, 3),
        return_exceptions=True,
    )
    assert results[0] == 1
    assert results[2] == 3
    assert isinstance(results[1], RuntimeError)
    assert "member 2" in str(results[1])
    assert commits == ["COMMIT"]  # same group: its failure did not end the group
    assert _committed(engine) == [1, 3]  # its own row went with it


def _orphan(conn: Connection) -> None:
    # Passes its statement; the deferred foreign key fails only at COMMIT.
    conn.execute(text("INSERT INTO child VALUES (999)"))


async def test_a_failed_commit_fails_every_member_and_writes_nothing(
    engine: AsyncEngine,
) -> None:
    results = await asyncio.gather(
        run_transaction(engine, _insert, 1),
        run_transaction(engine, _orphan),
        run_transaction(engine, _insert, 2),
        run_read(engine, _count),
        return_exceptions=True,
    )
    # Nobody is told "done" for a write that never became durable, nor given a count
    # that included those rows.
    assert all(isinstance(r, IntegrityError) for r in results), results
    assert _committed(engine) == []
    # The lane recovers: the next group commits.
    assert await run_transaction(engine, _insert, 3) == 3
    assert _committed(engine) == [3]


def _lose_the_transaction(conn: Connection) -> None:
    # As SQLite does by itself on a full disk or an I/O error: the whole transaction is gone.
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.execute("ROLLBACK")
    raise RuntimeError("disk I/O error")


@pytest.mark.parametrize("lost_in", ["transaction", "read"])
async def test_a_transaction_sqlite_rolled_back_takes_the_whole_group(
    engine: AsyncEngine, lost_in: str
) -> None:
    run = run_transaction if lost_in == "transaction" else run_read
    results = await asyncio.gather(
        run_transaction(engine, _insert, 1),
        run(engine, _lose_the_transaction),
        run_transaction(engine, _insert, 2),
        return_exceptions=True,
    )
    # The first member's row was lost with the transaction: it must not hear "done"; the
    # member after it began a group of its own.
    assert isinstance(results[0], RuntimeError)
    assert isinstance(results[1], RuntimeError)
    assert results[2] == 2
    assert _committed(engine) == [2]


async def test_a_read_in_an_open_group_waits_for_its_commit(engine: AsyncEngine) -> None:
    async def reader() -> tuple[int, list[int]]:
        counted = await run_read(engine, _count)
        return counted, _committed(engine)

    _, (counted, durable) = await asyncio.gather(run_transaction(engine, _insert, 7), reader())
    # It saw the group's row, and heard back only once that row was committed.
    assert counted == 1
    assert durable == [7]


async def test_a_read_with_no_group_open_answers_without_suspending(
    engine: AsyncEngine,
) -> None:
    await run_transaction(engine, _insert, 1)
    async with other_task_turns() as turns:
        before = turns.count
        assert await run_read(engine, _count) == 1
        assert turns.count == before  # nothing to wait for: no commit, no other task ran


async def test_a_full_group_commits_at_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "MAX_GROUP", 4)
    commits = _trace_commits(engine)
    await asyncio.gather(*(run_transaction(engine, _insert, v) for v in range(10)))
    assert commits == ["COMMIT"] * 3  # 4 + 4 + 2
    assert _committed(engine) == list(range(10))


async def test_the_other_connection_gets_the_group_committed_first(
    engine: AsyncEngine,
) -> None:
    """The engine's async connection (not the lane's) reads and writes the same file: the
    open group is committed before it starts, so it sees the group and is not locked out."""

    async def other_connection() -> int:
        async with begin(engine) as conn:
            seen = int((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())
            await conn.execute(text("INSERT INTO t VALUES (100)"))
        return seen

    async with begin(engine):  # its first connect suspends (aiosqlite's thread): not now
        pass
    # Without that, its INSERT would wait out the busy timeout and fail: "locked".
    _, seen = await asyncio.gather(run_transaction(engine, _insert, 1), other_connection())
    assert seen == 1
    assert _committed(engine) == [1, 100]


async def test_lanes_of_two_engines_over_one_file_take_turns(tmp_path: Path) -> None:
    """Two instances in one process over one file: one's open group is committed before
    the other's begins, instead of the second waiting out the busy timeout and failing
    ("locked": its wait blocks the loop that has to run the first one's COMMIT)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first, second = create_engine_for(url), create_engine_for(url)
    try:
        await run_transaction(first, _schema)
        await asyncio.gather(
            *(run_transaction(first if v % 2 else second, _insert, v) for v in range(40))
        )
        assert _committed(first) == list(range(40))
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_cancelled_caller_does_not_undo_its_committed_work(
    engine: AsyncEngine,
) -> None:
    """Its work ran before it waited (as a client that disconnects after the transaction):
    the group commits it, and the other members are answered as usual."""
    waiting = asyncio.create_task(run_transaction(engine, _insert, 1))
    other = asyncio.create_task(run_transaction(engine, _insert, 2))
    await asyncio.sleep(0)  # both ran their work and now wait for the group's COMMIT
    waiting.cancel()
    assert await other == 2
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert _committed(engine) == [1, 2]
