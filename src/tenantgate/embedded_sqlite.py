"""SQLite statements run on the event loop's own thread.

aiosqlite hands every call (cursor, execute, fetch, commit) to a worker thread and wakes
the event loop when it is done.  For a server whose transactions take a few statements of
a few microseconds each, those hand-offs cost far more than the statements: every one is
a thread wake-up, a write to the loop's self-pipe and a trip through the ready queue, and
the single connection stays checked out across all of them while the loop serves
everything else.  Profiles of the identity server under load showed the connection
queue, not SQLite, bounding throughput.

:class:`InlineConnection` keeps aiosqlite's interface (so SQLAlchemy's ``aiosqlite``
dialect drives it unchanged) but runs each call immediately.  That is only sound when one
connection serves the whole process, so a transaction never waits on a lock held by
another transaction of the same loop: callers pair it with a pool of exactly one
connection, and concurrent transactions queue for it asynchronously.  Another *process*
holding the write lock (an operator command, a migration) makes the loop wait up to the
busy timeout, which is why that timeout is short.

Hot paths go one step further (:func:`run_transaction`, :func:`run_read`): a function of
plain synchronous SQLAlchemy Core runs on a second, synchronous engine over the same file
(the *sync lane*), behind the same gate, so no other transaction of the process is ever
active beside it.  That skips SQLAlchemy's async adaptation entirely — a coroutine and a
greenlet switch per DBAPI call — and roughly halves what a five-statement transaction
costs (measured 461 µs against 267 µs on this project's 2-core machine).

The lane commits in groups (:mod:`tenantgate.group_commit`): every transaction that reaches
it while one is open runs in a savepoint of that transaction, and one COMMIT at the end of
the event loop's pass makes them all durable at once; each caller gets its answer only
after that COMMIT.  WAL checkpoints run on a thread of their own
(:mod:`tenantgate.wal_checkpoints`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite
from sqlalchemy import Connection, Engine, QueuePool, create_engine, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .group_commit import GroupCommit
from .wal_checkpoints import BACKSTOP_PAGES, Checkpointer

#: How long a statement waits for another process's write lock, in seconds.
BUSY_TIMEOUT_S = 5.0
# Marks an engine's pool (shared with engines derived through execution_options).
_INLINE = "_tenantgate_inline"
_LANE = "_tenantgate_sync_lane"
P = ParamSpec("P")
R = TypeVar("R")


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, with every call executed at once on the calling thread.

    Connecting and closing still go through aiosqlite's worker thread (they are rare);
    the sqlite3 connection it opens allows use from the loop's thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _open(path: str) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)


def _open_lane(path: str) -> sqlite3.Connection:
    # The lane begins, nests and commits its transactions itself (group commit): the
    # driver must not open one behind its back before the first write.
    return sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
    )


def create_inline_engine(
    url: str, path: str, *, on_connect: Callable[[Any, Any], None] | None = None
) -> AsyncEngine:
    """An engine over one :class:`InlineConnection` to the SQLite file *path* (*url* names
    the same file), with its sync lane; use it through :func:`begin`, :func:`connect`,
    :func:`run_transaction` and :func:`run_read`.  *on_connect* (a ``connect`` event
    listener: PRAGMAs) runs for every connection either of them opens."""

    async def create() -> aiosqlite.Connection:
        connection = InlineConnection(partial(_open, path), iter_chunk_size=64)
        return await connection

    # Exactly one connection: inline statements are only sound when no other transaction
    # of this process can hold SQLite's lock; the rest queue at the gate below.
    engine = create_async_engine(
        url, async_creator=create, pool_size=1, max_overflow=0, pool_timeout=60
    )
    lane_engine = create_engine(
        f"sqlite:///{path}",
        creator=partial(_open_lane, path),
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
    )
    if on_connect is not None:
        event.listen(engine.sync_engine, "connect", on_connect)
        event.listen(lane_engine, "connect", on_connect)
    # Checkpoints run on a thread of their own (wal_checkpoints): the loop's connections
    # only checkpoint past the backstop.
    event.listen(engine.sync_engine, "connect", _checkpoint_backstop)
    event.listen(lane_engine, "connect", _checkpoint_backstop)
    lane = _SyncLane(lane_engine, path)
    # Disposing the engine replaces its pool (and with it these marks): the lane goes too.
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: lane.close())
    engine.sync_engine.pool.__dict__.update({_INLINE: True, _LANE: lane})
    return engine


def _checkpoint_backstop(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    cursor.close()


def runs_inline(engine: AsyncEngine) -> bool:
    """True for an engine from :func:`create_inline_engine` (or one derived from it)."""
    return bool(engine.sync_engine.pool.__dict__.get(_INLINE, False))


def _gate(engine: AsyncEngine) -> asyncio.Lock:
    """The FIFO gate in front of the engine's one connection, for the running loop."""
    loop = asyncio.get_running_loop()
    state = engine.sync_engine.pool.__dict__
    gate: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = state.get("_tenantgate_gate")
    if gate is None or gate[0] is not loop:
        gate = (loop, asyncio.Lock())
        state["_tenantgate_gate"] = gate
    return gate[1]


@asynccontextmanager
async def _inline_scope(
    engine: AsyncEngine, *, transaction: bool
) -> AsyncIterator[AsyncConnection]:
    # Requests take the one connection in the order they asked for it.  The pool's own
    # queue lets whoever asks first after a release take it, even ahead of tasks already
    # waiting; under load that starved some requests for seconds.  asyncio.Lock queues
    # newcomers behind waiters.  And SQLAlchemy's context managers close the connection in
    # a task of their own, waited for shielded from cancellation: a suspension while the
    # connection is still out.  Inline calls cannot be cancelled part-way (they never
    # suspend), so closing directly is as safe and hands the connection on at once.
    async with _gate(engine):
        lane = _lane(engine)
        if lane is not None:
            # This is the other connection: the lane's open group must be committed
            # before it reads (to see it) or writes (SQLite's lock).
            lane.groups.flush()
        conn = await engine.connect()
        try:
            if transaction:
                async with conn.begin():
                    yield conn
            else:
                yield conn
        finally:
            await conn.close()


def connect(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """``engine.connect()``, without the suspension on exit when statements run inline."""
    return _inline_scope(engine, transaction=False) if runs_inline(engine) else engine.connect()


def begin(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """``engine.begin()``, without the suspension on exit when statements run inline."""
    return _inline_scope(engine, transaction=True) if runs_inline(engine) else engine.begin()


class _SyncLane:
    """The lane's one connection, kept open: within a loop only the gate's holder uses it,
    so checking it out of a pool and back for every transaction (~16 µs) buys nothing.  Its
    transactions are committed in groups (:class:`GroupCommit`), which also keeps it to
    one thread at a time should two loops in two threads ever share the engine."""

    def __init__(self, engine: Engine, path: str) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self.groups = GroupCommit(self._connection, path)
        self.checkpointer = Checkpointer(path)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    def close(self) -> None:
        self.groups.close(self._release)
        self.engine.dispose()
        self.checkpointer.stop()

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _lane(engine: AsyncEngine) -> _SyncLane | None:
    lane: _SyncLane | None = engine.sync_engine.pool.__dict__.get(_LANE)
    return lane


async def run_transaction(
    engine: AsyncEngine,
    work: Callable[Concatenate[Connection, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """*work* (plain SQLAlchemy Core on a sync connection) as one transaction: on the sync
    lane behind the gate for an inline engine, else in one ``run_sync`` hop (one greenlet
    for all its statements instead of one per ``await conn.execute``)."""
    lane = _lane(engine)
    if lane is None:
        async with begin(engine) as conn:
            return await conn.run_sync(work, *args, **kwargs)
    async with _gate(engine):
        answer: asyncio.Future[R] = lane.groups.run(work, args, kwargs, write=True)
    return await answer


async def run_read(
    engine: AsyncEngine,
    work: Callable[Concatenate[Connection, P], R],
    *args: P.args,
    **kwargs: P.kwargs,
) -> R:
    """*work* on a connection without an explicit transaction (reads), as
    :func:`run_transaction` runs it."""
    lane = _lane(engine)
    if lane is None:
        async with connect(engine) as conn:
            return await conn.run_sync(work, *args, **kwargs)
    async with _gate(engine):
        answer: asyncio.Future[R] = lane.groups.run(work, args, kwargs, write=False)
    return await answer
