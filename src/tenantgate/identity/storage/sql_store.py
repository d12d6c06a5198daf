"""The identity store on SQLAlchemy Core.  Every method is one transaction; the
guarantees that matter across instances are single conditional statements
(`UPDATE ... WHERE used_at IS NULL`, `INSERT ... ON CONFLICT DO NOTHING`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.accounts import Account, AccountKind, Client, Tenant
from ..domain.audit_chain import chain_hash
from ..domain.keys import StoredKey
from ..services.records import (
    AttemptCounts,
    AuditEvent,
    AuthorizationCode,
    CodeUse,
    PendingLogin,
    RefreshContext,
    RefreshFamily,
    RefreshToken,
    RefreshView,
    Session,
    SessionSummary,
    TenantRef,
)
from . import schema as t
from .upsert import insert_ignoring_conflicts

PURGE_BATCH = 500
PURGE_EVERY = 16  # purge expired attempt rows on one noted attempt in this many


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


class SqlIdentityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    # -- accounts -------------------------------------------------------------
    async def account_by_username(self, username: str) -> Account | None:
        return await self._account(t.accounts.c.username == username)

    async def account_by_id(self, account_id: int) -> Account | None:
        return await self._account(t.accounts.c.id == account_id)

    async def _account(self, where: Any) -> Account | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(t.accounts).where(where))).first()
        return _account_from(row) if row else None

    async def replace_password_hash(self, account_id: int, password_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.accounts)
                .where(t.accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )

    # -- login throttling -----------------------------------------------------
    async def note_login_attempt(
        self, keys: Sequence[tuple[str, str]], now: float, window: float
    ) -> AttemptCounts:
        a = t.login_attempts.c
        rows = [{"scope": scope, "key_digest": key, "at": now} for scope, key in keys]
        async with self.engine.begin() as conn:
            ids: list[int] = []
            for row in rows:
                inserted = await conn.execute(
                    t.login_attempts.insert().values(**row).returning(a.id)
                )
                ids.append(int(inserted.scalar_one()))
        # Committed before counting: see the port's docstring.
        counts: dict[str, int] = {}
        async with self.engine.connect() as conn:
            for scope, key in keys:
                q = (
                    select(func.count())
                    .select_from(t.login_attempts)
                    .where(a.scope == scope, a.key_digest == key, a.at > now - window)
                )
                counts[scope] = int((await conn.execute(q)).scalar_one())
        if ids and ids[0] % PURGE_EVERY == 0:
            await self._purge(t.login_attempts, a.id, a.at <= now - window)
        return AttemptCounts(tuple(ids), counts)

    async def _purge(self, table: Any, key: Any, stale: Any) -> None:
        """Delete a batch of stale rows; on PostgreSQL skip rows another purge holds, so two
        purges never wait on (or deadlock with) each other."""
        chosen = select(key).where(stale).limit(PURGE_BATCH)
        if self.dialect == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        async with self.engine.begin() as conn:
            await conn.execute(delete(table).where(key.in_(chosen.scalar_subquery())))

    async def forget_login_attempts(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        async with self.engine.begin() as conn:
            await conn.execute(delete(t.login_attempts).where(t.login_attempts.c.id.in_(ids)))

    async def clear_login_failures(self, scope: str, key_digest: str) -> None:
        a = t.login_attempts.c
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(t.login_attempts).where(a.scope == scope, a.key_digest == key_digest)
            )

    # -- the TOTP step ----------------------------------------------------------
    async def start_pending_login(self, pending: PendingLogin) -> None:
        p = t.pending_logins.c
        await self._purge(t.pending_logins, p.id_digest, p.expires_at <= pending.created_at)
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
            gone = await conn.execute(
                delete(t.pending_logins).where(p.id_digest == id_digest).returning(p.id_digest)
            )
            return gone.first() is not None

    async def claim_totp_step(self, account_id: int, step: int) -> bool:
        c = t.accounts.c
        async with self.engine.begin() as conn:
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

    # -- clients, tenants, grants ----------------------------------------------
    async def client_by_id(self, client_id: str) -> Client | None:
        async with self.engine.connect() as conn:
            q = select(t.clients).where(t.clients.c.client_id == client_id)
            row = (await conn.execute(q)).first()
        return _client_from(row) if row else None

    async def tenant_by_id(self, tenant_id: int) -> Tenant | None:
        async with self.engine.connect() as conn:
            q = select(t.tenants).where(t.tenants.c.id == tenant_id)
            row = (await conn.execute(q)).first()
        return Tenant(row.id, row.name, row.active) if row else None

    async def ref_for_epoch(self, tenant_id: int, epoch: int, candidate: str) -> str:
        async with self.engine.begin() as conn:
            values = {"ref": candidate, "tenant_id": tenant_id, "epoch": epoch}
            await conn.execute(insert_ignoring_conflicts(self.dialect, t.tenant_refs, values))
            q = select(t.tenant_refs.c.ref).where(
                t.tenant_refs.c.tenant_id == tenant_id, t.tenant_refs.c.epoch == epoch
            )
            return str((await conn.execute(q)).scalar_one())

    async def find_ref(self, ref: str) -> TenantRef | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(t.tenant_refs).where(t.tenant_refs.c.ref == ref))
            ).first()
        return TenantRef(row.tenant_id, row.ref, row.epoch) if row else None

    async def admin_permissions(self, account_id: int, tenant_id: int) -> frozenset[str] | None:
        q = (
            select(t.admin_grants.c.permissions)
            .join(t.tenants, t.tenants.c.id == t.admin_grants.c.tenant_id)
            .join(t.accounts, t.accounts.c.id == t.admin_grants.c.account_id)
            .where(
                t.admin_grants.c.account_id == account_id,
                t.admin_grants.c.tenant_id == tenant_id,
                t.tenants.c.active.is_(True),
                t.accounts.c.active.is_(True),
                t.accounts.c.kind == AccountKind.ADMIN.value,
            )
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(q)).scalar_one_or_none()
        return frozenset(value.split()) if value is not None else None

    async def admin_tenants(self, account_id: int) -> list[Tenant]:
        q = (
            select(t.tenants)
            .join(t.admin_grants, t.tenants.c.id == t.admin_grants.c.tenant_id)
            .where(t.admin_grants.c.account_id == account_id, t.tenants.c.active.is_(True))
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [Tenant(r.id, r.name, r.active) for r in rows]

    # -- authorization codes ---------------------------------------------------
    async def save_code(self, code: AuthorizationCode) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                t.authorization_codes.insert().values(
                    digest=code.digest,
                    client_id=code.client_id,
                    account_id=code.account_id,
                    redirect_uri=code.redirect_uri,
                    code_challenge=code.code_challenge,
                    issued_at=code.issued_at,
                    expires_at=code.expires_at,
                )
            )

    async def use_code(self, digest: str, now: float) -> CodeUse | None:
        c = t.authorization_codes.c
        async with self.engine.begin() as conn:
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
        return CodeUse(code, first_use=_rowcount(won) == 1, session_id=row.session_id)

    async def bind_code_to_session(self, digest: str, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.authorization_codes)
                .where(t.authorization_codes.c.digest == digest)
                .values(session_id=session_id)
            )

    # -- sessions and refresh families ----------------------------------------
    async def start_session(self, session: Session) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                t.sessions.insert().values(
                    id=session.id,
                    account_id=session.account_id,
                    client_id=session.client_id,
                    started_at=session.started_at,
                    current_tenant_id=session.current_tenant_id,
                )
            )

    async def session_by_id(self, session_id: str) -> Session | None:
        async with self.engine.connect() as conn:
            q = select(t.sessions).where(t.sessions.c.id == session_id)
            row = (await conn.execute(q)).first()
        if row is None:
            return None
        return Session(
            row.id,
            row.account_id,
            row.client_id,
            row.started_at,
            row.current_tenant_id,
            row.revoked_at,
        )

    async def revoke_session(self, session_id: str, now: float) -> None:
        async with self.engine.begin() as conn:
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
        self, family: RefreshFamily, token: RefreshToken, *, replaces_others: bool
    ) -> None:
        f = t.refresh_families.c
        async with self.engine.begin() as conn:
            if replaces_others:
                await conn.execute(
                    update(t.refresh_families)
                    .where(
                        f.session_id == family.session_id,
                        f.client_id == family.client_id,
                        f.tenant_id.is_not(None),
                        f.revoked_at.is_(None),
                    )
                    .values(revoked_at=family.started_at)
                )
                await conn.execute(
                    update(t.sessions)
                    .where(t.sessions.c.id == family.session_id)
                    .values(current_tenant_id=family.tenant_id)
                )
            await conn.execute(
                t.refresh_families.insert().values(
                    id=family.id,
                    session_id=family.session_id,
                    client_id=family.client_id,
                    account_id=family.account_id,
                    tenant_id=family.tenant_id,
                    started_at=family.started_at,
                    deadline=family.deadline,
                    permission_ceiling=(
                        " ".join(sorted(family.ceiling)) if family.ceiling is not None else None
                    ),
                )
            )
            await _insert_refresh_token(conn, token)

    async def refresh_token(self, digest: str) -> RefreshView | None:
        rt, f, s = t.refresh_tokens.c, t.refresh_families.c, t.sessions.c
        q = (
            select(
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
            )
            .join(t.refresh_families, f.id == rt.family_id)
            .join(t.sessions, s.id == f.session_id)
            .where(rt.digest == digest)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        return _refresh_view(row) if row is not None else None

    async def refresh_context(self, digest: str) -> RefreshContext | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_REFRESH_CONTEXT, {"digest": digest})).first()
        if row is None:
            return None
        account = (
            Account(
                id=row.acct_id,
                subject=row.acct_subject,
                username=row.acct_username,
                kind=AccountKind(row.acct_kind),
                tenant_id=row.acct_tenant_id,
                password_hash=row.acct_password_hash,
                active=row.acct_active,
                totp_sealed=row.acct_totp_sealed,
            )
            if row.acct_id is not None
            else None
        )
        return RefreshContext(
            _refresh_view(row),
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
        async with self.engine.begin() as conn:
            won = await conn.execute(
                _ROTATE, {"b_digest": digest, "b_family_id": new.family_id, "b_now": now}
            )
            if _rowcount(won) != 1:
                return False
            await _insert_refresh_token(conn, new)
            if audit is not None:
                await _append_audit(conn, audit)
        return True

    async def revoke_family(self, family_id: str, now: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.refresh_families)
                .where(
                    t.refresh_families.c.id == family_id, t.refresh_families.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )

    async def revoke_access_token(self, jti: str, expires_at: float) -> None:
        async with self.engine.begin() as conn:
            values = {"jti": jti, "expires_at": expires_at}
            await conn.execute(
                insert_ignoring_conflicts(self.dialect, t.revoked_access_tokens, values)
            )

    async def access_token_revoked(self, jti: str) -> bool:
        async with self.engine.connect() as conn:
            q = select(t.revoked_access_tokens.c.jti).where(t.revoked_access_tokens.c.jti == jti)
            return (await conn.execute(q)).first() is not None

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
        async with self.engine.connect() as conn:
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
        async with self.engine.begin() as conn:
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
        async with self.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
            insert = insert_ignoring_conflicts(self.dialect, t.one_time_uses, values)
            won = await conn.execute(insert.returning(t.one_time_uses.c.jti))
            if won.first() is not None:
                return None
            q = select(t.one_time_uses.c.claimant).where(
                t.one_time_uses.c.kind == kind, t.one_time_uses.c.jti == jti
            )
            return str((await conn.execute(q)).scalar_one())

    # -- keys -----------------------------------------------------------------
    async def all_keys(self) -> list[StoredKey]:
        async with self.engine.connect() as conn:
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
        async with self.engine.begin() as conn:
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

    # -- audit ----------------------------------------------------------------
    async def record(self, event: AuditEvent) -> None:
        await append_audit_event(self.engine, event)


async def append_audit_event(engine: AsyncEngine, event: AuditEvent) -> None:
    """Append to the hash chain (domain/audit_chain.py) in one transaction.

    The first statement bumps the single chain-head row and reads its hash back: on
    PostgreSQL that row lock makes every other appender (any instance) wait until this
    transaction commits, then re-read the new head; on SQLite the UPDATE takes the database's
    one writer lock.  So links are made strictly one after another and ``seq`` has no gaps.
    """
    async with engine.begin() as conn:
        await _append_audit(conn, event)


async def _append_audit(conn: AsyncConnection, event: AuditEvent) -> None:
    """The append itself, inside the caller's transaction (see ``append_audit_event``)."""
    head = (await conn.execute(_BUMP_HEAD)).one()
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
    await conn.execute(_INSERT_AUDIT, {**record, "prev_hash": head.last_hash, "hash": digest})
    await conn.execute(_SET_HEAD_HASH, {"b_last_hash": digest})


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


async def _insert_refresh_token(conn: AsyncConnection, token: RefreshToken) -> None:
    await conn.execute(
        _INSERT_REFRESH_TOKEN,
        {
            "digest": token.digest,
            "family_id": token.family_id,
            "issued_at": token.issued_at,
            "expires_at": token.expires_at,
        },
    )


def _refresh_view(row: Row[Any]) -> RefreshView:
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
def _refresh_context_statement() -> Any:
    rt, f, s = t.refresh_tokens.c, t.refresh_families.c, t.sessions.c
    a, g, tn = t.accounts.c, t.admin_grants.c, t.tenants.c
    return (
        select(
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
            a.id.label("acct_id"),
            a.subject.label("acct_subject"),
            a.username.label("acct_username"),
            a.kind.label("acct_kind"),
            a.tenant_id.label("acct_tenant_id"),
            a.password_hash.label("acct_password_hash"),
            a.active.label("acct_active"),
            a.totp_sealed.label("acct_totp_sealed"),
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


def _rotate_statement() -> Any:
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


_REFRESH_CONTEXT = _refresh_context_statement()
_ROTATE = _rotate_statement()
_INSERT_REFRESH_TOKEN = t.refresh_tokens.insert()
_BUMP_HEAD = (
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(seq=t.audit_chain_head.c.seq + 1)
    .returning(t.audit_chain_head.c.seq, t.audit_chain_head.c.last_hash)
)
_INSERT_AUDIT = t.audit_events.insert()
_SET_HEAD_HASH = (
    update(t.audit_chain_head)
    .where(t.audit_chain_head.c.id == 1)
    .values(last_hash=bindparam("b_last_hash"))
)


def _account_from(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        subject=row.subject,
        username=row.username,
        kind=AccountKind(row.kind),
        tenant_id=row.tenant_id,
        password_hash=row.password_hash,
        active=row.active,
        totp_sealed=row.totp_sealed,
    )


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
