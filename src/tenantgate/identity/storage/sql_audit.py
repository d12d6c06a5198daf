"""The hash-chained audit trail."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    CTE,
    Connection,
    LargeBinary,
    String,
    bindparam,
    cast,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from ...embedded_sqlite import run_transaction
from ..domain.audit_chain import CHAINED_FIELDS, canonical_parts, chain_hash
from ..services.records import AuditEvent
from . import schema as t
from .prepared import Prepared
from .sql_base import SqlBase


class AuditRows(SqlBase):
    async def record(self, event: AuditEvent) -> None:
        """An event on its own: on PostgreSQL the append is one audited statement, alone in
        autocommit or batched with the others (``SqlBase.linked_count``); on SQLite it is
        a lane transaction."""
        if self.dialect == "postgresql":
            await run_linked_alone(self, _APPEND_LINK, link_parameters(unnumbered_record(event)))
            return
        await self.transaction(append_audit_in, event)


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
    record = unnumbered_record(event)
    if conn.dialect.name == "postgresql":
        run_linked(_APPEND_LINK, conn, link_parameters(record))
        return
    head = _BUMP_HEAD.one(conn, {})
    record["seq"] = int(head.seq)
    digest = chain_hash(head.last_hash, record)
    link = {f"e_{name}": value for name, value in record.items()}
    link.update(e_prev_hash=head.last_hash, e_hash=digest, b_last_hash=digest)
    _INSERT_AUDIT.run(conn, link)
    _SET_HEAD_HASH.run(conn, link)


def unnumbered_record(event: AuditEvent) -> dict[str, Any]:
    """The chained columns of *event*, all but ``seq``, which the append gives it."""
    return {
        "at": float(event.at),
        "event": event.event,
        "account_id": event.account_id,
        "client_id": event.client_id,
        "tenant_id": event.tenant_id,
        "session_id": event.session_id,
        "address": event.address,
        "detail": _DETAIL.encode(event.detail),
    }


# Reused: json.dumps with options builds an encoder per call.
_DETAIL = json.JSONEncoder(sort_keys=True, default=str)


def run_linked(statement: Prepared, conn: Connection, params: dict[str, Any]) -> None:
    """Run a statement that ends in the audit INSERT of :func:`link_parts`, in *conn*'s
    transaction; no row inserted means no head row to link from (a damaged database): an
    error."""
    _linked(statement.run(conn, params))


async def run_linked_alone(db: SqlBase, statement: Prepared, params: dict[str, Any]) -> None:
    """:func:`run_linked` for a statement that is all of its write: alone in autocommit, or
    batched with the other audited writes of this process (``SqlBase.linked_count``)."""
    _linked(await db.linked_count(statement, params))


def _linked(inserted: int) -> None:
    if inserted != 1:
        raise LookupError("the audit chain head row is missing")


def link_parameters(record: dict[str, Any]) -> dict[str, Any]:
    """Parameters of :func:`append_link_statement` for an :func:`unnumbered_record`."""
    prefix, suffix = canonical_parts(record)
    link = {f"e_{name}": value for name, value in record.items()}
    link.update(b_prefix=prefix, b_suffix=suffix)
    return link


_BUMP_HEAD = Prepared(
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(seq=t.audit_chain_head.c.seq + 1)
    .returning(t.audit_chain_head.c.seq, t.audit_chain_head.c.last_hash)
)
_LINK_COLUMNS = (*CHAINED_FIELDS, "prev_hash", "hash")
# Bound as e_<column>, as in link_parameters (the PostgreSQL statement below, where the
# head's column names are taken).
_INSERT_AUDIT = Prepared(
    insert(t.audit_events).values({name: bindparam(f"e_{name}") for name in _LINK_COLUMNS})
)
_SET_HEAD_HASH = Prepared(
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(last_hash=bindparam("b_last_hash"))
)


def append_link_statement(after: CTE | None = None) -> Any:
    """PostgreSQL: a whole link in one statement, so the chain head's row lock, which every
    appender on every instance queues behind, is taken by the statement that needs it and
    held only until the commit.  The database numbers the record and hashes it, with the
    same formula as :func:`chain_hash`: SHA-256 over the previous hash's ASCII, then the
    record's canonical JSON, whose only part the database writes is ``seq``
    (:func:`canonical_parts` gives the rest).  ``SET`` reads the row as it was, so
    ``prev_hash`` takes the old ``last_hash``; when the UPDATE waited for another
    appender's lock, PostgreSQL re-reads the row that one committed before setting any.

    With *after* (a data-modifying CTE of the same statement), the link is made only if
    that CTE returned a row: a conditional write and its audit record in one statement."""
    bumped, link = link_parts(after)
    # SQLAlchemy keeps an INSERT's row count only when asked; 0: no link was made.
    return link.add_cte(bumped).execution_options(preserve_rowcount=True)


def link_parts(after: CTE | None = None) -> tuple[CTE, Any]:
    """The two halves of :func:`append_link_statement`: the head's bump as a CTE named
    ``bumped`` (it returns one row when the link is made) and the record's INSERT from it,
    for statements that make their own writes depend on the bump."""
    h = t.audit_chain_head.c
    new_seq = h.seq + 1
    canonical = (
        bindparam("b_prefix", type_=LargeBinary)
        .op("||")(func.convert_to(cast(new_seq, String), "UTF8"))
        .op("||")(bindparam("b_suffix", type_=LargeBinary))
    )
    linked_hash = func.encode(
        func.sha256(func.convert_to(h.last_hash, "UTF8").op("||")(canonical)), "hex"
    )
    only_if = [exists(select(1).select_from(after))] if after is not None else []
    bumped = (
        update(t.audit_chain_head)
        .where(h.id == 1, *only_if)
        .values(seq=new_seq, prev_hash=h.last_hash, last_hash=linked_hash)
        .returning(h.seq, h.prev_hash, h.last_hash)
        .cte("bumped")
    )
    chained = [name for name in CHAINED_FIELDS if name != "seq"]
    row = select(
        bumped.c.seq,
        *(bindparam(f"e_{name}", type_=t.audit_events.c[name].type) for name in chained),
        bumped.c.prev_hash,
        bumped.c.last_hash,
    )
    return bumped, insert(t.audit_events).from_select(["seq", *chained, "prev_hash", "hash"], row)


_APPEND_LINK = Prepared(append_link_statement())
