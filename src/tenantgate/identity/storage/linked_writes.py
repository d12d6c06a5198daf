"""PostgreSQL: the hot writes together with their audit record, each as one statement.

A write and its audit record commit together or not at all (tests/identity/http/
test_write_atomicity.py).  On PostgreSQL one statement is atomic by itself, and
data-modifying CTEs let one statement make several writes, so these need no transaction of
their own: they run straight on the driver (``SqlBase.linked_count``), alone in autocommit
or, under load, in a batch with the others that arrive meanwhile (one pipelined
transaction), and the audit chain head's row lock (``sql_audit.link_parts``), which every
appender on every instance queues behind, is taken once per batch.  SQLite has no data-modifying
CTEs and runs the same writes as one transaction on its lane (``sql_sessions``).

* **A refresh**: the conditional rotation (only while the chain head exists), the new token
  inserted from the row it returned, and the link only if that insert returned a row.  The
  link's row count says whether the rotation won; a lost rotation writes nothing, and only
  then is the head looked for, to tell a missing head (an error) from a lost race.
* **A new refresh family with its audit record** (tenant selection, SSO redemption): the
  session itself when it is new (a redemption); on a switch of FI (a selection), the end of
  the session's other FI-scoped families for this client and the FI the session now acts
  on; then the family and its first token.  Every one of
  these writes reads from (or is conditioned on) the chain head's bump, so if no link can
  be made (no head row) nothing is written and the caller raises.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, Table, bindparam, exists, insert, literal, select, update

from ..services.records import AuditEvent, RefreshFamily, RefreshToken, Session
from . import schema as t
from .prepared import Prepared
from .sql_audit import link_parameters, link_parts, run_linked_alone, unnumbered_record
from .sql_base import SqlBase

SESSION_COLUMNS = ("id", "account_id", "client_id", "started_at", "current_tenant_id")
FAMILY_COLUMNS = (  # permission_ceiling last: family_row writes it from the ceiling
    "id",
    "session_id",
    "client_id",
    "account_id",
    "tenant_id",
    "started_at",
    "deadline",
    "permission_ceiling",
)
TOKEN_COLUMNS = ("digest", "family_id", "issued_at", "expires_at")


# -- the statements, also run one by one on SQLite's lane (sql_sessions) ---------------
def rotate_statement() -> Any:
    """Mark the presented token rotated, if it is not yet and its family is live."""
    rt, f = t.refresh_tokens.c, t.refresh_families.c
    live_family = select(f.id).where(f.id == bindparam("b_family_id"), f.revoked_at.is_(None))
    return (
        update(t.refresh_tokens)
        .where(
            rt.digest == bindparam("b_digest"),
            rt.rotated_at.is_(None),
            rt.family_id.in_(live_family.scalar_subquery()),
        )
        .values(rotated_at=bindparam("b_now"))
    )


def end_other_scoped_families() -> Any:
    """A tenant switch ends the session's other FI-scoped families of this client."""
    f = t.refresh_families.c
    return (
        update(t.refresh_families)
        .where(
            f.session_id == bindparam("b_session_id"),
            f.client_id == bindparam("b_client_id"),
            f.tenant_id.is_not(None),
            f.revoked_at.is_(None),
        )
        .values(revoked_at=bindparam("b_now"))
    )


def set_current_tenant() -> Any:
    """The session records the FI it now acts on."""
    return (
        update(t.sessions)
        .where(t.sessions.c.id == bindparam("b_session_id"))
        .values(current_tenant_id=bindparam("b_tenant_id"))
    )


def new_token_from(won: CTE) -> Any:
    """PostgreSQL: the new token, inserted from the row the rotation CTE *won* returned."""
    rt = t.refresh_tokens.c
    new_row = select(
        bindparam("n_digest", type_=rt.digest.type),
        won.c.family_id,
        bindparam("n_issued_at", type_=rt.issued_at.type),
        bindparam("n_expires", type_=rt.expires_at.type),
    )
    return insert(t.refresh_tokens).from_select(list(TOKEN_COLUMNS), new_row)


# -- a refresh ----------------------------------------------------------------------
_HEAD_EXISTS = exists(select(literal(1)).where(t.audit_chain_head.c.id == 1))


def _rotate_and_link_statement() -> Any:
    won = rotate_statement().where(_HEAD_EXISTS).returning(t.refresh_tokens.c.family_id)
    won = won.cte("won")
    inserted = new_token_from(won).returning(t.refresh_tokens.c.digest).cte("inserted")
    bumped, link = link_parts(after=inserted)
    statement = link.add_cte(won).add_cte(inserted).add_cte(bumped)
    # SQLAlchemy keeps an INSERT's row count only when asked.
    return statement.execution_options(preserve_rowcount=True)


_ROTATE_AND_LINK = Prepared(_rotate_and_link_statement())


async def rotate_and_link(
    db: SqlBase, digest: str, new: RefreshToken, now: float, audit: AuditEvent
) -> bool:
    """The rotation with its new token and audit record; True if it won."""
    params = link_parameters(unnumbered_record(audit))
    params.update(
        b_digest=digest,
        b_family_id=new.family_id,
        b_now=now,
        n_digest=new.digest,
        n_issued_at=new.issued_at,
        n_expires=new.expires_at,
    )
    if await db.linked_count(_ROTATE_AND_LINK, params) == 1:
        return True
    if await db.first_row(_HEAD, {}) is None:
        raise LookupError("the audit chain head row is missing")
    return False


_HEAD = Prepared(select(t.audit_chain_head.c.id).where(t.audit_chain_head.c.id == 1))


# -- a new family ---------------------------------------------------------------------
def insert_if_linked(table: Table, prefix: str, columns: tuple[str, ...], bumped: CTE) -> Any:
    """An INSERT of one row of values bound as ``<prefix><column>``, made only if the chain
    head was bumped (*bumped* returned its row)."""
    values = [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in columns]
    return insert(table).from_select(list(columns), select(*values).select_from(bumped))


def _family_and_link_statement(*, with_session: bool, replaces_others: bool) -> Any:
    bumped, link = link_parts()
    linked = exists(select(1).select_from(bumped))
    writes: list[CTE] = [bumped]
    if with_session:
        writes.append(
            insert_if_linked(t.sessions, "s_", SESSION_COLUMNS, bumped).cte("new_session")
        )
    if replaces_others:
        writes.append(end_other_scoped_families().where(linked).cte("ended"))
        writes.append(set_current_tenant().where(linked).cte("switched"))
    writes.append(
        insert_if_linked(t.refresh_families, "f_", FAMILY_COLUMNS, bumped).cte("new_family")
    )
    writes.append(insert_if_linked(t.refresh_tokens, "t_", TOKEN_COLUMNS, bumped).cte("new_token"))
    statement = link
    for write in writes:
        statement = statement.add_cte(write)
    return statement.execution_options(preserve_rowcount=True)


_FAMILY_AND_LINK = {
    (with_session, replaces): Prepared(
        _family_and_link_statement(with_session=with_session, replaces_others=replaces)
    )
    for with_session, replaces in ((False, False), (False, True), (True, False))
}


async def start_family_and_link(
    db: SqlBase,
    family: RefreshFamily,
    token: RefreshToken,
    replaces_others: bool,
    audit: AuditEvent,
    session: Session | None = None,
) -> None:
    """The family (and *session*, when it is new) with its first token and audit record."""
    params = link_parameters(unnumbered_record(audit))
    params.update(family_row(family, "f_"))
    params.update(token_row(token, "t_"))
    if session is not None:
        params.update(session_row(session, "s_"))
    if replaces_others:
        params.update(switch_parameters(family))
    await run_linked_alone(db, _FAMILY_AND_LINK[(session is not None, replaces_others)], params)


# -- rows as parameters (shared with the lane's statements) ------------------------------
def row_values(record: object, columns: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    """The attributes of *record* named like *columns*, keyed ``<prefix><column>``."""
    return {prefix + name: getattr(record, name) for name in columns}


def session_row(session: Session, prefix: str = "") -> dict[str, Any]:
    return row_values(session, SESSION_COLUMNS, prefix)


def family_row(family: RefreshFamily, prefix: str = "") -> dict[str, Any]:
    ceiling = family.ceiling
    row = row_values(family, FAMILY_COLUMNS[:-1], prefix)
    row[f"{prefix}permission_ceiling"] = " ".join(sorted(ceiling)) if ceiling is not None else None
    return row


def token_row(token: RefreshToken, prefix: str = "") -> dict[str, Any]:
    return row_values(token, TOKEN_COLUMNS, prefix)


def switch_parameters(family: RefreshFamily) -> dict[str, Any]:
    return {
        "b_session_id": family.session_id,
        "b_client_id": family.client_id,
        "b_now": family.started_at,
        "b_tenant_id": family.tenant_id,
    }
