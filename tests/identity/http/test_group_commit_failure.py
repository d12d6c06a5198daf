"""SQLite's group commit seen from the token endpoint: when the COMMIT that several
refreshes share fails, every one of them is answered 503 and none has rotated, so each
client's retry with the same token succeeds instead of looking like reuse."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import DBAPIError

from tenantgate import group_commit
from tenantgate.identity.storage import schema
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import World
from .test_write_atomicity import assert_database_refused

pytestmark = pytest.mark.anyio


@contextmanager
def commits_fail() -> Iterator[list[str]]:
    """Every group's COMMIT fails as a full disk makes it fail; the statements before it
    run as usual.  Yields the COMMITs attempted."""
    original = group_commit._control
    attempted: list[str] = []

    def control(conn: Connection, sql: str) -> None:
        if sql == "COMMIT":
            attempted.append(sql)
            failure = sqlite3.OperationalError("database or disk is full")
            raise DBAPIError.instance(sql, (), failure, sqlite3.Error, dialect=conn.dialect)
        original(conn, sql)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(group_commit, "_control", control)
        yield attempted


async def _refresh_tokens(world: World) -> int:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    async with store.engine.connect() as conn:
        count = select(func.count()).select_from(schema.refresh_tokens)
        return int((await conn.execute(count)).scalar_one())


async def test_refreshes_whose_shared_commit_fails_answer_503_and_rotate_nothing(
    world: World,
) -> None:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    if store.dialect != "sqlite":
        pytest.skip("group commit is the embedded SQLite lane's")
    sessions = [await world.admin_in("First Harbor Bank") for _ in range(3)]
    before = await _refresh_tokens(world)
    with commits_fail() as attempted:
        answers = await asyncio.gather(
            *(world.refresh("admin-portal", s["refresh_token"]) for s in sessions)
        )
    assert attempted  # the failure was the COMMIT's, after every statement had run
    for answer in answers:
        assert_database_refused(answer)
    assert await _refresh_tokens(world) == before
    assert await world.audit_events("token.refreshed") == []
    # Nothing was rotated: the same tokens work, and nobody is taken for a thief.
    for session in sessions:
        again = await world.refresh("admin-portal", session["refresh_token"])
        assert again.status_code == 200, again.text
    assert await world.audit_events("token.refresh_reuse_detected") == []
