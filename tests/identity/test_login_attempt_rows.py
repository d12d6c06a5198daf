"""The login-attempt rows of the SQL store: ids are forgotten in fixed-size groups (a fixed
IN list), so any number of them must go, and nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest

from tenantgate.identity.services.records import AuditEvent, AuthorizationCode
from tenantgate.identity.storage.engine import create_engine_for, upgrade_database
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from .harness import prepare_database

pytestmark = pytest.mark.anyio

WINDOW = 600.0


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlIdentityStore]:
    await anyio.to_thread.run_sync(upgrade_database, database_url)
    store = SqlIdentityStore(create_engine_for(database_url))
    try:
        yield store
    finally:
        await store.engine.dispose()


async def _note(store: SqlIdentityStore, key: str, times: int) -> list[int]:
    ids: list[int] = []
    for _ in range(times):
        noted = await store.note_login_attempt([("account", key)], time.time(), WINDOW)
        ids += noted.ids
    return ids


async def _count(store: SqlIdentityStore, key: str) -> int:
    # Noting one more attempt reports the key's count, that attempt included.
    noted = await store.note_login_attempt([("account", key)], time.time(), WINDOW)
    await store.forget_login_attempts(noted.ids)
    return noted.counts["account"] - 1


@pytest.mark.parametrize("forgotten", [0, 1, 2, 4, 5, 9])
async def test_any_number_of_attempts_is_forgotten_and_nothing_else(
    store: SqlIdentityStore, forgotten: int
) -> None:
    ids = await _note(store, "k-forget", 10)
    kept = await _note(store, "k-other", 3)
    await store.forget_login_attempts(ids[:forgotten])
    assert await _count(store, "k-forget") == 10 - forgotten
    assert await _count(store, "k-other") == len(kept)


async def test_completing_a_login_forgets_its_attempts_and_clears_only_its_key(
    database_url: str,
) -> None:
    seed = await prepare_database(database_url, banks=1)
    store = SqlIdentityStore(create_engine_for(database_url))
    try:
        account_failures = await _note(store, "k-account", 3)
        address = await _note(store, "k-address", 7)
        other = await _note(store, "k-bystander", 2)
        assert account_failures
        client_id = next(iter(seed.clients.values()))["client_id"]
        account = await store.account_by_username(seed.users[0].username)
        assert account is not None
        now = time.time()
        code = AuthorizationCode(
            "d" * 43, client_id, account.id, "https://rp.example/cb", "c" * 43, now, now + 60
        )
        # This login's own attempts: the last five of the address's (more than one group).
        await store.complete_login(
            code,
            forget=address[-5:],
            clear=("account", "k-account"),
            audit=AuditEvent("login.succeeded", now, account.id, client_id),
        )
        assert await _count(store, "k-account") == 0
        assert await _count(store, "k-address") == 2
        assert await _count(store, "k-bystander") == len(other)
        used = await store.use_code("d" * 43, now)
        assert used is not None
        assert used.first_use
    finally:
        await store.engine.dispose()
