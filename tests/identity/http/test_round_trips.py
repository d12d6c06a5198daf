"""Statements per hot request on PostgreSQL, where each one is a network round trip (and the
audit ones run under the chain head's row lock).  SQLite's sync lane runs its statements on
the driver's cursor, past SQLAlchemy's events, so these counts are PostgreSQL's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import World

pytestmark = pytest.mark.anyio


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    if store.dialect != "postgresql":
        pytest.skip("SQLite's lane runs past SQLAlchemy's statement events")
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(" ".join(sql.split())[:60])

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_a_refresh_is_one_read_and_a_three_statement_transaction(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    first = await world.refresh("admin-portal", scoped["refresh_token"])  # warms key caches
    with statements(world) as seen:
        answer = await world.refresh("admin-portal", first.json()["refresh_token"])
    assert answer.status_code == 200, answer.text
    # The test config reloads keys on every use (key_cache_seconds=0); servers keep them.
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    assert [sql.split(" ")[0:2] for sql in seen] == [
        ["SELECT", "refresh_tokens.digest,"],  # the refresh context, in autocommit
        ["WITH", "won"],  # rotation and the new token
        ["UPDATE", "audit_chain_head"],  # the chain head (its row lock) ...
        ["WITH", "appended"],  # ... the event and the new head hash
    ], seen
