"""The banking tables (SQLAlchemy Core) and their creation.

Every table leads with ``tenant_id``: primary keys are ``(tenant_id, id)``, unique constraints and
foreign keys include ``tenant_id``. That is what lets the data be distributed by tenant (Citus's
co-location model) without a redesign, keeps each tenant's rows together in every index, and makes
a cross-tenant reference impossible at the schema level: an account's composite foreign key can
only point at a customer *of the same tenant*.

Integer ids are internal; URLs and browsers only ever see ``public_id`` (random, opaque).
Money is BIGINT minor units, never a float.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

CUSTOMER_STATUSES = ("active", "locked")
ACCOUNT_KINDS = ("checking", "savings")
TRANSACTION_KINDS = ("card", "deposit", "fee", "transfer_in", "transfer_out", "withdrawal")
ACTOR_KINDS = ("customer", "employee", "admin")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


institutions = Table(
    "institutions",
    metadata,
    # The identity server's internal tenant id, mirrored; never generated here.
    Column("tenant_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    # Identity on PostgreSQL; on SQLite the repository computes the next id per tenant.
    Column("id", BigInteger, Identity(), nullable=False),
    Column("public_id", String(40), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Column("status", String(16), nullable=False),
    # The identity server's opaque, stable ``sub`` of the customer's login, when linked.
    Column("subject", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "public_id"),
    UniqueConstraint("tenant_id", "subject"),
    ForeignKeyConstraint(["tenant_id"], [institutions.c.tenant_id]),
    CheckConstraint(_one_of("status", CUSTOMER_STATUSES), name="status"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("id", BigInteger, Identity(), nullable=False),
    Column("public_id", String(40), nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    UniqueConstraint("tenant_id", "public_id"),
    ForeignKeyConstraint(["tenant_id", "customer_id"], [customers.c.tenant_id, customers.c.id]),
    CheckConstraint(_one_of("kind", ACCOUNT_KINDS), name="kind"),
    # The last line of defence against an overdraft bug: the database refuses it too.
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    Index(None, "tenant_id", "customer_id"),
)

transactions = Table(
    "transactions",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("id", BigInteger, Identity(), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    # Signed minor units: credits positive, debits negative.
    Column("amount", BigInteger, nullable=False),
    Column("description", String(200), nullable=False),
    Column("booked_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "account_id"], [accounts.c.tenant_id, accounts.c.id]),
    CheckConstraint(_one_of("kind", TRANSACTION_KINDS), name="kind"),
    CheckConstraint("amount <> 0", name="amount_not_zero"),
    # Statement pages and the direct (non-rollup) aggregates both walk this index.
    Index(None, "tenant_id", "account_id", "booked_at"),
    Index(None, "tenant_id", "booked_at"),
)

login_events = Table(
    "login_events",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("id", BigInteger, Identity(), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    # Set for customers (it makes them "active" that day); NULL for employees and admins.
    Column("customer_id", BigInteger, nullable=True),
    Column("subject", String(200), nullable=True),
    Column("success", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "customer_id"], [customers.c.tenant_id, customers.c.id]),
    CheckConstraint(_one_of("actor_kind", ACTOR_KINDS), name="actor_kind"),
    CheckConstraint("success IN (0, 1)", name="success"),
    Index(None, "tenant_id", "at"),
)

# --- Pre-aggregated read models (maintained in the same transaction as the facts) -------------

daily_rollups = Table(
    "daily_rollups",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("tx_count", BigInteger, nullable=False),
    # Sum of |amount| in minor units.
    Column("volume", BigInteger, nullable=False),
    Column("active_customers", BigInteger, nullable=False),
    # Customer logins only: the engagement figure an FI reports on.
    Column("logins", BigInteger, nullable=False),
    Column("failed_logins", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day"),
)

daily_kind_rollups = Table(
    "daily_kind_rollups",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("tx_count", BigInteger, nullable=False),
    Column("volume", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day", "kind"),
)

# Distinct active customers over a *period* cannot be summed from daily counts (a customer
# active on two days would count twice), so the set of (day, customer) pairs is kept as well.
customer_active_days = Table(
    "customer_active_days",
    metadata,
    Column("tenant_id", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day", "customer_id"),
)

#: Every tenant-scoped table, in dependency order (parents first).
TENANT_TABLES: tuple[Table, ...] = (
    institutions,
    customers,
    accounts,
    transactions,
    login_events,
    daily_rollups,
    daily_kind_rollups,
    customer_active_days,
)

#: Tables whose ``id`` comes from an identity column on PostgreSQL.
ID_TABLES: tuple[Table, ...] = (customers, accounts, transactions, login_events)


def next_id(conn: AsyncConnection, table: Table, tenant_id: int) -> ColumnElement[int] | None:
    """The id to insert into ``table``, or ``None`` to let PostgreSQL's identity column fill it.

    SQLite cannot auto-increment a column of a composite primary key, so there the next id is
    computed per tenant inside the INSERT itself: SQLite runs one writer at a time and a single
    statement is atomic, so two concurrent inserts can never compute the same id. The lookup
    walks the ``(tenant_id, id)`` primary key, so it costs one index probe.
    """
    if conn.dialect.name == "postgresql":
        return None
    return (
        select(func.coalesce(func.max(table.c.id), 0) + 1)
        .where(table.c.tenant_id == tenant_id)
        .scalar_subquery()
    )


async def create_schema(engine: AsyncEngine) -> None:
    """Create the tables (idempotent); on PostgreSQL also enable and force row-level security."""
    # Imported here: rls imports this module for the table list.
    from tenantgate.banking.rls import enable_row_level_security

    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        if conn.dialect.name == "postgresql":
            await enable_row_level_security(conn)
