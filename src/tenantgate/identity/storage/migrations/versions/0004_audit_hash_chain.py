"""Tamper-evident audit trail: a hash chain over audit_events and its single head row.

Existing rows are chained in id order by this migration.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from tenantgate.identity.domain.audit_chain import GENESIS, chain_hash

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_audit_events_seq"), ["seq"])
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.Float()),
        sa.column("event", sa.String()),
        sa.column("account_id", sa.Integer()),
        sa.column("client_id", sa.String()),
        sa.column("tenant_id", sa.Integer()),
        sa.column("session_id", sa.String()),
        sa.column("address", sa.String()),
        sa.column("detail", sa.Text()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    prev, seq = GENESIS, 0
    for row in conn.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        seq += 1
        record = {**row, "seq": seq}
        digest = chain_hash(prev, record)
        conn.execute(
            sa.update(events)
            .where(events.c.id == row["id"])
            .values(seq=seq, prev_hash=prev, hash=digest)
        )
        prev = digest
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("last_hash", sa.String()),
    )
    conn.execute(sa.insert(head).values(id=1, seq=seq, last_hash=prev))


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(op.f("uq_audit_events_seq"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
