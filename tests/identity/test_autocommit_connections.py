"""PostgreSQL's held autocommit connections (storage/autocommit_connections.py): kept and
reused, handed out in order and never more than half the pool, and dropped when broken,
when their caller is cancelled mid-statement, or when the engine is disposed; the same for
single statements run on them straight on the driver (``SqlBase.first_row``,
``statement_rows``, ``linked_count``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenantgate.identity.storage.autocommit_connections import batches_committed
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.prepared import Prepared
from tenantgate.identity.storage.sql_base import SqlBase

from .databases import postgres_schema

pytestmark = pytest.mark.anyio
POOL = 8  # so at most 4 are held


@pytest.fixture
def url() -> Iterator[str]:
    with postgres_schema() as schema_url:
        yield schema_url


@pytest.fixture
async def base(url: str) -> AsyncIterator[SqlBase]:
    engine = create_engine_for(url, pool_size=POOL)
    try:
        yield SqlBase(engine)
    finally:
        await engine.dispose()


def backend_pid(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def sleep_then_pid(conn: Connection, seconds: float) -> int:
    conn.exec_driver_sql(f"SELECT pg_sleep({seconds})")
    return backend_pid(conn)


def in_autocommit(conn: Connection) -> bool:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return bool(driver.autocommit)


def live_backends(url: str, pids: set[int]) -> set[int]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),))
        return {int(row[0]) for row in rows}


async def wait_gone(url: str, pids: set[int]) -> set[int]:
    """The backends of *pids* still alive after up to five seconds (a closed connection's
    backend exits a moment later)."""
    for _ in range(50):
        if not live_backends(url, pids):
            break
        await asyncio.sleep(0.1)
    return live_backends(url, pids)


def terminate(url: str, pid: int) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_one_connection_serves_reads_one_after_another_in_autocommit(
    base: SqlBase,
) -> None:
    pids = {await base.read(backend_pid) for _ in range(5)}
    assert len(pids) == 1
    assert await base.read(in_autocommit) is True


async def test_never_more_than_half_the_pool_and_everyone_is_served(base: SqlBase) -> None:
    pids = await asyncio.gather(*(base.read(sleep_then_pid, 0.02) for _ in range(40)))
    assert len(set(pids)) == POOL // 2
    # The other half stays for transactions meanwhile.
    engine: AsyncEngine = base.engine
    assert engine.sync_engine.pool.checkedout() == POOL // 2  # type: ignore[attr-defined]


def note_then_sleep(conn: Connection, index: int, order: list[int]) -> None:
    order.append(index)  # runs as soon as the caller holds a connection
    conn.exec_driver_sql("SELECT pg_sleep(0.01)")


async def test_a_connection_given_back_goes_to_the_longest_waiter(base: SqlBase) -> None:
    order: list[int] = []
    tasks = []
    for index in range(12):
        tasks.append(asyncio.create_task(base.read(note_then_sleep, index, order)))
        await asyncio.sleep(0.002)  # asked in this order
    await asyncio.gather(*tasks)
    # The first four open their own connections (whichever connects first starts first);
    # everyone after them waited, and was served strictly in the order they asked.
    assert sorted(order[:4]) == [0, 1, 2, 3], order
    assert order[4:] == list(range(4, 12)), order


async def test_a_disconnect_drops_the_broken_connection_and_the_idle_ones(
    base: SqlBase, url: str
) -> None:
    first, second = await asyncio.gather(
        base.read(sleep_then_pid, 0.05), base.read(sleep_then_pid, 0.05)
    )
    assert first != second
    held = {first, second}
    for pid in held:
        terminate(url, pid)
    # Whichever connection comes first is dead: one refusal, SQLAlchemy's error ...
    with pytest.raises(DBAPIError) as raised:
        await base.read(backend_pid)
    assert raised.value.connection_invalidated
    # ... and the other dead one went with it: the next read works on a new connection.
    fresh = await base.read(backend_pid)
    assert fresh not in held


async def test_a_caller_cancelled_mid_statement_leaves_its_connection_behind(
    base: SqlBase, url: str
) -> None:
    pid = await base.read(backend_pid)
    task = asyncio.create_task(base.read(sleep_then_pid, 30))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Not handed out again with a statement still running on it ...
    assert await asyncio.wait_for(base.read(backend_pid), 5) != pid
    # ... and closed.
    assert await wait_gone(url, {pid}) == set()


async def test_disposing_the_engine_closes_the_held_connections(url: str) -> None:
    engine = create_engine_for(url, pool_size=POOL)
    base = SqlBase(engine)
    pids = set(await asyncio.gather(*(base.read(sleep_then_pid, 0.05) for _ in range(4))))
    assert len(pids) == 4
    assert live_backends(url, pids) == pids
    await engine.dispose()
    assert await wait_gone(url, pids) == set()
    # A disposed engine opens new ones on its next use.
    again = create_engine_for(url, pool_size=POOL)
    try:
        assert await SqlBase(again).read(backend_pid) not in pids
    finally:
        await again.dispose()


# -- single statements straight on the driver ---------------------------------------------
metadata = MetaData()
notes = Table(
    "held_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", String(20), nullable=False),
)
PID = Prepared(select(func.pg_backend_pid().label("pid")))
SLEEP_THEN_PID = Prepared(
    select(func.pg_backend_pid().label("pid"), func.pg_sleep(bindparam("seconds")).label("slept"))
)
ADD_NOTE = Prepared(insert(notes).values(id=bindparam("id"), body=bindparam("body")))
ADD_NOTE_RETURNING = Prepared(
    insert(notes).values(id=bindparam("id"), body=bindparam("body")).returning(notes.c.id)
)
EDIT_NOTES = Prepared(update(notes).where(notes.c.id < bindparam("below")).values(body="edited"))
NOTE = Prepared(select(notes.c.body).where(notes.c.id == bindparam("id")))


async def pid_of(base: SqlBase, statement: Prepared = PID, seconds: float = 0) -> int:
    row = await base.first_row(statement, {"seconds": seconds} if seconds else {})
    assert row is not None
    return int(row.pid)


@pytest.fixture
async def with_notes(base: SqlBase) -> SqlBase:
    async with base.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return base


@pytest.fixture
def no_greenlet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any statement that would go through SQLAlchemy's greenlet bridge."""

    async def refused(*_: object, **__: object) -> None:
        raise AssertionError("went through run_sync")

    monkeypatch.setattr(AsyncConnection, "run_sync", refused)


async def test_statements_run_on_held_connections_without_a_greenlet(
    with_notes: SqlBase, url: str, no_greenlet: None
) -> None:
    base = with_notes
    pids = {await pid_of(base) for _ in range(5)}
    assert len(pids) == 1  # one held connection, reused
    assert await base.statement_rows(ADD_NOTE_RETURNING, {"id": 1, "body": "one"}) == [(1,)]
    assert await base.linked_count(ADD_NOTE, {"id": 2, "body": "two"}) == 1
    assert await base.linked_count(ADD_NOTE, {"id": 3, "body": "three"}) == 1
    assert await base.linked_count(EDIT_NOTES, {"below": 3}) == 2
    assert await base.first_row(NOTE, {"id": 9}) is None
    # Each write committed by itself: another connection sees it at once.
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other:
        rows = other.execute("SELECT id, body FROM held_notes ORDER BY id").fetchall()
    assert rows == [(1, "edited"), (2, "edited"), (3, "three")]


async def test_a_statements_error_is_sqlalchemys_and_the_connection_stays(
    with_notes: SqlBase, no_greenlet: None
) -> None:
    base = with_notes
    pid = await pid_of(base)
    await base.linked_count(ADD_NOTE, {"id": 1, "body": "one"})
    with pytest.raises(IntegrityError):
        await base.linked_count(ADD_NOTE, {"id": 1, "body": "again"})
    assert await base.statement_rows(NOTE, {"id": 1}) == [("one",)]
    assert await pid_of(base) == pid  # not a disconnect: kept


async def test_a_disconnect_under_a_statement_drops_the_held_connections(
    base: SqlBase, url: str
) -> None:
    held = set(
        await asyncio.gather(pid_of(base, SLEEP_THEN_PID, 0.05), pid_of(base, SLEEP_THEN_PID, 0.05))
    )
    assert len(held) == 2
    for pid in held:
        terminate(url, pid)
    with pytest.raises(DBAPIError) as raised:
        await base.first_row(PID, {})
    assert raised.value.connection_invalidated
    # The other dead one went with it, and the pool did not keep them either.
    assert await pid_of(base) not in held
    assert (await base.read(backend_pid)) not in held


async def test_a_statement_cancelled_midway_leaves_its_connection_behind(
    base: SqlBase, url: str
) -> None:
    pid = await pid_of(base)
    task = asyncio.create_task(pid_of(base, SLEEP_THEN_PID, 30))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.wait_for(pid_of(base), 5) != pid
    assert await wait_gone(url, {pid}) == set()


# -- audited writes, committed in batches ------------------------------------------------
async def test_concurrent_linked_writes_commit_together_each_with_its_count(
    with_notes: SqlBase, url: str
) -> None:
    base = with_notes
    counts = await asyncio.gather(
        *(base.linked_count(ADD_NOTE, {"id": n, "body": f"n{n}"}) for n in range(40))
    )
    assert counts == [1] * 40
    assert batches_committed(base.engine) >= 1  # not forty transactions
    # A batch's statements run in arrival order, each seeing the ones before it.
    edits = await asyncio.gather(
        base.linked_count(EDIT_NOTES, {"below": 10}),
        base.linked_count(ADD_NOTE, {"id": 100, "body": "late"}),
        base.linked_count(EDIT_NOTES, {"below": 101}),
    )
    assert list(edits) == [10, 1, 41]
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other:
        bodies = {row[0] for row in other.execute("SELECT body FROM held_notes").fetchall()}
    assert bodies == {"edited"}


async def test_a_failing_write_in_a_batch_fails_alone(with_notes: SqlBase, url: str) -> None:
    base = with_notes
    await base.linked_count(ADD_NOTE, {"id": 5, "body": "first"})
    before = batches_committed(base.engine)
    results = await asyncio.gather(
        *(base.linked_count(ADD_NOTE, {"id": n, "body": f"n{n}"}) for n in range(10)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], IntegrityError)
    assert isinstance(results[5], IntegrityError)  # the duplicate, and only it
    assert [r for i, r in enumerate(results) if i != 5] == [1] * 9
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other:
        rows: dict[int, str] = dict(other.execute("SELECT id, body FROM held_notes").fetchall())
    assert rows == {**{n: f"n{n}" for n in range(10)}, 5: "first"}
    assert batches_committed(base.engine) == before  # the batch committed nothing


async def test_a_write_cancelled_before_its_batch_is_left_out(
    with_notes: SqlBase, url: str
) -> None:
    base = with_notes
    slow = asyncio.create_task(base.linked_count(SLEEP_THEN_PID, {"seconds": 0.3}))
    await asyncio.sleep(0.05)  # in flight: the next arrivals wait for the next batch
    dropped = asyncio.create_task(base.linked_count(ADD_NOTE, {"id": 1, "body": "dropped"}))
    kept = asyncio.create_task(base.linked_count(ADD_NOTE, {"id": 2, "body": "kept"}))
    await asyncio.sleep(0.05)
    dropped.cancel()
    assert await slow == 1
    assert await kept == 1
    with pytest.raises(asyncio.CancelledError):
        await dropped
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as other:
        assert other.execute("SELECT id FROM held_notes").fetchall() == [(2,)]


async def test_a_batch_broken_by_a_disconnect_is_not_run_again(
    with_notes: SqlBase, url: str
) -> None:
    base = with_notes
    first = asyncio.create_task(base.linked_count(SLEEP_THEN_PID, {"seconds": 0.2}))
    await asyncio.sleep(0.05)
    batch = [
        asyncio.create_task(base.linked_count(ADD_NOTE, {"id": 1, "body": "one"})),
        asyncio.create_task(base.linked_count(SLEEP_THEN_PID, {"seconds": 5})),
        asyncio.create_task(base.linked_count(ADD_NOTE, {"id": 2, "body": "two"})),
    ]
    await first
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    for _ in range(50):  # the batch's backend, sleeping inside its transaction
        with psycopg.connect(dsn, autocommit=True) as conn:
            sleeping = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep%'"
                " AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchall()
        if sleeping:
            break
        await asyncio.sleep(0.05)
    assert len(sleeping) == 1
    terminate(url, sleeping[0][0])
    results = await asyncio.gather(*batch, return_exceptions=True)
    # Whether the COMMIT happened is unknown to the client, so no statement is run again:
    # each is told the disconnect.
    for result in results:
        assert isinstance(result, DBAPIError)
        assert result.connection_invalidated
    with psycopg.connect(dsn) as other:
        assert other.execute("SELECT count(*) FROM held_notes").fetchone() == (0,)
    assert await pid_of(base) != sleeping[0][0]  # and the broken connection is gone


async def test_when_the_batches_stop_nobody_is_left_waiting(with_notes: SqlBase) -> None:
    """The task that runs the batches cancelled (its loop closing): the caller whose write
    was running and those queued behind it are all told, none waits forever."""
    base = with_notes
    running = asyncio.create_task(base.linked_count(SLEEP_THEN_PID, {"seconds": 5}))
    await asyncio.sleep(0.1)
    queued = [
        asyncio.create_task(base.linked_count(ADD_NOTE, {"id": n, "body": "q"})) for n in range(3)
    ]
    await asyncio.sleep(0.05)
    held = base.engine.sync_engine.pool.__dict__["_tenantgate_autocommit_connections"]
    assert held._batching is not None
    held._batching.cancel()
    done, pending = await asyncio.wait([running, *queued], timeout=5)
    assert pending == set()
    for task in done:
        assert task.cancelled()
