"""Operator actions (CLI, demo seeding): FIs, accounts, grants, clients.

Inputs are validated by the domain rules before they reach this module."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ...embedded_sqlite import begin, connect
from ..domain.accounts import AccountKind
from ..domain.audit_chain import ChainBreak, ChainReport, ChainWalker
from ..services.records import AuditEvent
from . import schema as t
from .sql_store import append_audit_event


class AdministrationError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    client_id: str
    secret_digest: str
    name: str
    redirect_uris: tuple[str, ...]
    account_kinds: tuple[AccountKind, ...]
    grant_types: tuple[str, ...]
    audience: str
    sso_audiences: tuple[str, ...] = ()
    redeems_sso: bool = False


@dataclass(frozen=True, slots=True)
class LiveSession:
    sid: str
    client_id: str
    tenant_name: str | None  # the FI the session currently acts on
    started_at: float
    last_refresh_at: float | None


def new_subject() -> str:
    return "u_" + secrets.token_urlsafe(18)


class SqlAdministration:
    def __init__(self, engine: AsyncEngine, now: float) -> None:
        self.engine = engine
        self.now = now

    async def create_tenants(self, names: Iterable[str]) -> dict[str, int]:
        rows = [{"name": n, "active": True, "created_at": self.now} for n in names]
        async with begin(self.engine) as conn:
            if rows:
                await conn.execute(t.tenants.insert(), rows)
            result = await conn.execute(select(t.tenants.c.name, t.tenants.c.id))
            return dict(result.all())

    async def tenant_id(self, name: str) -> int:
        async with connect(self.engine) as conn:
            value = (
                await conn.execute(select(t.tenants.c.id).where(t.tenants.c.name == name))
            ).scalar_one_or_none()
        if value is None:
            raise AdministrationError(f"no FI named {name!r}")
        return int(value)

    async def create_accounts(
        self, accounts: Iterable[tuple[str, AccountKind, int | None, str]]
    ) -> dict[str, int]:
        """(username, kind, tenant id, password hash) → ids by username."""
        rows = []
        for username, kind, tenant_id, password_hash in accounts:
            if (kind is AccountKind.ADMIN) != (tenant_id is None):
                raise AdministrationError(
                    "admins belong to no FI; employees and customers to exactly one"
                )
            rows.append(
                {
                    "subject": new_subject(),
                    "username": username,
                    "kind": kind.value,
                    "tenant_id": tenant_id,
                    "password_hash": password_hash,
                    "active": True,
                    "created_at": self.now,
                }
            )
        async with begin(self.engine) as conn:
            if rows:
                await conn.execute(t.accounts.insert(), rows)
            names = [r["username"] for r in rows]
            q = select(t.accounts.c.username, t.accounts.c.id).where(
                t.accounts.c.username.in_(names)
            )
            return dict((await conn.execute(q)).all())

    async def subjects(self, usernames: list[str]) -> dict[str, str]:
        """The public `sub` of each account (what relying parties know them by)."""
        q = select(t.accounts.c.username, t.accounts.c.subject).where(
            t.accounts.c.username.in_(usernames)
        )
        async with connect(self.engine) as conn:
            return {str(u): str(s) for u, s in (await conn.execute(q)).all()}

    async def account_id(self, username: str) -> tuple[int, AccountKind]:
        async with connect(self.engine) as conn:
            row = (
                await conn.execute(
                    select(t.accounts.c.id, t.accounts.c.kind).where(
                        t.accounts.c.username == username
                    )
                )
            ).first()
        if row is None:
            raise AdministrationError(f"no account named {username!r}")
        return int(row.id), AccountKind(row.kind)

    async def set_account_active(self, username: str, active: bool) -> None:
        account_id, _ = await self.account_id(username)
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(active=active)
            )

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        account_id, _ = await self.account_id(username)
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )

    async def grant(self, account_id: int, tenant_id: int, permissions: frozenset[str]) -> None:
        text = " ".join(sorted(permissions))
        async with begin(self.engine) as conn:
            await conn.execute(
                delete(t.admin_grants).where(
                    t.admin_grants.c.account_id == account_id,
                    t.admin_grants.c.tenant_id == tenant_id,
                )
            )
            await conn.execute(
                t.admin_grants.insert().values(
                    account_id=account_id, tenant_id=tenant_id, permissions=text
                )
            )

    async def grant_many(self, rows: list[tuple[int, int, frozenset[str]]]) -> None:
        values = [
            {"account_id": a, "tenant_id": tid, "permissions": " ".join(sorted(p))}
            for a, tid, p in rows
        ]
        async with begin(self.engine) as conn:
            if values:
                await conn.execute(t.admin_grants.insert(), values)

    async def revoke_grant(self, account_id: int, tenant_id: int) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                delete(t.admin_grants).where(
                    t.admin_grants.c.account_id == account_id,
                    t.admin_grants.c.tenant_id == tenant_id,
                )
            )

    async def register_client(self, reg: ClientRegistration) -> None:
        values = {
            "client_id": reg.client_id,
            "secret_digest": reg.secret_digest,
            "name": reg.name,
            "redirect_uris": json.dumps(list(reg.redirect_uris)),
            "account_kinds": json.dumps([k.value for k in reg.account_kinds]),
            "grant_types": json.dumps(list(reg.grant_types)),
            "audience": reg.audience,
            "sso_audiences": json.dumps(list(reg.sso_audiences)),
            "redeems_sso": reg.redeems_sso,
        }
        async with begin(self.engine) as conn:
            await conn.execute(delete(t.clients).where(t.clients.c.client_id == reg.client_id))
            await conn.execute(t.clients.insert().values(**values))

    async def count_tenants(self) -> int:
        async with connect(self.engine) as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.tenants))).scalar_one()
            )

    # -- TOTP ------------------------------------------------------------------
    async def account_subject(self, username: str) -> tuple[int, AccountKind, str]:
        q = select(t.accounts.c.id, t.accounts.c.kind, t.accounts.c.subject).where(
            t.accounts.c.username == username
        )
        async with connect(self.engine) as conn:
            row = (await conn.execute(q)).first()
        if row is None:
            raise AdministrationError(f"no account named {username!r}")
        return int(row.id), AccountKind(row.kind), str(row.subject)

    async def set_totp(self, username: str, sealed: str | None) -> None:
        """Enrol (a sealed secret) or remove (None) TOTP; the used-step memory starts over."""
        account_id, _ = await self.account_id(username)
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(totp_sealed=sealed, totp_last_step=None)
            )

    # -- sessions --------------------------------------------------------------
    async def live_sessions(self, account_id: int) -> list[LiveSession]:
        """Sessions not revoked that still hold a refresh family within its lifetime."""
        s, f, rt = t.sessions.c, t.refresh_families.c, t.refresh_tokens.c
        live_family = select(f.session_id).where(
            f.session_id == s.id, f.revoked_at.is_(None), f.deadline > self.now
        )
        last_refresh = (
            select(func.max(rt.issued_at))
            .select_from(t.refresh_tokens.join(t.refresh_families, f.id == rt.family_id))
            .where(f.session_id == s.id)
            .scalar_subquery()
        )
        q = (
            select(s.id, s.client_id, t.tenants.c.name, s.started_at, last_refresh.label("last"))
            .select_from(t.sessions.outerjoin(t.tenants, t.tenants.c.id == s.current_tenant_id))
            .where(s.account_id == account_id, s.revoked_at.is_(None), live_family.exists())
            .order_by(s.started_at)
        )
        async with connect(self.engine) as conn:
            rows = (await conn.execute(q)).all()
        return [LiveSession(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def revoke_sessions(self, username: str, *, sid: str | None, operator: str) -> list[str]:
        """Revoke one live session (``sid``) or all of them; each revocation is audited."""
        account_id, _ = await self.account_id(username)
        live = [x.sid for x in await self.live_sessions(account_id)]
        if sid is not None:
            if sid not in live:
                raise AdministrationError(f"{username} has no live session {sid!r}")
            live = [sid]
        s, f = t.sessions.c, t.refresh_families.c
        for one in live:
            async with begin(self.engine) as conn:
                await conn.execute(
                    update(t.sessions)
                    .where(s.id == one, s.revoked_at.is_(None))
                    .values(revoked_at=self.now)
                )
                await conn.execute(
                    update(t.refresh_families)
                    .where(f.session_id == one, f.revoked_at.is_(None))
                    .values(revoked_at=self.now)
                )
            await self.audit("session.revoked", account_id=account_id, session_id=one, by=operator)
        return live

    # -- audit -----------------------------------------------------------------
    async def audit(self, event: str, *, account_id: int | None = None, **detail: Any) -> None:
        """An operator action, appended to the same hash-chained trail."""
        session_id = detail.pop("session_id", None)
        await append_audit_event(
            self.engine,
            AuditEvent(
                event=event,
                at=self.now,
                account_id=account_id,
                session_id=session_id,
                detail=detail,
            ),
        )

    async def recent_audit_events(
        self,
        *,
        limit: int,
        tenant_id: int | None = None,
        account_id: int | None = None,
        event: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` events that match, oldest first."""
        e = t.audit_events.c
        q = select(t.audit_events).order_by(e.id.desc()).limit(limit)
        if tenant_id is not None:
            q = q.where(e.tenant_id == tenant_id)
        if account_id is not None:
            q = q.where(e.account_id == account_id)
        if event is not None:
            q = q.where(e.event == event)
        async with connect(self.engine) as conn:
            rows = (await conn.execute(q)).all()
        return [dict(r._mapping) for r in reversed(rows)]

    async def verify_audit_chain(self, batch: int = 5000) -> ChainReport:
        """Walk the whole chain in ``seq`` order, ``batch`` rows at a time."""
        e, h = t.audit_events.c, t.audit_chain_head.c
        walker = ChainWalker()
        async with connect(self.engine) as conn:
            head = (await conn.execute(select(h.seq, h.last_hash).where(h.id == 1))).one()
            outside = (
                await conn.execute(
                    select(func.count()).select_from(t.audit_events).where(e.seq.is_(None))
                )
            ).scalar_one()
            after = 0
            while True:
                q = select(t.audit_events).where(e.seq > after).order_by(e.seq).limit(batch)
                chunk = (await conn.execute(q)).all()
                if not chunk or not all(walker.feed(dict(r._mapping)) for r in chunk):
                    break
                after = chunk[-1].seq
        report = walker.finish(int(head.seq), str(head.last_hash))
        if report.intact and outside:
            reason = f"{outside} record(s) outside the chain (inserted by hand)"
            return ChainReport(report.checked, report.head_hash, ChainBreak(None, reason))
        return report
