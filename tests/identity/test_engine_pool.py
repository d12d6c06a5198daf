"""The PostgreSQL pool under more concurrent requests than connections: it opens its
connections once and keeps them (an overflow pool kept opening and closing backends)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.sql_base import SqlBase

from .databases import postgres_schema

pytestmark = pytest.mark.anyio


def _one(conn: Connection) -> int:
    return int(conn.execute(text("SELECT 1")).scalar_one())


async def test_a_busy_pool_opens_no_new_connections_once_warm() -> None:
    with postgres_schema() as url:
        engine = create_engine_for(url)
        opened: list[Any] = []
        event.listen(engine.sync_engine, "connect", lambda conn, _record: opened.append(conn))
        store = SqlBase(engine)

        async def client(rounds: int) -> None:
            for i in range(rounds):
                # Reads and one-statement writes run in autocommit, transactions do not:
                # both kinds share the pool.
                if i % 2:
                    await store.read(_one)
                else:
                    await store.transaction(_one)

        try:
            await asyncio.gather(*(client(4) for _ in range(50)))  # warm: up to 20 open
            warm = len(opened)
            await asyncio.gather(*(client(40) for _ in range(50)))
        finally:
            await engine.dispose()
    assert 0 < warm <= 20
    assert len(opened) == warm, f"{len(opened) - warm} connections opened after warm-up"
