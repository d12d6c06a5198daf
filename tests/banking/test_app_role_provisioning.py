"""Provisioning the application role from several connections at once (two seeders on one
cluster: two demos, two test runs) serializes instead of failing: PostgreSQL does not queue
two ALTER ROLEs of one role ("tuple concurrently updated") or two CREATE ROLEs (a unique
violation)."""

from __future__ import annotations

import asyncio
import secrets

import psycopg
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tenantgate.banking.engine import create_banking_engine
from tenantgate.banking.rls import create_app_role, drop_app_role
from tenantgate.banking.schema import create_schema

from .conftest import _libpq, _postgres_or_skip

pytestmark = pytest.mark.anyio

SEEDERS = 8
ROUNDS = 3  # the first creates the role, the later ones alter it


async def test_concurrent_provisioning_of_one_role_all_succeeds() -> None:
    url = _postgres_or_skip()
    suffix = secrets.token_hex(4)
    role = f"tg_race_app_{suffix}"
    schemas = [f"tg_race_{suffix}_{i}" for i in range(SEEDERS)]
    with psycopg.connect(_libpq(url), autocommit=True) as admin:
        for schema in schemas:
            admin.execute(
                psycopg.sql.SQL("CREATE SCHEMA {}").format(psycopg.sql.Identifier(schema))
            )
    engine = create_async_engine(url, pool_size=SEEDERS)
    try:
        for schema in schemas:
            owner = create_banking_engine(url, connect_args={"options": f"-csearch_path={schema}"})
            try:
                await create_schema(owner)
            finally:
                await owner.dispose()

        async def provision(schema: str) -> None:
            async with engine.begin() as conn:
                await create_app_role(conn, role, schema=schema)

        for _ in range(ROUNDS):
            outcomes = await asyncio.gather(
                *(provision(s) for s in schemas), return_exceptions=True
            )
            assert [o for o in outcomes if isinstance(o, BaseException)] == []
        with psycopg.connect(_libpq(url), autocommit=True) as check:
            granted = check.execute(
                "SELECT count(DISTINCT table_schema) FROM information_schema.role_table_grants"
                " WHERE grantee = %s",
                (role,),
            ).fetchone()
        assert granted is not None
        assert granted[0] == SEEDERS
    finally:
        async with engine.begin() as cleanup:
            await drop_app_role(cleanup, role)
        await engine.dispose()
        with psycopg.connect(_libpq(url), autocommit=True) as admin:
            for schema in schemas:
                admin.execute(
                    psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema))
                )
