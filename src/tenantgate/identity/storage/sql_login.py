"""Login throttling counters and the pending TOTP step."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)

from ...embedded_sqlite import begin
from ..services.records import (
    AttemptCounts,
    AuditEvent,
    AuthorizationCode,
    PendingLogin,
)
from . import schema as t
from .linked_writes import insert_if_linked, row_values
from .prepared import Prepared
from .sql_audit import (
    append_audit_in,
    link_parameters,
    link_parts,
    run_linked_alone,
    unnumbered_record,
)
from .sql_base import SqlBase

PURGE_BATCH = 500
PURGE_EVERY = 16  # purge expired attempt rows on one noted attempt in this many


class LoginRows(SqlBase):
    # -- login throttling -----------------------------------------------------
    async def note_login_attempt(
        self, keys: Sequence[tuple[str, str]], now: float, window: float
    ) -> AttemptCounts:
        since = now - window
        # All the keys' rows in one multi-row INSERT: atomic by itself (on PostgreSQL it
        # commits in autocommit, without BEGIN and COMMIT round trips).
        ids = await self._noted_ids(keys, now) if keys else []
        # Committed before counting: see the port's docstring.
        counts = await self.read(_count_attempts, keys, since)
        if ids and ids[0] % PURGE_EVERY == 0:
            a = t.login_attempts.c
            await self._purge(t.login_attempts, a.id, a.at <= since)
        return AttemptCounts(tuple(ids), counts)

    async def _noted_ids(self, keys: Sequence[tuple[str, str]], now: float) -> list[int]:
        if self.dialect != "postgresql":
            return await self.transaction(_note_attempts, keys, now)
        statement = _note_attempts_statement(len(keys))
        return _ascending_ids(await self.statement_rows(statement, _attempt_params(keys, now)))

    async def _purge(self, table: Any, key: Any, stale: Any) -> None:
        """Delete a batch of stale rows; on PostgreSQL skip rows another purge holds, so two
        purges never wait on (or deadlock with) each other."""
        chosen = select(key).where(stale).limit(PURGE_BATCH)
        if self.dialect == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        async with begin(self.engine) as conn:
            await conn.execute(delete(table).where(key.in_(chosen.scalar_subquery())))

    async def forget_login_attempts(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        await self.transaction(_forget_attempts, _id_slots(ids))

    async def complete_login(
        self,
        code: AuthorizationCode,
        *,
        forget: Sequence[int],
        clear: tuple[str, str],
        audit: AuditEvent,
    ) -> None:
        slots = _id_slots(forget)
        forgiven = {**slots[0], "scope": clear[0], "key_digest": clear[1]}
        if self.dialect == "postgresql" and len(slots) == 1:
            # Every login but one that noted more than _ID_SLOTS attempts.
            await _complete_login_linked(self, code, forgiven, audit)
            return
        await self.transaction(_complete_login, code, forgiven, slots[1:], audit)

    # -- the TOTP step ----------------------------------------------------------
    async def start_pending_login(self, pending: PendingLogin) -> None:
        p = t.pending_logins.c
        await self._purge(t.pending_logins, p.id_digest, p.expires_at <= pending.created_at)
        async with begin(self.engine) as conn:
            await conn.execute(
                t.pending_logins.insert().values(
                    id_digest=pending.id_digest,
                    account_id=pending.account_id,
                    binding=pending.binding,
                    created_at=pending.created_at,
                    expires_at=pending.expires_at,
                    attempts=pending.attempts,
                )
            )

    async def take_pending_attempt(
        self, id_digest: str, now: float, max_attempts: int
    ) -> PendingLogin | None:
        p = t.pending_logins.c
        async with begin(self.engine) as conn:
            taken = await conn.execute(
                update(t.pending_logins)
                .where(p.id_digest == id_digest, p.expires_at > now, p.attempts < max_attempts)
                .values(attempts=p.attempts + 1)
                .returning(
                    p.id_digest, p.account_id, p.binding, p.created_at, p.expires_at, p.attempts
                )
            )
            row = taken.first()
            if row is None:
                await conn.execute(delete(t.pending_logins).where(p.id_digest == id_digest))
                return None
        return PendingLogin(
            row.id_digest, row.account_id, row.binding, row.created_at, row.expires_at, row.attempts
        )

    async def finish_pending_login(self, id_digest: str) -> bool:
        p = t.pending_logins.c
        async with begin(self.engine) as conn:
            gone = await conn.execute(
                delete(t.pending_logins).where(p.id_digest == id_digest).returning(p.id_digest)
            )
            return gone.first() is not None

    async def claim_totp_step(self, account_id: int, step: int) -> bool:
        c = t.accounts.c
        async with begin(self.engine) as conn:
            won = await conn.execute(
                update(t.accounts)
                .where(
                    c.id == account_id,
                    c.totp_sealed.is_not(None),
                    (c.totp_last_step.is_(None)) | (c.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .returning(c.id)
            )
            return won.first() is not None


def _note_attempts(conn: Connection, keys: Sequence[tuple[str, str]], now: float) -> list[int]:
    statement = _note_attempts_statement(len(keys))
    return _ascending_ids(statement.rows(conn, _attempt_params(keys, now)))


def _attempt_params(keys: Sequence[tuple[str, str]], now: float) -> dict[str, Any]:
    params: dict[str, Any] = {"at": now}
    for index, (scope, digest) in enumerate(keys):
        params[f"scope_{index}"], params[f"key_digest_{index}"] = scope, digest
    return params


def _ascending_ids(rows: list[Any]) -> list[int]:
    # Ids are drawn in the VALUES' order (RETURNING's own order is unspecified on
    # SQLite): ascending ids are the keys' order.
    return sorted(int(row.id) for row in rows)


@cache
def _note_attempts_statement(count: int) -> Prepared:
    rows: list[dict[str, Any]] = [
        {
            "scope": bindparam(f"scope_{i}"),
            "key_digest": bindparam(f"key_digest_{i}"),
            "at": bindparam("at"),
        }
        for i in range(count)
    ]
    return Prepared(t.login_attempts.insert().values(rows).returning(t.login_attempts.c.id))


def _count_attempts(
    conn: Connection, keys: Sequence[tuple[str, str]], since: float
) -> dict[str, int]:
    return {
        s: int(_COUNT_ATTEMPTS.one(conn, {"scope": s, "key_digest": k, "since": since}).attempts)
        for s, k in keys
    }


def _id_slots(ids: Sequence[int]) -> list[dict[str, int]]:
    """*ids* as parameter sets of exactly ``_ID_SLOTS`` ids each (at least one set), padded
    with 0, which is never a row id.  A fixed ``IN`` list is compiled once; an expanding
    one is rendered again for every execution, which cost a login more than the delete."""
    padded = list(ids) or [0]
    padded += [0] * (-len(padded) % _ID_SLOTS)
    return [
        dict(zip(_ID_NAMES, padded[start : start + _ID_SLOTS], strict=True))
        for start in range(0, len(padded), _ID_SLOTS)
    ]


def _forget_attempts(conn: Connection, slots: list[dict[str, int]]) -> None:
    for ids in slots:
        _FORGET_ATTEMPTS.run(conn, ids)


def _complete_login(
    conn: Connection,
    code: AuthorizationCode,
    forgiven: dict[str, Any],
    more: list[dict[str, int]],
    audit: AuditEvent,
) -> None:
    _FORGIVE_ATTEMPTS.run(conn, forgiven)
    _forget_attempts(conn, more)
    _INSERT_CODE.run(conn, row_values(code, _CODE_COLUMNS))
    # Last: the chain head's lock is held only until the commit right after.
    append_audit_in(conn, audit)


async def _complete_login_linked(
    db: SqlBase, code: AuthorizationCode, forgiven: dict[str, Any], audit: AuditEvent
) -> None:
    """PostgreSQL: :func:`_complete_login` as one audited statement (see linked_writes.py),
    batched with the others of this process."""
    params = link_parameters(unnumbered_record(audit))
    params.update(forgiven)
    params.update(row_values(code, _CODE_COLUMNS, "c_"))
    await run_linked_alone(db, _COMPLETE_LOGIN_LINKED, params)


# Hot-path statements (every login runs them), built once.
_COUNT_ATTEMPTS = Prepared(
    select(func.count().label("attempts"))
    .select_from(t.login_attempts)
    .where(
        t.login_attempts.c.scope == bindparam("scope"),
        t.login_attempts.c.key_digest == bindparam("key_digest"),
        t.login_attempts.c.at > bindparam("since"),
    )
)
# A login notes two attempts (its account's and its address's): they fit one statement.
_ID_SLOTS = 4
# Not id_<n>: SQLAlchemy names the anonymous parameter of ``id == 1`` id_1 in a statement
# that joins these (the PostgreSQL login below).
_ID_NAMES = tuple(f"attempt_{i}" for i in range(_ID_SLOTS))
_ANY_OF_THE_IDS = t.login_attempts.c.id.in_([bindparam(name) for name in _ID_NAMES])
_FORGET_ATTEMPTS = Prepared(delete(t.login_attempts).where(_ANY_OF_THE_IDS))


# A login's own attempts and the failures of one key, forgotten in one statement.
def _forgive_attempts_statement() -> Any:
    return delete(t.login_attempts).where(
        or_(
            _ANY_OF_THE_IDS,
            and_(
                t.login_attempts.c.scope == bindparam("scope"),
                t.login_attempts.c.key_digest == bindparam("key_digest"),
            ),
        )
    )


_FORGIVE_ATTEMPTS = Prepared(_forgive_attempts_statement())
_INSERT_CODE = Prepared(t.authorization_codes.insert())
_CODE_COLUMNS = (
    "digest",
    "client_id",
    "account_id",
    "redirect_uri",
    "code_challenge",
    "issued_at",
    "expires_at",
)


def _complete_login_linked_statement() -> Any:
    """The forgiven attempts deleted, the code inserted and the audit record linked, each
    only if the chain head was bumped: all of it or nothing, in one statement."""
    bumped, link = link_parts()
    linked = exists(select(1).select_from(bumped))
    new_code = insert_if_linked(t.authorization_codes, "c_", _CODE_COLUMNS, bumped)
    forgiven = _forgive_attempts_statement().where(linked)
    statement = link.add_cte(bumped).add_cte(forgiven.cte("forgiven"))
    statement = statement.add_cte(new_code.cte("new_code"))
    return statement.execution_options(preserve_rowcount=True)


_COMPLETE_LOGIN_LINKED = Prepared(_complete_login_linked_statement())
