"""The SQL store's shared base: the engine and its dialect."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine

from ...embedded_sqlite import connect, run_read, run_transaction
from .autocommit_connections import (
    linked_in_autocommit,
    run_in_autocommit,
    statement_in_autocommit,
)
from .prepared import Prepared

P = ParamSpec("P")
R = TypeVar("R")


def rowcount(result: Any) -> int:
    """DML always yields a cursor result; its count tells whether a conditional write won."""
    assert isinstance(result, CursorResult)
    return result.rowcount


class SqlBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Reads are single statements: on PostgreSQL they run in autocommit, which spares
        # the BEGIN and ROLLBACK round trips a transaction around one SELECT would cost
        # (a statement sees one snapshot anyway).  Writes keep using ``begin(self.engine)``.
        self.reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else engine
        )

    async def transaction(
        self, work: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """*work* (plain SQLAlchemy Core on a sync connection) as one transaction.

        Every ``await conn.execute`` of an async method pays SQLAlchemy's async bridge; a
        hot write of five statements paid more for that than for the statements.  A sync
        function pays it at most once (embedded_sqlite.run_transaction)."""
        return await run_transaction(self.engine, work, *args, **kwargs)

    async def read(
        self, work: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """*work* as a read on ``self.reader`` (autocommit on PostgreSQL, on a connection
        kept for it: autocommit_connections.py)."""
        if self.dialect == "postgresql":
            return await run_in_autocommit(self.engine, self.reader, work, args, kwargs)
        return await run_read(self.reader, work, *args, **kwargs)

    async def first_row(self, statement: Prepared, params: Mapping[str, Any]) -> Any | None:
        """The first row of one read statement (the hot single-row lookups); on PostgreSQL
        run straight on a held autocommit connection (no greenlet)."""
        if self.dialect == "postgresql":
            rows, _ = await statement_in_autocommit(
                self.engine, self.reader, statement, params, fetch=True
            )
            return rows[0] if rows else None
        return await self.read(_first_row, statement, params)

    async def statement_rows(self, statement: Prepared, params: Mapping[str, Any]) -> list[Any]:
        """PostgreSQL: the rows of one statement, which commits by itself (autocommit) if it
        writes; like :meth:`first_row`, without a greenlet."""
        assert self.dialect == "postgresql"
        rows, _ = await statement_in_autocommit(
            self.engine, self.reader, statement, params, fetch=True
        )
        return rows

    async def linked_count(self, statement: Prepared, params: Mapping[str, Any]) -> int:
        """PostgreSQL: the rows one audited write statement (one that links an audit record)
        matched; it commits in a batch with the other audited writes of this process
        (autocommit_connections.AutocommitConnections.linked)."""
        assert self.dialect == "postgresql"
        return await linked_in_autocommit(self.engine, self.reader, statement, params)

    async def ping(self) -> None:
        async with connect(self.reader) as conn:
            await conn.execute(text("SELECT 1"))


def _first_row(conn: Connection, statement: Prepared, params: Mapping[str, Any]) -> Any | None:
    return statement.first(conn, params)
