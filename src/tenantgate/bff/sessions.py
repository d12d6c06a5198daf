"""Server-side portal sessions: what the browser's cookie stands for.

Tokens are sealed with AES-256-GCM under the portal's session key (the row id is
the associated data), so a read of the table alone yields no usable token.  Every
login makes a new session id (no fixation); idle and absolute timeouts end it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .session_schema import portal_sessions as t


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    # Admins keep their unscoped pair too: listing and switching FIs need it.
    unscoped_access_token: str | None = None
    unscoped_refresh_token: str | None = None
    unscoped_expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class PortalSession:
    id_digest: str
    public_id: str
    subject: str
    kind: str
    tokens: Tokens
    access_expires_at: float
    csrf_token: str
    created_at: float
    last_seen_at: float
    expires_at: float
    tenant_id: int | None = None
    tenant_ref: str | None = None
    tenant_name: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    def with_tokens(self, tokens: Tokens, access_expires_at: float) -> PortalSession:
        return replace(self, tokens=tokens, access_expires_at=access_expires_at)


def digest(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode()).hexdigest()


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


class SessionStore:
    def __init__(self, engine: AsyncEngine, portal: str, key: bytes) -> None:
        self.engine = engine
        self._portal = portal
        self._aead = AESGCM(key)

    def _seal(self, tokens: Tokens, aad: str) -> str:
        nonce = os.urandom(12)
        plaintext = json.dumps(asdict(tokens))
        sealed = self._aead.encrypt(nonce, plaintext.encode(), aad.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def _unseal(self, blob: str, aad: str) -> Tokens | None:
        try:
            raw = base64.urlsafe_b64decode(blob)
            plaintext = self._aead.decrypt(raw[:12], raw[12:], aad.encode())
        except (InvalidTag, ValueError):
            return None
        return Tokens(**json.loads(plaintext))

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def create(self, session: PortalSession) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(t.insert().values(**self._row(session)))

    def _row(self, session: PortalSession) -> dict[str, Any]:
        return {
            "id_digest": session.id_digest,
            "portal": self._portal,
            "public_id": session.public_id,
            "subject": session.subject,
            "kind": session.kind,
            "tenant_id": session.tenant_id,
            "tenant_ref": session.tenant_ref,
            "tenant_name": session.tenant_name,
            "permissions": " ".join(sorted(session.permissions)),
            "sealed_tokens": self._seal(session.tokens, session.id_digest),
            "access_expires_at": session.access_expires_at,
            "csrf_token": session.csrf_token,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
        }

    async def load(self, id_digest: str) -> PortalSession | None:
        q = select(t).where(
            t.c.id_digest == id_digest, t.c.portal == self._portal, t.c.ended_at.is_(None)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        if row is None:
            return None
        tokens = self._unseal(row.sealed_tokens, row.id_digest)
        if tokens is None:
            return None
        return PortalSession(
            id_digest=row.id_digest,
            public_id=row.public_id,
            subject=row.subject,
            kind=row.kind,
            tokens=tokens,
            access_expires_at=row.access_expires_at,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            tenant_id=row.tenant_id,
            tenant_ref=row.tenant_ref,
            tenant_name=row.tenant_name,
            permissions=frozenset(row.permissions.split()),
        )

    async def save(self, session: PortalSession) -> None:
        """Store new tokens and tenant context (after a refresh or an FI switch)."""
        row = self._row(session)
        for key in ("id_digest", "portal", "public_id", "created_at", "csrf_token", "expires_at"):
            row.pop(key)
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id_digest == session.id_digest).values(**row))

    async def touch(self, id_digest: str, now: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id_digest == id_digest).values(last_seen_at=now))

    async def end(self, id_digest: str, now: float, reason: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id_digest == id_digest, t.c.ended_at.is_(None))
                .values(ended_at=now, end_reason=reason, sealed_tokens="")
            )

    async def take_refresh_lease(self, id_digest: str, now: float, seconds: float) -> bool:
        """One refresh at a time per session, across portal instances (a DB lease)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(
                    t.c.id_digest == id_digest,
                    (t.c.refresh_lease_until.is_(None)) | (t.c.refresh_lease_until < now),
                )
                .values(refresh_lease_until=now + seconds)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    async def release_refresh_lease(self, id_digest: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t).where(t.c.id_digest == id_digest).values(refresh_lease_until=None)
            )
