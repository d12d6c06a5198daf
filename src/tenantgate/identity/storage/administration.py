"""Operator actions (CLI, demo seeding): FIs, accounts, grants, clients.

Inputs are validated by the domain rules before they reach this module."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain.accounts import AccountKind
from . import schema as t


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


def new_subject() -> str:
    return "u_" + secrets.token_urlsafe(18)


class SqlAdministration:
    def __init__(self, engine: AsyncEngine, now: float) -> None:
        self.engine = engine
        self.now = now

    async def create_tenants(self, names: Iterable[str]) -> dict[str, int]:
        rows = [{"name": n, "active": True, "created_at": self.now} for n in names]
        async with self.engine.begin() as conn:
            if rows:
                await conn.execute(t.tenants.insert(), rows)
            result = await conn.execute(select(t.tenants.c.name, t.tenants.c.id))
            return dict(result.all())

    async def tenant_id(self, name: str) -> int:
        async with self.engine.connect() as conn:
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
        async with self.engine.begin() as conn:
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
        async with self.engine.connect() as conn:
            return {str(u): str(s) for u, s in (await conn.execute(q)).all()}

    async def account_id(self, username: str) -> tuple[int, AccountKind]:
        async with self.engine.connect() as conn:
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
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(active=active)
            )

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        account_id, _ = await self.account_id(username)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )

    async def grant(self, account_id: int, tenant_id: int, permissions: frozenset[str]) -> None:
        text = " ".join(sorted(permissions))
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
            if values:
                await conn.execute(t.admin_grants.insert(), values)

    async def revoke_grant(self, account_id: int, tenant_id: int) -> None:
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
            await conn.execute(delete(t.clients).where(t.clients.c.client_id == reg.client_id))
            await conn.execute(t.clients.insert().values(**values))

    async def count_tenants(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(t.tenants))).scalar_one()
            )
