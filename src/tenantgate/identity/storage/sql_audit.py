"""The hash-chained audit trail."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ...embedded_sqlite import run_transaction
from ..domain.audit_chain import CHAINED_FIELDS, chain_hash
from ..services.records import AuditEvent
from . import schema as t
from .prepared import Prepared
from .sql_base import SqlBase


class AuditRows(SqlBase):
    async def record(self, event: AuditEvent) -> None:
        await append_audit_event(self.engine, event)


async def append_audit_event(engine: AsyncEngine, event: AuditEvent) -> None:
    """Append to the hash chain (domain/audit_chain.py) in one transaction.

    The first statement bumps the single chain-head row and reads its hash back: on
    PostgreSQL that row lock makes every other appender (any instance) wait until this
    transaction commits, then re-read the new head; on SQLite the UPDATE takes the database's
    one writer lock.  So links are made strictly one after another and ``seq`` has no gaps.
    """
    await run_transaction(engine, append_audit_in, event)


def append_audit_in(conn: Connection, event: AuditEvent) -> None:
    """The append itself, inside the caller's transaction (see ``append_audit_event``)."""
    head = _BUMP_HEAD.one(conn, {})
    record: dict[str, Any] = {
        "seq": int(head.seq),
        "at": float(event.at),
        "event": event.event,
        "account_id": event.account_id,
        "client_id": event.client_id,
        "tenant_id": event.tenant_id,
        "session_id": event.session_id,
        "address": event.address,
        "detail": json.dumps(event.detail, sort_keys=True, default=str),
    }
    digest = chain_hash(head.last_hash, record)
    link = {f"e_{name}": value for name, value in record.items()}
    link.update(e_prev_hash=head.last_hash, e_hash=digest, b_last_hash=digest)
    if conn.dialect.name == "postgresql":
        # One round trip fewer while this transaction holds the head's row lock, which
        # every other appender is queued behind (see append_audit_event).
        _LINK.run(conn, link)
    else:
        _INSERT_AUDIT.run(conn, link)
        _SET_HEAD_HASH.run(conn, link)


_BUMP_HEAD = Prepared(
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(seq=t.audit_chain_head.c.seq + 1)
    .returning(t.audit_chain_head.c.seq, t.audit_chain_head.c.last_hash)
)
_LINK_COLUMNS = (*CHAINED_FIELDS, "prev_hash", "hash")
# Bound as e_<column>: inside the UPDATE below, names of the head's columns are reserved.
_INSERT_AUDIT_STATEMENT = insert(t.audit_events).values(
    {name: bindparam(f"e_{name}") for name in _LINK_COLUMNS}
)
_INSERT_AUDIT = Prepared(_INSERT_AUDIT_STATEMENT)
_SET_HEAD_HASH_STATEMENT = (
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(last_hash=bindparam("b_last_hash"))
)
_SET_HEAD_HASH = Prepared(_SET_HEAD_HASH_STATEMENT)
# PostgreSQL only (SQLite has no data-modifying CTEs): the event and the new head hash in
# one statement.
_LINK = Prepared(_SET_HEAD_HASH_STATEMENT.add_cte(_INSERT_AUDIT_STATEMENT.cte("appended")))
