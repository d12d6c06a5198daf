"""The audit trail is a hash chain: edits, deletions, insertions and a cut tail are found
by `verify`; concurrent appends (many instances) keep the chain whole."""

from __future__ import annotations

import asyncio
import json

import anyio.to_thread
import pytest
from sqlalchemy import delete, insert, select, text, update

from tenantgate.identity.domain.audit_chain import GENESIS, chain_hash
from tenantgate.identity.services.context import Caller
from tenantgate.identity.services.records import AuditEvent
from tenantgate.identity.storage.administration import SqlAdministration
from tenantgate.identity.storage.autocommit_connections import batches_committed
from tenantgate.identity.storage.engine import create_engine_for, upgrade_database
from tenantgate.identity.storage.schema import audit_chain_head, audit_events
from tenantgate.identity.storage.sql_store import SqlIdentityStore

from ..harness import World

pytestmark = pytest.mark.anyio


def store_of(world: World) -> SqlIdentityStore:
    store = world.deps.store
    assert isinstance(store, SqlIdentityStore)
    return store


async def some_history(world: World, n: int = 6) -> None:
    for i in range(n):
        await world.deps.audit("test.event", Caller("10.0.0.1"), account_id=i, note=f"n{i}")


async def test_every_record_links_to_its_predecessor(world: World) -> None:
    await world.login("admin-portal", "admin")
    await some_history(world)
    events = await world.audit_events()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    previous = GENESIS
    for e in events:
        assert e["prev_hash"] == previous
        assert e["hash"] == chain_hash(previous, e)
        previous = e["hash"]
    report = await (await world.administration()).verify_audit_chain(batch=4)  # several pages
    assert report.intact
    assert report.checked == len(events)
    assert report.head_hash == previous


@pytest.mark.parametrize("column", ["detail", "event", "account_id", "at", "address"])
async def test_an_edited_record_is_found(world: World, column: str) -> None:
    await some_history(world)
    forged = {
        "detail": json.dumps({"note": "nothing to see"}),
        "event": "test.other",
        "account_id": 99,
        "at": 1.0,
        "address": "192.0.2.1",
    }[column]
    async with store_of(world).engine.begin() as conn:
        await conn.execute(
            update(audit_events).where(audit_events.c.seq == 3).values({column: forged})
        )
    report = await (await world.administration()).verify_audit_chain()
    assert report.broken is not None
    assert report.broken.seq == 3
    assert report.checked == 2


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(world: World) -> None:
    await some_history(world)
    events = await world.audit_events()
    forged = {**events[2], "detail": json.dumps({"note": "rewritten"})}
    async with store_of(world).engine.begin() as conn:
        await conn.execute(
            update(audit_events)
            .where(audit_events.c.seq == 3)
            .values(detail=forged["detail"], hash=chain_hash(events[1]["hash"], forged))
        )
    report = await (await world.administration()).verify_audit_chain()
    assert report.broken is not None
    assert report.broken.seq == 4


async def test_a_deleted_record_is_found(world: World) -> None:
    await some_history(world)
    async with store_of(world).engine.begin() as conn:
        await conn.execute(delete(audit_events).where(audit_events.c.seq == 2))
    report = await (await world.administration()).verify_audit_chain()
    assert report.broken is not None
    assert report.broken.seq == 2


async def test_a_cut_off_tail_is_found(world: World) -> None:
    await some_history(world)
    async with store_of(world).engine.begin() as conn:
        await conn.execute(delete(audit_events).where(audit_events.c.seq >= 5))
    report = await (await world.administration()).verify_audit_chain()
    assert report.broken is not None
    assert report.broken.seq is None
    assert report.checked == 4


async def test_a_row_slipped_in_beside_the_chain_is_found(world: World) -> None:
    await some_history(world)
    async with store_of(world).engine.begin() as conn:
        await conn.execute(
            insert(audit_events).values(at=1.0, event="login.succeeded", detail="{}")
        )
    report = await (await world.administration()).verify_audit_chain()
    assert report.broken is not None
    assert "outside the chain" in report.broken.reason


async def test_concurrent_appends_from_several_instances_keep_the_chain_whole(
    world: World,
) -> None:
    """Four stores (four instances' connection pools), eight writers, all at once."""
    url = store_of(world).engine.url.render_as_string(hide_password=False)
    others = [SqlIdentityStore(create_engine_for(url, pool_size=5)) for _ in range(3)]
    stores = [store_of(world), *others]
    try:

        async def burst(index: int, store: SqlIdentityStore) -> None:
            for i in range(25):
                event = AuditEvent(event="race", at=world.clock.now(), detail={"i": i, "s": index})
                await store.record(event)

        # Two writers per store, 8 in all, 25 events each.
        await asyncio.gather(*(burst(i, s) for i, s in enumerate(stores * 2)))
    finally:
        for other in others:
            await other.engine.dispose()
    events = await world.audit_events("race")
    assert len(events) == 200
    report = await (await world.administration()).verify_audit_chain()
    assert report.intact, report.broken
    assert report.checked == len(await world.audit_events())


async def test_appends_arriving_together_commit_together_and_the_chain_holds(
    world: World,
) -> None:
    """On PostgreSQL an instance commits the audited writes that arrive while one is in
    flight as one batch (one pass through the chain head's lock): the chain stays whole,
    numbered without gaps, in the order the batch ran them."""
    store = store_of(world)
    before = batches_committed(store.engine)

    async def append(i: int) -> None:
        await store.record(AuditEvent(event="together", at=world.clock.now(), detail={"i": i}))

    await asyncio.gather(*(append(i) for i in range(60)))
    events = await world.audit_events("together")
    assert sorted(json.loads(e["detail"])["i"] for e in events) == list(range(60))
    report = await (await world.administration()).verify_audit_chain()
    assert report.intact, report.broken
    if store.dialect == "postgresql":
        assert batches_committed(store.engine) > before


async def test_the_migration_chains_events_written_before_it(database_url: str) -> None:
    await anyio.to_thread.run_sync(upgrade_database, database_url, "0003")
    engine = create_engine_for(database_url)
    try:
        async with engine.begin() as conn:
            for i in range(5):
                # Plain SQL: the 0003 table has no chain columns yet.
                await conn.execute(
                    text("INSERT INTO audit_events (at, event, detail) VALUES (:at, 'old', :d)"),
                    {"at": 1_800_000_000.0 + i, "d": json.dumps({"i": i})},
                )
        await anyio.to_thread.run_sync(upgrade_database, database_url, "head")
        report = await SqlAdministration(engine, 0.0).verify_audit_chain()
        assert report.intact, report.broken
        assert report.checked == 5
        async with engine.connect() as conn:
            head = (await conn.execute(select(audit_chain_head))).one()
        assert head.seq == 5
    finally:
        await engine.dispose()
