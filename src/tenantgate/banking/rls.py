"""PostgreSQL row-level security and the application role.

The policies make the database enforce the tenant a second time, independent of the ``WHERE
tenant_id = ...`` every query already carries. They read a transaction-local setting that
``tenant_transaction`` sets from the verified scope.

Why ``NULLIF(current_setting(name, true), '')``: with ``missing_ok = true`` an unset setting reads
as NULL instead of raising, and once a session has set it (even transaction-locally) it reads as
the empty string afterwards. Both must mean "no tenant", and ``tenant_id = NULL`` is never true,
so a connection that forgot to bind a tenant sees *nothing* — it neither errors on ``''::bigint``
nor sees everything.

Superusers and roles with BYPASSRLS skip every policy, so the apps must connect as a role that is
neither; ``create_app_role`` makes one with only the DML the banking code needs. ``FORCE`` makes
the policies apply to the tables' owner as well (a non-superuser migration role, in production).
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantgate.banking.schema import (
    TENANT_TABLES,
    accounts,
    customer_active_days,
    customers,
    daily_kind_rollups,
    daily_rollups,
    institutions,
    login_events,
    transactions,
)
from tenantgate.banking.scope import TENANT_SETTING

POLICY_NAME = "tenant_isolation"
DEFAULT_APP_ROLE = "tenantgate_app"

_CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint"

# Least privilege, table by table. Facts are append-only for the apps (no UPDATE or DELETE on
# transactions or login events); only the columns the use cases change are updatable; the
# institutions mirror is written by the platform's provisioning, not by the apps.
APP_PRIVILEGES: dict[str, str] = {
    institutions.name: "SELECT",
    customers.name: "SELECT, INSERT, UPDATE (status, subject)",
    accounts.name: "SELECT, INSERT, UPDATE (balance)",
    transactions.name: "SELECT, INSERT",
    login_events.name: "SELECT, INSERT",
    daily_rollups.name: (
        "SELECT, INSERT, UPDATE (tx_count, volume, active_customers, logins, failed_logins)"
    ),
    daily_kind_rollups.name: "SELECT, INSERT, UPDATE (tx_count, volume)",
    customer_active_days.name: "SELECT, INSERT",
}

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}", re.ASCII)


def policy_statements(table_name: str) -> list[str]:
    """DDL that (re)creates the tenant policy of one table; idempotent."""
    return [
        f"ALTER TABLE {table_name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table_name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table_name}",
        (
            f"CREATE POLICY {POLICY_NAME} ON {table_name} "
            f"USING (tenant_id = {_CURRENT_TENANT}) "
            f"WITH CHECK (tenant_id = {_CURRENT_TENANT})"
        ),
    ]


async def enable_row_level_security(conn: AsyncConnection) -> None:
    """Enable, force and (re)create the tenant policy on every banking table."""
    for table in TENANT_TABLES:
        for statement in policy_statements(table.name):
            await conn.execute(text(statement))


def _check_role(role: str) -> str:
    # A configurable name ends up in DDL; accept only plain identifiers so nothing surprises.
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError("role must be a lowercase SQL identifier (a-z, 0-9, _; ≤ 63 chars)")
    return role


async def _execute_ddl(conn: AsyncConnection, statement: sql.Composed) -> None:
    """Run composed DDL on the driver connection, inside SQLAlchemy's current transaction.

    Role and schema names and passwords cannot be bind parameters in DDL; psycopg's ``sql``
    module quotes identifiers and literals correctly, which string formatting would not.
    """
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError("the application role needs PostgreSQL through psycopg 3")
    await driver.execute(statement)


# Any fixed 64-bit key, the same in every process: it names the lock, nothing else.
_ROLE_DDL_LOCK = 0x7465_6E61_6E74_6701


async def _serialize_role_ddl(conn: AsyncConnection) -> None:
    """Wait for any other role provisioning in this database, until this transaction ends.

    Roles are cluster-wide rows, and PostgreSQL does not queue two ALTER ROLEs of one role:
    the second fails with "tuple concurrently updated" (two CREATE ROLEs: a unique
    violation).  Two seeders starting at once (two demo or test runs on one cluster) did
    exactly that.  The exists-check below also needs the lock to stay true until the DDL.
    """
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROLE_DDL_LOCK})


async def create_app_role(
    conn: AsyncConnection,
    role: str = DEFAULT_APP_ROLE,
    *,
    password: str | None = None,
    schema: str | None = None,
) -> None:
    """Create (if missing) a LOGIN role that RLS applies to, and grant it the banking DML.

    The role is explicitly NOSUPERUSER NOBYPASSRLS, so the policies bind it. ``schema`` defaults
    to the connection's current schema. Run it as a role allowed to create roles (once per
    deployment, by the migration step), never from the apps themselves.
    """
    name = sql.Identifier(_check_role(role))
    await _serialize_role_ddl(conn)
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    verb = sql.SQL("ALTER" if exists else "CREATE")
    await _execute_ddl(
        conn,
        sql.SQL(
            "{} ROLE {} WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"
        ).format(verb, name),
    )
    if password is not None:
        await _execute_ddl(
            conn, sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(name, sql.Literal(password))
        )
    if schema is None:
        schema = str(await conn.scalar(text("SELECT current_schema()")))
    where = sql.Identifier(schema)
    await _execute_ddl(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, name))
    for table_name, privileges in APP_PRIVILEGES.items():
        # ``privileges`` are the constants above, never input.
        await _execute_ddl(
            conn,
            sql.SQL("GRANT {} ON {} TO {}").format(
                sql.SQL(privileges), sql.Identifier(schema, table_name), name
            ),
        )


async def drop_app_role(conn: AsyncConnection, role: str) -> None:
    """Revoke everything the role holds in this database and drop it (tests, decommissioning)."""
    name = sql.Identifier(_check_role(role))
    await _serialize_role_ddl(conn)
    exists = await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists:
        await _execute_ddl(conn, sql.SQL("DROP OWNED BY {}").format(name))
        await _execute_ddl(conn, sql.SQL("DROP ROLE {}").format(name))
