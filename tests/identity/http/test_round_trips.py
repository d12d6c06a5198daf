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

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", commit)


async def test_a_refresh_is_one_read_and_one_write_statement(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    first = await world.refresh("admin-portal", scoped["refresh_token"])  # warms key caches
    with statements(world) as seen:
        answer = await world.refresh("admin-portal", first.json()["refresh_token"])
    assert answer.status_code == 200, answer.text
    # The test config reloads keys on every use (key_cache_seconds=0); servers keep them.
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    assert [sql.split(" ")[0:2] for sql in seen] == [
        ["SELECT", "refresh_tokens.digest,"],  # the refresh context, in autocommit
        # Rotation, new token, chain head (its row lock), event and its hash: one
        # statement in autocommit, so no BEGIN or COMMIT either.
        ["WITH", "won"],
    ], seen


async def test_an_audited_write_links_in_one_statement(world: World) -> None:
    unscoped = (await world.login("admin-portal", "admin"))["access_token"]
    ref = await world.tenant_ref(unscoped, "First Harbor Bank")
    with statements(world) as seen:  # a tenant selection: a new family, audited
        answer = await world.select_tenant(unscoped, ref)
    assert answer.status_code == 200, answer.text
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    links = [sql for sql in seen if "audit_chain_head" in sql]
    assert len(links) == 1, seen
    assert links[0].startswith("WITH bumped AS"), seen
    # Last before the commit: the head's lock is held for the commit's round trip only.
    assert seen[seen.index(links[0]) + 1] == "COMMIT", seen
