"""Authorization codes, sessions, refresh families and tokens, revoked access tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    func,
    select,
    update,
)

from ...embedded_sqlite import begin
from ..services.records import (
    AuditEvent,
    AuthorizationCode,
    BearerState,
    CodeUse,
    RefreshContext,
    RefreshFamily,
    RefreshToken,
    RefreshView,
    Session,
)
from . import schema as t
from .linked_writes import (
    end_other_scoped_families,
    family_row,
    rotate_and_link,
    rotate_statement,
    session_row,
    set_current_tenant,
    start_family_and_link,
    switch_parameters,
    token_row,
)
from .prepared import Prepared
from .sql_accounts import account_from, usable_grant
from .sql_audit import append_audit_in
from .sql_base import SqlBase, rowcount
from .upsert import insert_ignoring_conflicts


class SessionRows(SqlBase):
    # -- authorization codes ---------------------------------------------------
    async def use_code(self, digest: str, now: float) -> CodeUse | None:
        c = t.authorization_codes.c
        async with begin(self.engine) as conn:
            won = await conn.execute(
                update(t.authorization_codes)
                .where(c.digest == digest, c.used_at.is_(None))
                .values(used_at=now)
            )
            row = (
                await conn.execute(select(t.authorization_codes).where(c.digest == digest))
            ).first()
        if row is None:
            return None
        code = AuthorizationCode(
            row.digest,
            row.client_id,
            row.account_id,
            row.redirect_uri,
            row.code_challenge,
            row.issued_at,
            row.expires_at,
        )
        return CodeUse(code, first_use=rowcount(won) == 1, session_id=row.session_id)

    async def bind_code_to_session(self, digest: str, session_id: str) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.authorization_codes)
                .where(t.authorization_codes.c.digest == digest)
                .values(session_id=session_id)
            )

    # -- sessions and refresh families ----------------------------------------
    async def start_session(self, session: Session) -> None:
        await self.transaction(_insert_session, session)

    async def open_session(
        self,
        session: Session,
        family: RefreshFamily,
        token: RefreshToken,
        *,
        audit: AuditEvent | None = None,
    ) -> None:
        if audit is not None and self.dialect == "postgresql":
            await start_family_and_link(self, family, token, False, audit, session)
            return
        await self.transaction(_open_session, session, family, token, audit)

    async def bearer_state(
        self, jti: str, session_id: str, grant_on: int | None = None
    ) -> BearerState | None:
        params = {"jti": jti, "session_id": session_id, "grant_on": grant_on}
        row = await self.first_row(_BEARER_STATE, params)
        if row is None:
            return None
        account = account_from(row, "acct_")
        grant = usable_grant(account, row.grant_permissions, row.grant_tenant_active)
        return BearerState(_session_from(row), account, bool(row.jti_revoked), grant)

    async def revoke_session(self, session_id: str, now: float) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.sessions)
                .where(t.sessions.c.id == session_id, t.sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await conn.execute(
                update(t.refresh_families)
                .where(
                    t.refresh_families.c.session_id == session_id,
                    t.refresh_families.c.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )

    async def start_family(
        self,
        family: RefreshFamily,
        token: RefreshToken,
        *,
        replaces_others: bool,
        audit: AuditEvent | None = None,
    ) -> None:
        if audit is not None and self.dialect == "postgresql":
            await start_family_and_link(self, family, token, replaces_others, audit)
            return
        await self.transaction(_start_family, family, token, replaces_others, audit)

    async def refresh_token(self, digest: str) -> RefreshView | None:
        row = await self.first_row(_REFRESH_VIEW, {"digest": digest})
        return refresh_view(row) if row is not None else None

    async def refresh_context(self, digest: str) -> RefreshContext | None:
        row = await self.first_row(_REFRESH_CONTEXT, {"digest": digest})
        if row is None:
            return None
        account = account_from(row, "acct_") if row.acct_id is not None else None
        return RefreshContext(
            refresh_view(row),
            account,
            tenant_active=bool(row.tenant_active),
            admin_grant=(
                frozenset(row.grant_permissions.split())
                if row.grant_permissions is not None
                else None
            ),
        )

    async def rotate_refresh_token(
        self, digest: str, new: RefreshToken, now: float, *, audit: AuditEvent | None = None
    ) -> bool:
        if audit is not None and self.dialect == "postgresql":
            return await rotate_and_link(self, digest, new, now, audit)
        return await self.transaction(_rotate, digest, new, now, audit)

    async def revoke_family(self, family_id: str, now: float) -> None:
        async with begin(self.engine) as conn:
            await conn.execute(
                update(t.refresh_families)
                .where(
                    t.refresh_families.c.id == family_id, t.refresh_families.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )

    async def revoke_access_token(self, jti: str, expires_at: float) -> None:
        async with begin(self.engine) as conn:
            values = {"jti": jti, "expires_at": expires_at}
            await conn.execute(
                insert_ignoring_conflicts(self.dialect, t.revoked_access_tokens, values)
            )


def _open_session(
    conn: Connection,
    session: Session,
    family: RefreshFamily,
    token: RefreshToken,
    audit: AuditEvent | None,
) -> None:
    _insert_session(conn, session)
    _start_family(conn, family, token, False, audit)


def _rotate(
    conn: Connection, digest: str, new: RefreshToken, now: float, audit: AuditEvent | None
) -> bool:
    """The conditional rotation; the new token and the audit event only if it won."""
    won = _ROTATE.run(conn, {"b_digest": digest, "b_family_id": new.family_id, "b_now": now})
    if won != 1:
        return False
    _insert_refresh_token(conn, new)
    if audit is not None:
        append_audit_in(conn, audit)
    return True


def _insert_session(conn: Connection, session: Session) -> None:
    _INSERT_SESSION.run(conn, session_row(session))


def _start_family(
    conn: Connection,
    family: RefreshFamily,
    token: RefreshToken,
    replaces_others: bool,
    audit: AuditEvent | None,
) -> None:
    if replaces_others:
        switch = switch_parameters(family)
        _END_OTHER_SCOPED_FAMILIES.run(conn, switch)
        _SET_CURRENT_TENANT.run(conn, switch)
    _INSERT_FAMILY.run(conn, family_row(family))
    _insert_refresh_token(conn, token)
    if audit is not None:
        # Last: the chain head's lock is held only until the commit right after.
        append_audit_in(conn, audit)


def _session_from(row: Any) -> Session:
    return Session(
        row.id,
        row.account_id,
        row.client_id,
        row.started_at,
        row.current_tenant_id,
        row.revoked_at,
    )


def _insert_refresh_token(conn: Connection, token: RefreshToken) -> None:
    _INSERT_REFRESH_TOKEN.run(conn, token_row(token))


def refresh_view(row: Any) -> RefreshView:
    family = RefreshFamily(
        row.family_id,
        row.session_id,
        row.client_id,
        row.account_id,
        row.tenant_id,
        row.started_at,
        row.deadline,
        frozenset(row.permission_ceiling.split()) if row.permission_ceiling is not None else None,
    )
    token = RefreshToken(row.digest, row.family_id, row.issued_at, row.expires_at)
    return RefreshView(
        token,
        family,
        rotated_at=row.rotated_at,
        family_revoked=row.family_revoked_at is not None,
        session_revoked=row.session_revoked_at is not None,
    )


# Hot-path statements, built once: no expression construction or cache-key generation
# per request (SQLAlchemy memoizes the key on the statement object).
def _refresh_view_columns() -> list[Any]:
    """What `refresh_view` reads: the token, its family and its session's revocation."""
    f, s = t.refresh_families.c, t.sessions.c
    return [
        t.refresh_tokens,
        f.session_id,
        f.client_id,
        f.account_id,
        f.tenant_id,
        f.started_at,
        f.deadline,
        f.permission_ceiling,
        f.revoked_at.label("family_revoked_at"),
        s.revoked_at.label("session_revoked_at"),
    ]


def _refresh_view_statement() -> Any:
    rt, f, s = t.refresh_tokens.c, t.refresh_families.c, t.sessions.c
    return (
        select(*_refresh_view_columns())
        .join(t.refresh_families, f.id == rt.family_id)
        .join(t.sessions, s.id == f.session_id)
        .where(rt.digest == bindparam("digest"))
    )


def _refresh_context_statement() -> Any:
    """The refresh view plus the account, the FI's state and the admin grant, in one read."""
    rt, f, s = t.refresh_tokens.c, t.refresh_families.c, t.sessions.c
    a, g, tn = t.accounts.c, t.admin_grants.c, t.tenants.c
    return (
        select(
            *_refresh_view_columns(),
            *_labelled_account_columns(),
            tn.active.label("tenant_active"),
            g.permissions.label("grant_permissions"),
        )
        .select_from(
            t.refresh_tokens.join(t.refresh_families, f.id == rt.family_id)
            .join(t.sessions, s.id == f.session_id)
            .outerjoin(t.accounts, a.id == f.account_id)
            .outerjoin(t.tenants, tn.id == f.tenant_id)
            .outerjoin(
                t.admin_grants, and_(g.account_id == f.account_id, g.tenant_id == f.tenant_id)
            )
        )
        .where(rt.digest == bindparam("digest"))
    )


def _labelled_account_columns() -> list[Any]:
    a = t.accounts.c
    return [
        a.id.label("acct_id"),
        a.subject.label("acct_subject"),
        a.username.label("acct_username"),
        a.kind.label("acct_kind"),
        a.tenant_id.label("acct_tenant_id"),
        a.password_hash.label("acct_password_hash"),
        a.active.label("acct_active"),
        a.totp_sealed.label("acct_totp_sealed"),
    ]


def _bearer_state_statement() -> Any:
    """A session, its account, whether a jti is revoked, and the account's grant on FI
    ``:grant_on`` (NULL: the session's current FI) with that FI's state (NULLs: none):
    what a Bearer token re-checks."""
    s, r, g, tn = t.sessions.c, t.revoked_access_tokens.c, t.admin_grants.c, t.tenants.c
    revoked = select(r.jti).where(r.jti == bindparam("jti")).exists()
    return (
        select(
            t.sessions,
            *_labelled_account_columns(),
            revoked.label("jti_revoked"),
            g.permissions.label("grant_permissions"),
            tn.active.label("grant_tenant_active"),
        )
        .select_from(
            t.sessions.join(t.accounts, t.accounts.c.id == s.account_id)
            .outerjoin(
                t.admin_grants,
                and_(
                    g.account_id == s.account_id,
                    g.tenant_id
                    == func.coalesce(
                        bindparam("grant_on", type_=g.tenant_id.type), s.current_tenant_id
                    ),
                ),
            )
            .outerjoin(t.tenants, tn.id == g.tenant_id)
        )
        .where(s.id == bindparam("session_id"))
    )


_REFRESH_VIEW = Prepared(_refresh_view_statement())
_REFRESH_CONTEXT = Prepared(_refresh_context_statement())
_ROTATE = Prepared(rotate_statement())
_INSERT_REFRESH_TOKEN = Prepared(t.refresh_tokens.insert())
_INSERT_SESSION = Prepared(t.sessions.insert())
_INSERT_FAMILY = Prepared(t.refresh_families.insert())
# A tenant switch: the session's other FI-scoped families of this client end, and the
# session records the FI it now acts on.
_END_OTHER_SCOPED_FAMILIES = Prepared(end_other_scoped_families())
_SET_CURRENT_TENANT = Prepared(set_current_tenant())
_BEARER_STATE = Prepared(_bearer_state_statement())
