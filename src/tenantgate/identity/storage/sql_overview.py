"""The operators' session overview, one FI at a time."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)

from ...embedded_sqlite import begin, connect
from ..domain.accounts import AccountKind
from ..services.records import (
    Session,
    SessionSummary,
)
from . import schema as t
from .sql_base import SqlBase


class OverviewRows(SqlBase):
    # -- the operators' session overview (one FI at a time) --------------------
    async def live_sessions_acting_on(
        self, account_id: int, tenant_id: int, now: float
    ) -> list[SessionSummary]:
        s, f, rt = t.sessions.c, t.refresh_families.c, t.refresh_tokens.c
        last_activity = (
            select(func.max(rt.issued_at))
            .select_from(t.refresh_tokens.join(t.refresh_families, f.id == rt.family_id))
            .where(f.session_id == s.id)
            .scalar_subquery()
        )
        q = (
            select(
                s.id,
                s.account_id,
                s.client_id,
                t.clients.c.name.label("client_name"),
                s.current_tenant_id,
                t.tenants.c.name.label("tenant_name"),
                s.started_at,
                last_activity.label("last_activity"),
            )
            .select_from(
                t.sessions.join(t.tenants, t.tenants.c.id == s.current_tenant_id).outerjoin(
                    t.clients, t.clients.c.client_id == s.client_id
                )
            )
            .where(s.account_id == account_id, _live_session_acting_on(tenant_id, now))
            .order_by(s.started_at, s.id)
        )
        async with connect(self.reader) as conn:
            rows = (await conn.execute(q)).all()
        return [
            SessionSummary(
                id=r.id,
                account_id=r.account_id,
                client_id=r.client_id,
                client_name=r.client_name or r.client_id,
                tenant_id=r.current_tenant_id,
                tenant_name=r.tenant_name,
                started_at=r.started_at,
                last_activity_at=r.last_activity if r.last_activity is not None else r.started_at,
            )
            for r in rows
        ]

    async def revoke_session_acting_on(
        self, session_id: str, tenant_id: int, now: float
    ) -> Session | None:
        s, f = t.sessions.c, t.refresh_families.c
        async with begin(self.engine) as conn:
            ended = (
                await conn.execute(
                    update(t.sessions)
                    .where(s.id == session_id, _live_session_acting_on(tenant_id, now))
                    .values(revoked_at=now)
                    .returning(s.id, s.account_id, s.client_id, s.started_at, s.current_tenant_id)
                )
            ).first()
            if ended is None:
                return None
            await conn.execute(
                update(t.refresh_families)
                .where(f.session_id == session_id, f.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return Session(
            ended.id, ended.account_id, ended.client_id, ended.started_at, ended.current_tenant_id
        )


def _live_session_acting_on(tenant_id: int, now: float) -> ColumnElement[bool]:
    """A session (row of ``sessions``) that acts on the FI and can still be refreshed.

    Acting on FI T: its current tenant is T, and its account is an admin (who acts on one
    FI at a time) or belongs to T.  Live: not revoked, and some family not revoked, within
    its absolute deadline, whose newest token is within its idle deadline."""
    s, f, rt, a = t.sessions.c, t.refresh_families.c, t.refresh_tokens.c, t.accounts.c
    owner_in_scope = exists(
        select(a.id).where(
            a.id == s.account_id, or_(a.kind == AccountKind.ADMIN.value, a.tenant_id == tenant_id)
        )
    )
    refreshable = exists(
        select(rt.digest)
        .select_from(t.refresh_tokens.join(t.refresh_families, f.id == rt.family_id))
        .where(
            f.session_id == s.id,
            f.revoked_at.is_(None),
            f.deadline > now,
            rt.rotated_at.is_(None),
            rt.expires_at > now,
        )
    )
    return and_(
        s.current_tenant_id == tenant_id,
        s.revoked_at.is_(None),
        owner_in_scope,
        refreshable,
    )
