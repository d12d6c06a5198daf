"""Fixtures for the banking tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL runs when ``TENANTGATE_TEST_POSTGRES_URL`` is set. Other engineers run their suites
against the same database at the same time, so each session gets its own freshly created schema
(``search_path`` set per connection) and its own application role, both dropped at the end.
Tests on PostgreSQL connect as that role — not a superuser, no BYPASSRLS — exactly like the apps,
so row-level security and the least-privilege grants are exercised by every test.
Unreachable PostgreSQL: a loud skip on a developer machine, a failure in CI.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking.accounts import Account, open_account
from tenantgate.banking.customers import Customer, create_customer
from tenantgate.banking.engine import create_banking_engine
from tenantgate.banking.institutions import upsert_institution
from tenantgate.banking.rls import create_app_role
from tenantgate.banking.schema import create_schema
from tenantgate.banking.scope import TenantScope

POSTGRES_ENV = "TENANTGATE_TEST_POSTGRES_URL"
#: A fixed "now" for every write in the tests, so days and rollups are predictable.
NOW = datetime(2025, 3, 14, 12, 30, tzinfo=UTC)

_tenant_ids = itertools.count(1_000)


@dataclass(frozen=True)
class Target:
    """Where a test session's banking schema lives and how to connect to it."""

    kind: str
    owner_url: str
    app_url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    schema: str | None = None
    app_role: str | None = None


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _postgres_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV)
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        message = f"PostgreSQL tests NOT RUN: {POSTGRES_ENV} is not set"
        if in_ci:
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        message = f"PostgreSQL tests NOT RUN: {url} unreachable ({error})"
        if in_ci:
            pytest.fail(message + " (required in CI)")
        pytest.skip(message)
    return url


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("banking") / "banking.db"
        url = f"sqlite+aiosqlite:///{path}"
        yield Target(kind="sqlite", owner_url=url, app_url=url)
        return
    url = _postgres_or_skip()
    suffix = secrets.token_hex(5)
    schema, role = f"tg_banking_{suffix}", f"tg_banking_app_{suffix}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema)))
    app_url = make_url(url).set(username=role, password=None).render_as_string(False)
    try:
        yield Target(
            kind="postgresql",
            owner_url=url,
            app_url=app_url,
            connect_args={"options": f"-csearch_path={schema}"},
            schema=schema,
            app_role=role,
        )
    finally:
        with psycopg.connect(_libpq(url), autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(schema)
                )
            )
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if exists:
                name = psycopg.sql.Identifier(role)
                conn.execute(psycopg.sql.SQL("DROP OWNED BY {}").format(name))
                conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(name))


@pytest.fixture(scope="session")
async def prepared(target: Target) -> AsyncIterator[Target]:
    """The target with the schema (and on PostgreSQL the RLS policies and app role) created."""
    engine = create_banking_engine(target.owner_url, connect_args=target.connect_args)
    try:
        await create_schema(engine)
        if target.app_role is not None:
            async with engine.begin() as conn:
                await create_app_role(conn, target.app_role, schema=target.schema)
        yield target
    finally:
        await engine.dispose()


@pytest.fixture
async def owner_engine(prepared: Target) -> AsyncIterator[AsyncEngine]:
    """The privileged connection: schema owner / provisioning / the generator."""
    engine = create_banking_engine(prepared.owner_url, connect_args=prepared.connect_args)
    yield engine
    await engine.dispose()


@pytest.fixture
async def app_engine(prepared: Target) -> AsyncIterator[AsyncEngine]:
    """What the apps use: on PostgreSQL the non-superuser role that RLS binds."""
    engine = (
        create_banking_engine(
            prepared.app_url, connect_args=prepared.connect_args, pool_size=25, max_overflow=5
        )
        if prepared.kind == "postgresql"
        else create_banking_engine(prepared.app_url)
    )
    yield engine
    await engine.dispose()


NewTenant = Callable[[], Awaitable[TenantScope]]


@pytest.fixture
def new_tenant(owner_engine: AsyncEngine) -> NewTenant:
    """Provision a fresh FI: tests share a schema but never a tenant."""

    async def make() -> TenantScope:
        scope = TenantScope(next(_tenant_ids))
        await upsert_institution(owner_engine, scope, f"Test Bank {scope.tenant_id}")
        return scope

    return make


SeedCustomer = Callable[..., Awaitable[tuple[Customer, list[Account]]]]


@pytest.fixture
def seed_customer(app_engine: AsyncEngine) -> SeedCustomer:
    """A customer with one account per given opening balance (minor units), via the public API."""

    async def make(
        scope: TenantScope, *balances: int, name: str = "Ada Lovelace"
    ) -> tuple[Customer, list[Account]]:
        customer = await create_customer(
            app_engine, scope, full_name=name, email="ada@example.com", now=NOW
        )
        opened = []
        for position, balance in enumerate(balances or (0,)):
            opened.append(
                await open_account(
                    app_engine,
                    scope,
                    customer.public_id,
                    kind="checking" if position == 0 else "savings",
                    initial_deposit_minor=balance,
                    now=NOW,
                )
            )
        return customer, opened

    return make
