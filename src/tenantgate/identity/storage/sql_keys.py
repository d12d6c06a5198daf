"""One-time token claims and the signing/SSO key rows."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    select,
    update,
)

from ...embedded_sqlite import begin, connect
from ..domain.keys import StoredKey
from ..services.records import GrantedClaim
from . import schema as t
from .prepared import Prepared
from .sql_accounts import ACCOUNT_WITH_GRANT, GRANT_COLUMNS, account_with_grant_from, with_grant
from .sql_base import SqlBase
from .upsert import insert_ignoring_conflicts


class KeyRows(SqlBase):
    # -- one-time tokens ------------------------------------------------------
    async def claim_once(
        self, kind: str, jti: str, claimant: str, now: float, expires_at: float
    ) -> str | None:
        values = {
            "kind": kind,
            "jti": jti,
            "claimant": claimant,
            "used_at": now,
            "expires_at": expires_at,
        }
        # The claim is one statement (INSERT … ON CONFLICT DO NOTHING RETURNING), atomic by
        # itself: in autocommit on PostgreSQL, without BEGIN and COMMIT round trips.  Only a
        # replay reads on, for who claimed first.
        if self.dialect != "postgresql":
            return await self.transaction(_claim_once, values)
        if await self.statement_rows(_claim_statement(self.dialect), values):
            return None
        return await self._first_claimant(values)

    async def claim_with_grant(
        self,
        kind: str,
        jti: str,
        claimant: str,
        now: float,
        expires_at: float,
        *,
        account_id: int,
        tenant_id: int,
    ) -> GrantedClaim:
        claim = {
            "kind": kind,
            "jti": jti,
            "claimant": claimant,
            "used_at": now,
            "expires_at": expires_at,
        }
        account = {"account_id": account_id, "tenant_id": tenant_id}
        if self.dialect != "postgresql":  # the claim and the read: one lane transaction
            return await self.transaction(_claim_with_grant, claim, account)
        values = {**claim, **account}
        # One statement: the claim as a data-modifying CTE, whose count says if it won,
        # and the account read with it (outer-joined, so there is always one row).
        row = await self.first_row(_CLAIM_WITH_GRANT, values)
        assert row is not None
        if not row.won:
            return GrantedClaim(await self._first_claimant(values), None, None)
        return GrantedClaim(None, *account_with_grant_from(row))

    async def _first_claimant(self, values: dict[str, Any]) -> str:
        first = await self.first_row(_CLAIMANT, values)
        if first is None:  # claimed, then swept as expired in between
            raise LookupError("the one-time claim vanished")
        return str(first.claimant)

    # -- keys -----------------------------------------------------------------
    async def all_keys(self) -> list[StoredKey]:
        async with connect(self.reader) as conn:
            rows = (await conn.execute(select(t.keys).order_by(t.keys.c.created_at))).all()
        return [
            StoredKey(
                r.kid,
                r.use,
                r.alg,
                r.sealed_private,
                json.loads(r.public_jwk) if r.public_jwk else None,
                r.created_at,
                r.retired_at,
            )
            for r in rows
        ]

    async def add_key(self, key: StoredKey, *, retire_others_at: float | None) -> None:
        async with begin(self.engine) as conn:
            if retire_others_at is not None:
                await conn.execute(
                    update(t.keys)
                    .where(t.keys.c.use == key.use, t.keys.c.retired_at.is_(None))
                    .values(retired_at=retire_others_at)
                )
            await conn.execute(
                t.keys.insert().values(
                    kid=key.kid,
                    use=key.use,
                    alg=key.alg,
                    sealed_private=key.sealed_private,
                    public_jwk=json.dumps(key.public_jwk) if key.public_jwk else None,
                    created_at=key.created_at,
                    retired_at=key.retired_at,
                )
            )


def _claim_once(conn: Connection, values: dict[str, Any]) -> str | None:
    """None for the first claim; otherwise who claimed it first."""
    if _claim_statement(conn.dialect.name).first(conn, values) is not None:
        return None
    return str(_CLAIMANT.one(conn, values).claimant)


def _claim_with_grant(
    conn: Connection, claim: dict[str, Any], account: dict[str, Any]
) -> GrantedClaim:
    first = _claim_once(conn, claim)
    if first is not None:
        return GrantedClaim(first, None, None)
    return GrantedClaim(None, *account_with_grant_from(ACCOUNT_WITH_GRANT.first(conn, account)))


@cache
def _claim_statement(dialect: str) -> Prepared:
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
    return Prepared(
        insert_ignoring_conflicts(dialect, t.one_time_uses).returning(t.one_time_uses.c.jti)
    )


_CLAIMANT = Prepared(
    select(t.one_time_uses.c.claimant).where(
        t.one_time_uses.c.kind == bindparam("kind"), t.one_time_uses.c.jti == bindparam("jti")
    )
)


def _claim_with_grant_statement() -> Any:
    """PostgreSQL: the claim (INSERT … ON CONFLICT DO NOTHING RETURNING), whether it won,
    and the account with its grant on the FI as ``ACCOUNT_WITH_GRANT`` reads them."""
    columns = ("kind", "jti", "claimant", "used_at", "expires_at")
    claim = insert_ignoring_conflicts("postgresql", t.one_time_uses)
    claimed = (
        claim.values({name: bindparam(name) for name in columns})
        .returning(t.one_time_uses.c.jti)
        .cte("claimed")
    )
    won = select(func.count().label("won")).select_from(claimed).subquery("claim")
    return select(won.c.won, t.accounts, *GRANT_COLUMNS).select_from(
        with_grant(won.outerjoin(t.accounts, t.accounts.c.id == bindparam("account_id")))
    )


_CLAIM_WITH_GRANT = Prepared(_claim_with_grant_statement())
