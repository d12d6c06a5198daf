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


async def test_a_tenant_selection_is_one_read_and_one_write_statement(world: World) -> None:
    unscoped = (await world.login("admin-portal", "admin"))["access_token"]
    ref = await world.tenant_ref(unscoped, "First Harbor Bank")
    await world.select_tenant(unscoped, ref)  # warms the tenant ref cache
    with statements(world) as seen:
        answer = await world.select_tenant(unscoped, ref)
    assert answer.status_code == 200, answer.text
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    assert [sql.split(" ")[0:2] for sql in seen] == [
        # The token's session, account and revoked jti, and the admin's grant on the FI
        # being selected: one read ...
        ["SELECT", "sessions.id,"],
        # ... and the switch, the family, its first token, the chain head (its row lock),
        # the event and its hash: one statement in autocommit.
        ["WITH", "bumped"],
    ], seen


async def test_an_sso_redemption_opens_its_session_in_one_statement(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    with statements(world) as seen:
        answer = await world.redeem_sso(minted.json()["access_token"])
    assert answer.status_code == 200, answer.text
    writes = [sql for sql in seen if not sql.startswith("SELECT")]
    session_writes = [sql for sql in writes if sql.startswith("WITH bumped")]
    assert len(session_writes) == 1, seen
    assert "COMMIT" not in writes[writes.index(session_writes[0]) :], seen


async def test_an_sso_mint_is_one_read_and_its_audit_record(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    await world.mint_sso(scoped["access_token"])  # warms the tenant ref cache
    with statements(world) as seen:  # an SSO mint writes nothing but its audit record
        answer = await world.mint_sso(scoped["access_token"])
    assert answer.status_code == 200, answer.text
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    assert [sql.split(" ")[0:2] for sql in seen] == [
        # The token's session, account and revoked jti, and the admin's live grant on the
        # session's FI: one read ...
        ["SELECT", "sessions.id,"],
        # ... and the event on its own, one statement in autocommit.
        ["WITH", "bumped"],
    ], seen


async def test_a_login_completes_in_one_statement(world: World) -> None:
    await world.authorization_code("admin-portal", "admin")  # warms caches
    with statements(world) as seen:
        await world.authorization_code("admin-portal", "admin")
    writes = [sql.split(" ")[0:3] for sql in seen if not sql.startswith("SELECT")]
    assert writes == [
        # The attempt, counted against the account and against the address: one
        # multi-row INSERT in autocommit, committed before they are counted (the
        # throttle's rule) with no BEGIN or COMMIT round trip.
        ["INSERT", "INTO", "login_attempts"],
        # Attempts forgiven, code issued, login.succeeded linked: one statement.
        ["WITH", "bumped", "AS"],
    ], seen
    assert "COMMIT" not in seen, seen


async def test_an_sso_redemption_is_its_claim_and_its_session(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    minted = await world.mint_sso(scoped["access_token"])
    await world.redeem_sso((await world.mint_sso(scoped["access_token"])).json()["access_token"])
    with statements(world) as seen:  # warmed: the client and the tenant ref are cached
        answer = await world.redeem_sso(minted.json()["access_token"])
    assert answer.status_code == 200, answer.text
    seen = [sql for sql in seen if not sql.startswith("SELECT keys.")]
    assert [sql.split(" ")[0:2] for sql in seen] == [
        # The one-time claim with the admin's account and grant read right after it:
        # one statement, atomic by itself, so no BEGIN or COMMIT round trips ...
        ["WITH", "claimed"],
        # ... and the session, its family, first token and audit record: one more.
        ["WITH", "bumped"],
    ], seen
