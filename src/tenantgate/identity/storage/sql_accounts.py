"""Accounts, clients, FIs, tenant refs and admin grants."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    select,
    update,
)
from sqlalchemy.engine import Row

from ...embedded_sqlite import begin, connect
from ..domain.accounts import Account, AccountKind, Client, Tenant
from ..services.records import (
    TenantRef,
)
from . import schema as t
from .prepared import Prepared
from .sql_base import SqlBase
from .upsert import insert_ignoring_conflicts


class AccountRows(SqlBase):
    # -- accounts -------------------------------------------------------------
    async def account_by_username(self, username: str) -> Account | None:
        row = await self.first_row(_ACCOUNT_BY_USERNAME, {"username": username})
        return account_from(row) if row else None

    async def account_by_id(self, account_id: int) -> Account | None:
        row = await self.first_row(_ACCOUNT_BY_ID, {"account_id": account_id})
        return account_from(row) if row else None

    async def replace_password_hash(self, account_id: int, password_hash: str) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )

    # -- clients, tenants, grants ----------------------------------------------
    async def client_by_id(self, client_id: str) -> Client | None:
        async with connect(self.reader) as conn:
            q = select(t.clients).where(t.clients.c.client_id == client_id)
            row = (await conn.execute(q)).first()
        return _client_from(row) if row else None

    async def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        async with connect(self.reader) as conn:
            q = select(t.tenants).where(t.tenants.c.id == tenant_id)
            row = (await conn.execute(q)).first()
        return Tenant(row.id, row.name, row.active) if row else None

    async def ref_for_epoch(self, tenant_id: int, epoch: int, candidate: str) -> str:
        async with begin(self.engine) as conn:
            values = {"ref": candidate, "tenant_id": tenant_id, "epoch": epoch}
            await conn.execute(insert_ignoring_conflicts(self.dialect, t.tenant_refs, values))
            q = select(t.tenant_refs.c.ref).where(
                t.tenant_refs.c.tenant_id == tenant_id, t.tenant_refs.c.epoch == epoch
            )
            return str((await conn.execute(q)).scalar_one())

    async def find_ref(self, ref: str) -> TenantRef | None:
        row = await self.first_row(_FIND_REF, {"ref": ref})
        return TenantRef(row.tenant_id, row.ref, row.epoch) if row else None

    async def admin_permissions(self, account_id: int, tenant_id: int) -> frozenset[str] | None:
        return (await self.account_with_grant(account_id, tenant_id))[1]

    async def account_with_grant(
        self, account_id: int, tenant_id: int
    ) -> tuple[Account | None, frozenset[str] | None]:
        params = {"account_id": account_id, "tenant_id": tenant_id}
        return account_with_grant_from(await self.first_row(ACCOUNT_WITH_GRANT, params))

    async def admin_tenants(self, account_id: int) -> list[Tenant]:
        q = (
            select(t.tenants)
            .join(t.admin_grants, t.tenants.c.id == t.admin_grants.c.tenant_id)
            .where(t.admin_grants.c.account_id == account_id, t.tenants.c.active.is_(True))
        )
        async with connect(self.reader) as conn:
            rows = (await conn.execute(q)).all()
        return [Tenant(r.id, r.name, r.active) for r in rows]


# Built once: the hot paths (login, token exchange, SSO) run these on every request.
_ACCOUNT_BY_ID = Prepared(select(t.accounts).where(t.accounts.c.id == bindparam("account_id")))
_ACCOUNT_BY_USERNAME = Prepared(
    select(t.accounts).where(t.accounts.c.username == bindparam("username"))
)
_FIND_REF = Prepared(select(t.tenant_refs).where(t.tenant_refs.c.ref == bindparam("ref")))

# The account, and its grant on one FI with that FI's state (NULLs: no grant).
GRANT_COLUMNS = (
    t.admin_grants.c.permissions.label("grant_permissions"),
    t.tenants.c.active.label("grant_tenant_active"),
)


def with_grant(joined: Any) -> Any:
    """*joined* (which has ``accounts``) with the account's grant on ``:tenant_id`` and
    that FI, outer-joined."""
    return joined.outerjoin(
        t.admin_grants,
        and_(
            t.admin_grants.c.account_id == t.accounts.c.id,
            t.admin_grants.c.tenant_id == bindparam("tenant_id"),
        ),
    ).outerjoin(t.tenants, t.tenants.c.id == t.admin_grants.c.tenant_id)


ACCOUNT_WITH_GRANT = Prepared(
    select(t.accounts, *GRANT_COLUMNS)
    .select_from(with_grant(t.accounts))
    .where(t.accounts.c.id == bindparam("account_id"))
)


def account_with_grant_from(row: Any | None) -> tuple[Account | None, frozenset[str] | None]:
    """``account_with_grant``'s answer from a row of ``accounts`` and GRANT_COLUMNS
    (``id`` NULL or no row: no such account)."""
    if row is None or row.id is None:
        return None, None
    account = account_from(row)
    return account, usable_grant(account, row.grant_permissions, row.grant_tenant_active)


def account_from(row: Any, prefix: str = "") -> Account:
    """An account from a row of ``accounts`` columns, attributes ``{prefix}{column}``
    (a ``Row`` or a :class:`~.prepared.Prepared` row)."""
    return Account(
        id=getattr(row, f"{prefix}id"),
        subject=getattr(row, f"{prefix}subject"),
        username=getattr(row, f"{prefix}username"),
        kind=AccountKind(getattr(row, f"{prefix}kind")),
        tenant_id=getattr(row, f"{prefix}tenant_id"),
        password_hash=getattr(row, f"{prefix}password_hash"),
        active=getattr(row, f"{prefix}active"),
        totp_sealed=getattr(row, f"{prefix}totp_sealed"),
    )


def usable_grant(
    account: Account, permissions: str | None, tenant_active: bool | None
) -> frozenset[str] | None:
    """An admin grant as ``admin_permissions`` answers it, from its row's permissions and
    its FI's ``active`` (NULLs: no grant): None unless the account is an active admin and
    the FI is active."""
    usable = account.active and account.kind is AccountKind.ADMIN and tenant_active
    if not usable or permissions is None:
        return None
    return frozenset(permissions.split())


def _client_from(row: Row[Any]) -> Client:
    return Client(
        client_id=row.client_id,
        secret_digest=row.secret_digest,
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        account_kinds=frozenset(AccountKind(k) for k in json.loads(row.account_kinds)),
        grant_types=frozenset(json.loads(row.grant_types)),
        audience=row.audience,
        sso_audiences=frozenset(json.loads(row.sso_audiences)),
        redeems_sso=row.redeems_sso,
        name=row.name,
    )
