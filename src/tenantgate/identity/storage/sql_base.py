"""The SQL store's shared base: the engine and its dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    text,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncEngine

from ...embedded_sqlite import connect


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

    async def ping(self) -> None:
        async with connect(self.reader) as conn:
            await conn.execute(text("SELECT 1"))
