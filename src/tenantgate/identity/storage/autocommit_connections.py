"""PostgreSQL: the connections single statements run on in autocommit, kept checked out.

Reads and the one-statement writes (``SqlBase.read``, and ``first_row`` /
``statement_rows`` / ``linked_count``, which run one statement straight on psycopg from
the caller's coroutine: :meth:`AutocommitConnections.statement`, and audited ones in
batches: :meth:`AutocommitConnections.linked`) need no transaction of their own, so they
run on connections in autocommit mode.  Checking one out of
SQLAlchemy's pool for every statement and back cost more than the statement: a new
``Connection``, the AUTOCOMMIT isolation level set on the driver at checkout and reset at
checkin, the reset-on-return ROLLBACK, each of those a greenlet switch and a hop through
psycopg's async wait loop.  Measured on this project's 2-core machine, one indexed
single-row SELECT through the store cost ~470-580 µs of the server's CPU that way, against
~150 µs for the same SELECT on a bare psycopg connection.

:class:`AutocommitConnections` keeps up to half the engine's pool checked out, already in
autocommit, and hands them to callers in the order they asked (a connection given back
goes straight to the longest waiter, so no newcomer can starve it).  The rest of the pool
stays for transactions.  A connection is dropped, not reused, when

* the statement broke it (SQLAlchemy invalidated it on a disconnect): then every idle one
  goes as well, as SQLAlchemy's pool does on a disconnect, since a database restart broke
  them all;
* its caller was cancelled mid-statement (what the server still has in flight on it is
  unknown);
* the engine was disposed.

One set per engine pool and event loop (psycopg's async connections belong to the loop
that opened them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .prepared import Params, Prepared, run_batch_on_psycopg, run_on_psycopg

R = TypeVar("R")
_STATE = "_tenantgate_autocommit_connections"
#: The most audited writes one batch carries.
MAX_BATCH = 64


async def run_in_autocommit(
    engine: AsyncEngine,
    reader: AsyncEngine,
    work: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
) -> R:
    """``work(connection, *args, **kwargs)`` on a held autocommit connection of *reader*
    (an AUTOCOMMIT view of *engine*, sharing its pool)."""
    return await _connections(engine, reader).run(work, args, kwargs)


async def statement_in_autocommit(
    engine: AsyncEngine, reader: AsyncEngine, statement: Prepared, params: Params, *, fetch: bool
) -> tuple[list[Any], int]:
    """One *statement* on a held autocommit connection: (its rows, its row count)."""
    return await _connections(engine, reader).statement(statement, params, fetch=fetch)


async def linked_in_autocommit(
    engine: AsyncEngine, reader: AsyncEngine, statement: Prepared, params: Params
) -> int:
    """The row count of one audited write *statement* (it links an audit record), committed
    in a batch with the others of this process (:meth:`AutocommitConnections.linked`)."""
    return await _connections(engine, reader).linked(statement, params)


def batches_committed(engine: AsyncEngine) -> int:
    """How many batches of more than one audited write *engine*'s held connections have
    committed on this process's current loop (0 before any)."""
    held: AutocommitConnections | None = engine.sync_engine.pool.__dict__.get(_STATE)
    return held.batches if held is not None else 0


def _connections(engine: AsyncEngine, reader: AsyncEngine) -> AutocommitConnections:
    loop = asyncio.get_running_loop()
    state = engine.sync_engine.pool.__dict__
    held: AutocommitConnections | None = state.get(_STATE)
    if held is None or held.loop is not loop or held.closed:
        size = engine.sync_engine.pool.size() if hasattr(engine.sync_engine.pool, "size") else 2
        held = state[_STATE] = AutocommitConnections(reader, loop, max(1, size // 2))
        event.listen(engine.sync_engine, "engine_disposed", held.on_disposed)
    return held


class AutocommitConnections:
    def __init__(self, reader: AsyncEngine, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.loop = loop
        self.limit = limit
        self.closed = False
        self._reader = reader
        self._idle: list[AsyncConnection] = []
        self._waiters: deque[asyncio.Future[AsyncConnection | None]] = deque()
        self._held = 0  # connections out of the pool, idle or in use
        self._closing: set[asyncio.Task[None]] = set()
        # Audited writes waiting for the next batch, and the task running batches.
        self._linked: list[tuple[Prepared, Params, asyncio.Future[int]]] = []
        self._batching: asyncio.Task[None] | None = None
        self.batches = 0  # batches of more than one statement committed (tests, figures)

    async def run(
        self, work: Callable[..., R], args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> R:
        conn = await self._acquire()
        try:
            result = await conn.run_sync(_unit, work, args, kwargs)
        except BaseException as exc:
            await self._release_after(conn, exc)
            raise
        self._release(conn, reusable=not conn.invalidated)
        return result

    async def statement(
        self, statement: Prepared, params: Params, *, fetch: bool
    ) -> tuple[list[Any], int]:
        """*statement* on a held connection, straight on psycopg from this coroutine
        (prepared.run_on_psycopg): no greenlet, no switches in and out of it per driver
        call, which cost as much as the statement's own client-side work.  Through
        SQLAlchemy, as :meth:`run` does, when the statement needs it."""
        conn = await self._acquire()
        sync = conn.sync_connection
        assert sync is not None  # held connections are connected
        try:
            done = await run_on_psycopg(statement, sync, params, fetch=fetch)
            if done is None:
                through = (statement, params, fetch)
                done = await conn.run_sync(_unit, _through_sqlalchemy, through, {})
        except BaseException as exc:
            await self._release_after(conn, exc)
            raise
        self._release(conn, reusable=not conn.invalidated)
        return done

    # -- audited writes, in batches -----------------------------------------------------
    async def linked(self, statement: Prepared, params: Params) -> int:
        """*statement*'s row count; it runs with the audited writes that reach this process
        meanwhile, as one transaction ("Audited writes in batches", docs/architecture.md).

        Every such statement bumps the audit chain's one head row, whose lock every
        appender on every instance queues behind, one transaction after another: alone,
        each pays that queue's round trip.  While a batch is in flight, the statements
        that arrive wait for the next one, so under load one COMMIT, and one pass through
        the head's lock, carries many; with no load a statement runs at once, alone.  If a
        statement of a batch fails, nothing of the batch is written and each statement is
        run again alone, so only the failing one fails.  A caller cancelled before its batch
        starts is left out of it; once it started, its statement may commit (as one
        cancelled mid-statement may)."""
        answer: asyncio.Future[int] = self.loop.create_future()
        self._linked.append((statement, params, answer))
        if self._batching is None:
            self._batching = self.loop.create_task(self._run_batches())
        return await answer

    async def _run_batches(self) -> None:
        batch: list[tuple[Prepared, Params, asyncio.Future[int]]] = []
        try:
            while self._linked:
                batch = [m for m in self._linked[:MAX_BATCH] if not m[2].done()]
                del self._linked[:MAX_BATCH]
                if len(batch) == 1:
                    await self._alone(*batch[0])
                elif batch:
                    await self._together(batch)
        except BaseException as exc:  # cancelled (the loop is closing): nobody stays waiting
            for _, _, answer in [*batch, *self._linked]:
                _settle(answer, error=exc)
            self._linked.clear()
            raise
        finally:
            self._batching = None

    async def _alone(
        self, statement: Prepared, params: Params, answer: asyncio.Future[int]
    ) -> None:
        try:
            _, count = await self.statement(statement, params, fetch=False)
        except Exception as exc:
            _settle(answer, error=exc)
            return
        _settle(answer, count)

    async def _together(self, batch: list[tuple[Prepared, Params, asyncio.Future[int]]]) -> None:
        try:
            conn = await self._acquire()
        except Exception as exc:  # no connection to be had (the database is down)
            for _, _, answer in batch:
                _settle(answer, error=exc)
            return
        sync = conn.sync_connection
        assert sync is not None
        try:
            counts = await run_batch_on_psycopg(sync, [(s, p) for s, p, _ in batch])
        except DBAPIError as exc:
            await self._release_after(conn, exc)
            if exc.connection_invalidated:  # the COMMIT's fate is unknown: no second try
                for _, _, answer in batch:
                    _settle(answer, error=exc)
                return
            counts = None
        except BaseException as exc:  # anything else, or cancelled: every member is told
            await self._release_after(conn, exc)
            for _, _, answer in batch:
                _settle(answer, error=exc)
            if not isinstance(exc, Exception):
                raise
            return
        else:
            self._release(conn, reusable=not conn.invalidated)
        if counts is None:  # a statement failed, or one needs SQLAlchemy: one by one
            for member in batch:
                await self._alone(*member)
            return
        self.batches += 1
        for (_, _, answer), count in zip(batch, counts, strict=True):
            _settle(answer, count)

    async def _release_after(self, conn: AsyncConnection, exc: BaseException) -> None:
        """Give *conn* back after its statement raised *exc*: dropped if that broke it (a
        disconnect found off SQLAlchemy's path is invalidated here, as SQLAlchemy would)
        or if its caller was cancelled mid-statement (its state is unknown)."""
        if isinstance(exc, DBAPIError) and exc.connection_invalidated and not conn.invalidated:
            await conn.invalidate(exc)
        finished = isinstance(exc, Exception)
        self._release(conn, reusable=finished and not conn.invalidated)

    # -- handing connections out and back ------------------------------------------------
    async def _acquire(self) -> AsyncConnection:
        if self._idle and not self._waiters:
            return self._idle.pop()
        if self._held >= self.limit:
            waiter: asyncio.Future[AsyncConnection | None] = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._pass_on(waiter.result())  # handed over just as we were cancelled
                raise
            if handed is not None:
                return handed
        # Room for one more (or a dropped connection's place was handed to us: None).
        self._held += 1
        try:
            return await self._reader.connect()
        except BaseException:
            self._held -= 1
            self._pass_on(None)
            raise

    def _release(self, conn: AsyncConnection, *, reusable: bool) -> None:
        if reusable and not self.closed and not conn.closed:
            self._pass_on(conn)
            return
        broken = conn.invalidated
        self._drop(conn)
        if broken:  # a disconnect: the idle ones are most likely broken too
            while self._idle:
                self._drop(self._idle.pop())
        self._pass_on(None)

    def _pass_on(self, conn: AsyncConnection | None) -> None:
        """Give *conn* (or, for None, the right to open one) to the longest waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    def _drop(self, conn: AsyncConnection) -> None:
        self._held -= 1
        task = self.loop.create_task(_close_quietly(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # -- the engine's disposal ---------------------------------------------------------
    def on_disposed(self, _engine: Engine) -> None:
        """``engine_disposed``: runs inside ``AsyncEngine.dispose``'s greenlet, so the
        idle connections can be closed here, synchronously; ones in use are closed when
        they come back."""
        self.closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._held -= 1
            with contextlib.suppress(Exception):  # another loop's, or already broken
                conn.sync_connection.invalidate()  # type: ignore[union-attr]
                conn.sync_connection.close()  # type: ignore[union-attr]


def _unit(
    conn: Connection, work: Callable[..., R], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> R:
    """*work*, then the end of the transaction SQLAlchemy began on its own if a statement
    went through ``Connection.execute`` (in autocommit the driver has none open: the
    ROLLBACK sends nothing)."""
    try:
        return work(conn, *args, **kwargs)
    finally:
        if conn.in_transaction() and not conn.invalidated:
            conn.rollback()


def _settle(
    answer: asyncio.Future[int], count: int = 0, *, error: BaseException | None = None
) -> None:
    if answer.done():  # its caller was cancelled meanwhile
        return
    if isinstance(error, asyncio.CancelledError):  # the loop is shutting down
        answer.cancel()
    elif error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(count)


def _through_sqlalchemy(
    conn: Connection, statement: Prepared, params: Params, fetch: bool
) -> tuple[list[Any], int]:
    if fetch:
        return statement.rows(conn, params), -1
    return [], statement.run(conn, params)


async def _close_quietly(conn: AsyncConnection) -> None:
    with contextlib.suppress(Exception):
        if conn.invalidated:
            await conn.close()
        else:
            await conn.invalidate()
            await conn.close()
