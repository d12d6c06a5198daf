"""A write and its audit event commit together or not at all: with the audit append
failing half-way, refresh, tenant selection and SSO redemption leave nothing behind.

On PostgreSQL a refresh and its audit record are one statement (sql_sessions
``_rotate_and_link``): there the append fails inside that statement, in the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Table, func, select

from tenantgate.identity.storage import schema, sql_audit, sql_sessions
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
        patch.setattr(sql_sessions, "link_parameters", _unavailable)
        yield


@contextmanager
def audit_refused_by_the_database() -> Iterator[None]:
    """The one-statement refresh's audit INSERT breaks a constraint (event NOT NULL): the
    statement's rotation and new token ran before it, in the same statement."""
    original = sql_audit.unnumbered_record

    def without_event(event: Any) -> dict[str, Any]:
        return {**original(event), "event": None}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sql_sessions, "unnumbered_record", without_event)
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


async def test_a_refresh_whose_audit_insert_fails_in_the_database_does_not_rotate(
    world: World,
) -> None:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    if store.dialect != "postgresql":
        pytest.skip("SQLite runs the refresh as a transaction (the test above)")
    scoped = await world.admin_in("First Harbor Bank")
    tokens_before = await _rows(world, schema.refresh_tokens)
    events_before = len(await world.audit_events())
    with audit_refused_by_the_database():
        answer = await world.refresh("admin-portal", scoped["refresh_token"])
    # A database error: 503 (retry later), with nothing of the cause.
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
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
