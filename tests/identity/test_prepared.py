"""Prepared statements (identity/storage/prepared.py): on the SQLite sync lane they run on
the ``sqlite3`` cursor, on PostgreSQL on psycopg's cursor, elsewhere (or with statement
logging or cursor events) through ``Connection.execute``; either way the caller sees the
same rows, counts and exceptions, a failed transaction leaves nothing behind, and a broken
PostgreSQL connection is invalidated, not handed out again."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.embedded_sqlite import run_read, run_transaction
from tenantgate.identity.storage import (
    linked_writes,
    sql_accounts,
    sql_audit,
    sql_keys,
    sql_login,
    sql_sessions,
)
from tenantgate.identity.storage import prepared as prepared_module
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.prepared import Prepared

pytestmark = pytest.mark.anyio

metadata = MetaData()
items = Table(
    "prepared_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("weight", Float, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("note", String(40), nullable=True),
)

INSERT = Prepared(items.insert().returning(items.c.id))
BY_NAME = Prepared(
    select(items.c.id, items.c.weight, items.c.active.label("is_active"), items.c.note).where(
        items.c.name == bindparam("name")
    )
)
RENAME_FIRST = Prepared(update(items).where(items.c.id == 1).values(note=bindparam("b_note")))
DEACTIVATE = Prepared(update(items).where(items.c.weight > bindparam("above")).values(active=False))
COUNT = Prepared(select(func.count().label("n")).select_from(items))
# Needs SQLAlchemy's per-execution work: an expanding IN list.
BY_IDS = Prepared(select(items.c.name).where(items.c.id.in_(bindparam("ids", expanding=True))))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine_for(database_url)

    def create(conn: Connection) -> None:
        metadata.create_all(conn)

    await run_transaction(engine, create)
    try:
        yield engine
    finally:
        await engine.dispose()


def _insert(conn: Connection, name: str, weight: float, active: bool) -> int:
    row = INSERT.one(conn, {"name": name, "weight": weight, "active": active, "note": None})
    return int(row.id)


async def test_rows_come_back_as_sqlalchemy_would_give_them(engine: AsyncEngine) -> None:
    first = await run_transaction(engine, _insert, "anchor", 2, True)
    await run_transaction(engine, _insert, "buoy", 0.5, False)

    row = await run_read(engine, BY_NAME.first, {"name": "anchor"})
    assert row is not None
    assert row.id == first
    # Stored as REAL, read back as a float; the result processor made 1 a bool.
    assert row.weight == 2.0
    assert isinstance(row.weight, float)
    assert row.is_active is True
    assert row.note is None
    assert tuple(row) == (first, 2.0, True, None)

    buoy = await run_read(engine, BY_NAME.one, {"name": "buoy"})
    assert buoy.is_active is False
    assert await run_read(engine, BY_NAME.first, {"name": "nobody"}) is None
    assert await run_read(engine, BY_NAME.rows, {"name": "nobody"}) == []
    with pytest.raises(LookupError):
        await run_read(engine, BY_NAME.one, {"name": "nobody"})


async def test_run_counts_the_rows_a_statement_matched(engine: AsyncEngine) -> None:
    for name, weight in (("a", 1.0), ("b", 5.0), ("c", 9.0)):
        await run_transaction(engine, _insert, name, weight, True)
    assert await run_transaction(engine, DEACTIVATE.run, {"above": 4.0}) == 2
    assert await run_transaction(engine, DEACTIVATE.run, {"above": 100.0}) == 0
    # A value bound when the statement was built (``id == 1``) is merged in.
    assert await run_transaction(engine, RENAME_FIRST.run, {"b_note": "first"}) == 1
    row = await run_read(engine, BY_NAME.one, {"name": "a"})
    assert row.note == "first"
    assert (await run_read(engine, BY_NAME.one, {"name": "c"})).is_active is False


async def test_a_constraint_violation_is_sqlalchemys_error_and_nothing_is_written(
    engine: AsyncEngine,
) -> None:
    await run_transaction(engine, _insert, "anchor", 1.0, True)

    def two_inserts(conn: Connection) -> None:
        _insert(conn, "fresh", 1.0, True)
        _insert(conn, "anchor", 2.0, True)  # unique name taken

    with pytest.raises(IntegrityError) as raised:
        await run_transaction(engine, two_inserts)
    assert "prepared_items" in str(raised.value)
    # The first insert of the failed transaction was rolled back with it.
    assert (await run_read(engine, COUNT.one, {})).n == 1
    # And the connection is usable afterwards.
    await run_transaction(engine, _insert, "later", 1.0, True)
    assert (await run_read(engine, COUNT.one, {})).n == 2


async def test_statements_needing_per_execution_work_still_run(engine: AsyncEngine) -> None:
    ids = [await run_transaction(engine, _insert, n, 1.0, True) for n in ("x", "y", "z")]
    rows = await run_read(engine, BY_IDS.rows, {"ids": ids[:2]})
    assert sorted(r.name for r in rows) == ["x", "y"]


async def test_the_lane_uses_the_cursor_and_statement_logging_uses_sqlalchemy(
    engine: AsyncEngine,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    original, original_remote = Prepared._execute, prepared_module._run_remote
    cursor_runs: list[str] = []

    def spying(driver: sqlite3.Connection, form: Any, params: Any, dialect: Any) -> Any:
        cursor_runs.append(form.sql)
        return original(driver, form, params, dialect)

    def spying_remote(conn: Any, statement: Any, driver: Any, form: Any, *a: Any, **k: Any) -> Any:
        cursor_runs.append(form.sql)
        return original_remote(conn, statement, driver, form, *a, **k)

    monkeypatch.setattr(Prepared, "_execute", staticmethod(spying))
    monkeypatch.setattr(prepared_module, "_run_remote", spying_remote)
    await run_transaction(engine, _insert, "anchor", 1.0, True)
    assert len(cursor_runs) == 1  # the lane's sqlite3 cursor, or psycopg's

    # With SQLAlchemy's statement log on (when a connection opens, as SQLAlchemy decides
    # it), the statement and its parameters are logged, never skipped.
    cursor_runs.clear()
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    logged = create_engine_for(database_url)
    try:
        row = await run_read(logged, BY_NAME.one, {"name": "anchor"})
    finally:
        await logged.dispose()
    assert row.is_active is True
    assert cursor_runs == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("prepared_items" in m for m in messages), messages
    assert any("anchor" in m for m in messages), messages


def _prepared_in(module: Any) -> list[tuple[str, Prepared]]:
    return [
        (f"{module.__name__}.{n}", v) for n, v in vars(module).items() if isinstance(v, Prepared)
    ]


# The parameters each hot statement is run with (an INSERT compiles for its columns).
_INSERT_KEYS = {
    "sql_audit._INSERT_AUDIT": (
        "e_seq", "e_at", "e_event", "e_account_id", "e_client_id", "e_tenant_id",
        "e_session_id", "e_address", "e_detail", "e_prev_hash", "e_hash",
    ),
    "sql_login._note_attempts_statement": (
        "at", "scope_0", "key_digest_0", "scope_1", "key_digest_1",
    ),
    "sql_keys._claim_statement": ("kind", "jti", "claimant", "used_at", "expires_at"),
    "sql_login._INSERT_CODE": (
        "digest", "client_id", "account_id", "redirect_uri", "code_challenge",
        "issued_at", "expires_at",
    ),
    "sql_sessions._INSERT_REFRESH_TOKEN": ("digest", "family_id", "issued_at", "expires_at"),
    "sql_sessions._INSERT_SESSION": (
        "id", "account_id", "client_id", "started_at", "current_tenant_id",
    ),
    "sql_sessions._INSERT_FAMILY": (
        "id", "session_id", "client_id", "account_id", "tenant_id", "started_at", "deadline",
        "permission_ceiling",
    ),
}  # fmt: skip
# Data-modifying CTEs: PostgreSQL only, SQLite never runs them.
# The lane's three-statement append; PostgreSQL appends with sql_audit._APPEND_LINK.
_SQLITE_ONLY = {"sql_audit._BUMP_HEAD", "sql_audit._INSERT_AUDIT", "sql_audit._SET_HEAD_HASH"}
_POSTGRES_ONLY = {
    "sql_audit._APPEND_LINK",
    "linked_writes._ROTATE_AND_LINK",
    "linked_writes._HEAD",
    "sql_login._COMPLETE_LOGIN_LINKED",
    "sql_keys._CLAIM_WITH_GRANT",
}


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite://", "postgresql+psycopg://postgres@127.0.0.1:5432/test"]
)
def test_every_hot_statement_of_the_identity_store_takes_the_cursor_path(url: str) -> None:
    """A statement that quietly needs SQLAlchemy's per-execution work (an expanding IN, a
    Python-side default) would still run, only slower: catch that here."""
    dialect = create_engine_for(url).dialect  # compiling only: no connection is opened
    sqlite = dialect.name == "sqlite"
    found = [
        *_prepared_in(sql_accounts),
        *_prepared_in(sql_audit),
        *_prepared_in(sql_keys),
        *_prepared_in(sql_login),
        *_prepared_in(sql_sessions),
        *_prepared_in(linked_writes),
        ("sql_keys._claim_statement", sql_keys._claim_statement(dialect.name)),
        ("sql_login._note_attempts_statement", sql_login._note_attempts_statement(2)),
    ]
    if not sqlite:
        found += [
            (f"linked_writes._FAMILY_AND_LINK{k}", v)
            for k, v in linked_writes._FAMILY_AND_LINK.items()
        ]
    assert len(found) >= 20
    slow = []
    for name, statement in found:
        short = name.removeprefix("tenantgate.identity.storage.")
        if sqlite and (short in _POSTGRES_ONLY or short.startswith("linked_writes.")):
            continue
        if not sqlite and short in _SQLITE_ONLY:
            continue
        keys = _INSERT_KEYS.get(short, ())
        if prepared_module._compile(statement.statement, dialect, keys) is None:
            slow.append(short)
    assert slow == [], "these would go through Connection.execute"


async def test_a_broken_postgresql_connection_is_invalidated_and_replaced(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's driver path")
    await run_transaction(engine, _insert, "anchor", 1.0, True)

    def pid(conn: Connection) -> int:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    victim = await run_read(engine, pid)
    admin = create_engine_for(str(engine.url.render_as_string(hide_password=False)))
    try:

        def terminate(conn: Connection) -> None:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({victim})")

        await run_read(admin, terminate)
    finally:
        await admin.dispose()

    # The pool hands out the same (now dead) connection: the driver path fails with
    # SQLAlchemy's error, marked as a disconnect, and the connection is invalidated at
    # once, as SQLAlchemy's own execute does ...
    def read_on_dead(conn: Connection) -> tuple[DBAPIError, bool]:
        with pytest.raises(DBAPIError) as raised:
            BY_NAME.one(conn, {"name": "anchor"})
        return raised.value, conn.invalidated

    error, invalidated = await run_read(engine, read_on_dead)
    assert error.connection_invalidated
    assert invalidated
    # ... so the next statement gets a fresh connection and works.
    assert (await run_read(engine, BY_NAME.one, {"name": "anchor"})).is_active is True
    assert await run_read(engine, pid) != victim
