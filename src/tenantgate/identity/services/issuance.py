"""Issuing access and refresh tokens for a session (RFC 6749 §5.1, RFC 9068)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.access_tokens import AccessTokenClaims, issue_access_token
from ..domain.accounts import Account, Client
from ..domain.opaque_tokens import digest_opaque_token, new_opaque_token
from ..domain.refresh_tokens import RefreshPolicy
from .context import Deps
from .records import AuditEvent, RefreshFamily, RefreshToken, Session

ACCESS_TOKEN_TYPE_URN = "urn:ietf:params:oauth:token-type:access_token"


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    token_type: str = "Bearer"
    refresh_token: str | None = None
    issued_token_type: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.issued_token_type is not None:
            body["issued_token_type"] = self.issued_token_type
        body.update(self.extra)
        return body


def refresh_policy(deps: Deps) -> RefreshPolicy:
    return RefreshPolicy(deps.config.refresh_token_idle_ttl, deps.config.refresh_token_ttl)


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


async def new_session(
    deps: Deps, account: Account, client: Client, tenant_id: int | None
) -> Session:
    session = Session(new_session_id(), account.id, client.client_id, deps.now(), tenant_id)
    await deps.store.start_session(session)
    return session


async def access_token_for(
    deps: Deps,
    account: Account,
    client: Client,
    session_id: str,
    tenant_id: int | None,
    permissions: frozenset[str],
) -> tuple[str, int]:
    await deps.keyring.refresh()
    now = int(deps.now())
    ttl = deps.config.access_token_ttl
    claims = AccessTokenClaims(
        issuer=deps.config.issuer,
        subject=account.subject,
        audience=client.audience,
        client_id=client.client_id,
        issued_at=now,
        expires_at=now + ttl,
        jwt_id=str(uuid.uuid4()),
        session_id=session_id,
        kind=account.kind.value,
        permissions=tuple(sorted(permissions)),
        tenant=await deps.current_ref(tenant_id) if tenant_id is not None else None,
    )
    return issue_access_token(claims, deps.keyring.signing_key()), ttl


async def start_refresh_family(
    deps: Deps,
    session: Session,
    client: Client,
    account: Account,
    tenant_id: int | None,
    *,
    replaces_others: bool = False,
    ceiling: frozenset[str] | None = None,
    audit: AuditEvent | None = None,
) -> str:
    """A new refresh family for an existing session; returns its first token."""
    token, family, record = new_refresh_family(deps, session, client, account, tenant_id, ceiling)
    await deps.store.start_family(family, record, replaces_others=replaces_others, audit=audit)
    return token


async def open_session_with_family(
    deps: Deps,
    account: Account,
    client: Client,
    tenant_id: int | None,
    *,
    ceiling: frozenset[str] | None = None,
    audit: Callable[[Session], AuditEvent] | None = None,
) -> tuple[Session, str]:
    """A new session and its first refresh family (and audit event) in one transaction."""
    session = Session(new_session_id(), account.id, client.client_id, deps.now(), tenant_id)
    token, family, record = new_refresh_family(deps, session, client, account, tenant_id, ceiling)
    event = audit(session) if audit is not None else None
    await deps.store.open_session(session, family, record, audit=event)
    return session, token


def new_refresh_family(
    deps: Deps,
    session: Session,
    client: Client,
    account: Account,
    tenant_id: int | None,
    ceiling: frozenset[str] | None,
) -> tuple[str, RefreshFamily, RefreshToken]:
    now = deps.now()
    policy = refresh_policy(deps)
    family = RefreshFamily(
        id=str(uuid.uuid4()),
        session_id=session.id,
        client_id=client.client_id,
        account_id=account.id,
        tenant_id=tenant_id,
        started_at=now,
        deadline=min(policy.family_deadline(now), session.started_at + policy.absolute_ttl),
        ceiling=ceiling,
    )
    token = new_opaque_token()
    record = RefreshToken(
        digest_opaque_token(token), family.id, now, policy.token_deadline(now, family.deadline)
    )
    return token, family, record


async def tenant_view(deps: Deps, tenant_id: int) -> dict[str, str]:
    return {"ref": await deps.current_ref(tenant_id), "name": await deps.tenant_name(tenant_id)}
