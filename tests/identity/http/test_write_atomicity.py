"""A write and its audit event commit together or not at all: with the audit append
failing half-way, refresh, tenant selection and SSO redemption leave nothing behind.

On PostgreSQL each of these writes and its audit record are one statement
(storage/linked_writes.py): the tests below also make the append fail inside that
statement, in the database, and find nothing of the write either."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, delete, func, insert, select

from tenantgate.identity.storage import linked_writes, schema, sql_audit, sql_sessions
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import World

pytestmark = pytest.mark.anyio


def _unavailable(*_: object) -> None:
    raise RuntimeError("audit trail unavailable")


@contextmanager
def audit_unavailable() -> Iterator[None]:
    """The append fails after the write's own statements ran in the same transaction."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sql_sessions, "append_audit_in", _unavailable)
        patch.setattr(linked_writes, "link_parameters", _unavailable)
        yield


@contextmanager
def audit_refused_by_the_database() -> Iterator[None]:
    """PostgreSQL: the one-statement write's audit INSERT breaks a constraint (event NOT
    NULL), after the statement's other writes ran."""
    original = sql_audit.unnumbered_record

    def without_event(event: Any) -> dict[str, Any]:
        return {**original(event), "event": None}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(linked_writes, "unnumbered_record", without_event)
        yield


def assert_server_error(answer: httpx.Response) -> None:
    """A generic 500 that says nothing about the cause."""
    assert answer.status_code == 500, answer.text
    assert answer.json() == {
        "error": "server_error",
        "error_description": "The request could not be processed.",
    }
    assert answer.headers["cache-control"] == "no-store"


async def _rows(world: World, table: Table) -> int:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_a_refresh_that_cannot_be_audited_does_not_rotate(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    tokens_before = await _rows(world, schema.refresh_tokens)
    with audit_unavailable():
        assert_server_error(await world.refresh("admin-portal", scoped["refresh_token"]))

    assert await _rows(world, schema.refresh_tokens) == tokens_before
    assert await world.audit_events("token.refreshed") == []
    # The presented token was not marked rotated: presenting it again is no reuse.
    again = await world.refresh("admin-portal", scoped["refresh_token"])
    assert again.status_code == 200, again.text
    assert await world.audit_events("token.refresh_reuse_detected") == []


def postgres_only(world: World) -> None:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    if store.dialect != "postgresql":
        pytest.skip("SQLite runs these writes as one transaction (the tests above)")


def assert_database_refused(answer: httpx.Response) -> None:
    """A database error: 503 (retry later), with nothing of the cause."""
    assert answer.status_code == 503, answer.text
    assert answer.json() == {
        "error": "temporarily_unavailable",
        "error_description": "The service is temporarily unavailable; try again shortly.",
    }


async def test_a_refresh_whose_audit_insert_fails_in_the_database_does_not_rotate(
    world: World,
) -> None:
    postgres_only(world)
    scoped = await world.admin_in("First Harbor Bank")
    tokens_before = await _rows(world, schema.refresh_tokens)
    events_before = len(await world.audit_events())
    with audit_refused_by_the_database():
        assert_database_refused(await world.refresh("admin-portal", scoped["refresh_token"]))
    assert await _rows(world, schema.refresh_tokens) == tokens_before
    assert len(await world.audit_events()) == events_before
    again = await world.refresh("admin-portal", scoped["refresh_token"])
    assert again.status_code == 200, again.text
    assert await world.audit_events("token.refresh_reuse_detected") == []
    report = await (await world.administration()).verify_audit_chain()
    assert report.intact, report.broken


async def test_a_tenant_switch_that_cannot_be_audited_keeps_the_current_fi(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    unscoped = scoped["unscoped"]["access_token"]
    other = await world.tenant_ref(unscoped, "Granite Savings Bank")
    selections = len(await world.audit_events("tenant.selected"))
    families_before = await _rows(world, schema.refresh_families)
    with audit_unavailable():
        assert_server_error(await world.select_tenant(unscoped, other))

    assert await _rows(world, schema.refresh_families) == families_before
    assert len(await world.audit_events("tenant.selected")) == selections
    # The first FI's family was not ended by the switch that did not happen.
    still = await world.refresh("admin-portal", scoped["refresh_token"])
    assert still.status_code == 200, still.text


async def test_an_sso_redemption_that_cannot_be_audited_opens_no_session(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    sessions_before = await _rows(world, schema.sessions)
    with audit_unavailable():
        assert_server_error(await world.redeem_sso(minted.json()["access_token"]))

    assert await _rows(world, schema.sessions) == sessions_before
    assert await world.audit_events("sso.redeemed") == []


async def test_a_tenant_switch_whose_audit_insert_fails_in_the_database_changes_nothing(
    world: World,
) -> None:
    postgres_only(world)
    scoped = await world.admin_in("First Harbor Bank")
    unscoped = scoped["unscoped"]["access_token"]
    other = await world.tenant_ref(unscoped, "Granite Savings Bank")
    families_before = await _rows(world, schema.refresh_families)
    tokens_before = await _rows(world, schema.refresh_tokens)
    events_before = len(await world.audit_events())
    with audit_refused_by_the_database():
        assert_database_refused(await world.select_tenant(unscoped, other))

    assert await _rows(world, schema.refresh_families) == families_before
    assert await _rows(world, schema.refresh_tokens) == tokens_before
    assert len(await world.audit_events()) == events_before
    # Neither the first FI's family nor the session's current FI changed.
    still = await world.refresh("admin-portal", scoped["refresh_token"])
    assert still.status_code == 200, still.text
    assert still.json()["tenant"] == scoped["tenant"]


async def test_an_sso_redemption_whose_audit_insert_fails_in_the_database_opens_nothing(
    world: World,
) -> None:
    postgres_only(world)
    scoped = await world.admin_in("First Harbor Bank")
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    before = [await _rows(world, table) for table in _SESSION_TABLES]
    with audit_refused_by_the_database():
        assert_database_refused(await world.redeem_sso(minted.json()["access_token"]))

    assert [await _rows(world, table) for table in _SESSION_TABLES] == before
    assert await world.audit_events("sso.redeemed") == []


_SESSION_TABLES = (schema.sessions, schema.refresh_families, schema.refresh_tokens)


async def _current_fis(world: World) -> dict[str, int | None]:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    s = schema.sessions.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(s.id, s.current_tenant_id))
        return {row.id: row.current_tenant_id for row in rows}


@asynccontextmanager
async def chain_head_gone(world: World) -> AsyncIterator[None]:
    """The chain head row deleted (a damaged database), and put back afterwards."""
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    async with store.engine.begin() as conn:
        head = (await conn.execute(select(schema.audit_chain_head))).one()
        await conn.execute(delete(schema.audit_chain_head))
    try:
        yield
    finally:
        async with store.engine.begin() as conn:
            await conn.execute(insert(schema.audit_chain_head).values(**head._asdict()))


async def test_without_the_chain_head_audited_writes_write_nothing(world: World) -> None:
    scoped = await world.admin_in("First Harbor Bank")
    unscoped = scoped["unscoped"]["access_token"]
    other = await world.tenant_ref(unscoped, "Granite Savings Bank")
    minted = await world.mint_sso(scoped["access_token"])
    assert minted.status_code == 200, minted.text
    page, _ = await world.login_page("admin-portal")
    tables = (*_SESSION_TABLES, schema.audit_events, schema.authorization_codes)
    before = [await _rows(world, table) for table in tables]
    current_fis = await _current_fis(world)
    attempts = await _rows(world, schema.login_attempts)
    async with chain_head_gone(world):
        assert_server_error(await world.refresh("admin-portal", scoped["refresh_token"]))
        assert_server_error(await world.select_tenant(unscoped, other))
        assert_server_error(await world.redeem_sso(minted.json()["access_token"]))
        # The login page's own failure page, with the same status.
        signed_in = await world.submit_login(page, "admin", world.user("admin").password)
        assert signed_in.status_code == 500, signed_in.text
        assert [await _rows(world, table) for table in tables] == before
        # No session was switched to the other FI ...
        assert await _current_fis(world) == current_fis
        # ... and the login's two attempts (account, address), noted before the password
        # was checked, were not forgiven.
        assert await _rows(world, schema.login_attempts) == attempts + 2
    # Nothing was rotated or revoked: the same refresh token still works.
    again = await world.refresh("admin-portal", scoped["refresh_token"])
    assert again.status_code == 200, again.text
    report = await (await world.administration()).verify_audit_chain()
    assert report.intact, report.broken
