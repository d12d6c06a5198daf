"""A portal backend's session life cycle: login, refresh, tenant context, logout.

The access token is verified with `guard` (JWKS) before anything in it is trusted;
the FI it names (a ref) is resolved to the internal id at the identity server and
cached briefly, since a ref maps to one FI for its whole life."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..guard.errors import GuardError
from ..guard.tokens import VerifiedToken
from ..guard.verify import TokenVerifier
from .config import PortalConfig
from .identity_client import IdentityClient, IdentityRefused, IdentityUnavailable
from .sessions import PortalSession, SessionStore, Tokens, digest, new_cookie_value

log = structlog.get_logger("tenantgate.portal")
LOGIN_STATE_TTL = 600
_REF_CACHE_SECONDS = 60.0


class SessionEnded(Exception):
    """The session is gone (expired, logged out, replaced, or its tokens were revoked)."""


class LoginRejected(Exception):
    """The login could not be completed; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class TenantContext:
    tenant_id: int
    name: str
    current_ref: str
    stale: bool


class Portal:
    def __init__(
        self,
        config: PortalConfig,
        identity: IdentityClient,
        verifier: TokenVerifier,
        sessions: SessionStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.identity = identity
        self.verifier = verifier
        self.sessions = sessions
        self.clock = clock
        self._login_aead = AESGCM(config.session_key)
        self._refs: dict[str, tuple[float, TenantContext]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- login -----------------------------------------------------------------
    def begin_login(self) -> tuple[str, str]:
        """(where to send the browser, the sealed login-state cookie value)."""
        login = self.identity.start_login()
        state = {"state": login.state, "verifier": login.verifier, "at": self.clock()}
        nonce = os.urandom(12)
        sealed = self._login_aead.encrypt(nonce, json.dumps(state).encode(), b"login-state")
        return login.url, base64.urlsafe_b64encode(nonce + sealed).decode()

    def _open_login_state(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie or len(cookie) > 1024:
            return None
        try:
            raw = base64.urlsafe_b64decode(cookie)
            plain = self._login_aead.decrypt(raw[:12], raw[12:], b"login-state")
            state: dict[str, Any] = json.loads(plain)
        except (InvalidTag, ValueError):
            return None
        if self.clock() - float(state.get("at", 0)) > LOGIN_STATE_TTL:
            return None
        return state

    async def complete_login(self, code: str, state: str, login_cookie: str | None) -> str:
        """Redeem the code; returns the new session's cookie value."""
        pending = self._open_login_state(login_cookie)
        if pending is None or not secrets.compare_digest(str(pending["state"]), state):
            raise LoginRejected("This sign-in attempt expired or did not start here.")
        try:
            answer = await self.identity.exchange_code(code, str(pending["verifier"]))
        except IdentityRefused as exc:
            raise LoginRejected("The sign-in could not be completed. Please try again.") from exc
        return await self.start_session(answer)

    async def start_session(self, answer: dict[str, Any], **tokens: Any) -> str:
        """A new session (new id: no fixation) from a token response."""
        token = await self._verify(answer["access_token"])
        now = self.clock()
        cookie = new_cookie_value()
        context = await self.tenant_context(token.tenant_ref) if token.tenant_ref else None
        session = PortalSession(
            id_digest=digest(cookie),
            public_id=secrets.token_urlsafe(12),
            subject=token.subject,
            kind=token.kind,
            tokens=Tokens(answer["access_token"], answer["refresh_token"], **tokens),
            access_expires_at=float(token.expires_at),
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.config.session_absolute_ttl,
            tenant_id=context.tenant_id if context else None,
            tenant_ref=token.tenant_ref,
            tenant_name=context.name if context else None,
            permissions=token.permissions,
        )
        await self.sessions.create(session)
        return cookie

    async def _verify(self, access_token: str) -> VerifiedToken:
        try:
            return await self.verifier.verify(access_token)
        except GuardError as exc:
            raise LoginRejected("The identity server's answer could not be verified.") from exc

    # -- every request ---------------------------------------------------------
    async def current_session(self, cookie: str | None) -> PortalSession:
        """The live session behind a cookie, with a fresh access token."""
        if not cookie or len(cookie) > 128:
            raise SessionEnded("no session")
        session = await self.sessions.load(digest(cookie))
        if session is None:
            raise SessionEnded("unknown or ended session")
        now = self.clock()
        if now > session.expires_at or now > session.last_seen_at + self.config.session_idle_ttl:
            await self.sessions.end(session.id_digest, now, "timeout")
            await self._revoke_quietly(session)
            raise SessionEnded("session timed out")
        if now - session.last_seen_at > 30:
            await self.sessions.touch(session.id_digest, now)
        if session.access_expires_at - now < self.config.refresh_margin:
            session = await self.refresh(session)
        return session

    async def refresh(self, session: PortalSession) -> PortalSession:
        lock = self._locks.setdefault(session.id_digest, asyncio.Lock())
        async with lock:
            current = await self.sessions.load(session.id_digest)
            if current is None:
                raise SessionEnded("session ended meanwhile")
            if current.access_expires_at - self.clock() >= self.config.refresh_margin:
                return current  # another request refreshed it
            if not await self.sessions.take_refresh_lease(current.id_digest, self.clock(), 10):
                await asyncio.sleep(0.2)
                return await self.refresh(current)
            try:
                return await self._refresh_now(current)
            finally:
                await self.sessions.release_refresh_lease(current.id_digest)
                self._locks.pop(session.id_digest, None)

    async def _refresh_now(self, session: PortalSession) -> PortalSession:
        try:
            answer = await self.identity.refresh(session.tokens.refresh_token)
            token = await self.verifier.verify(answer["access_token"])
        except (IdentityRefused, GuardError) as exc:
            await self.sessions.end(session.id_digest, self.clock(), "refresh refused")
            raise SessionEnded("refresh refused") from exc
        tokens = replace(
            session.tokens,
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
        )
        updated = replace(
            session.with_tokens(tokens, float(token.expires_at)),
            tenant_ref=token.tenant_ref,  # rotation: the refreshed token carries the current ref
            permissions=token.permissions,
        )
        await self.sessions.save(updated)
        return updated

    async def unscoped_access_token(self, session: PortalSession) -> str:
        """An admin's unscoped token (to list and switch FIs), refreshed when needed."""
        tokens = session.tokens
        if tokens.unscoped_access_token is None or tokens.unscoped_refresh_token is None:
            raise SessionEnded("no unscoped token in this session")
        if (tokens.unscoped_expires_at or 0) - self.clock() >= self.config.refresh_margin:
            return tokens.unscoped_access_token
        try:
            answer = await self.identity.refresh(tokens.unscoped_refresh_token)
            token = await self.verifier.verify(answer["access_token"])
        except (IdentityRefused, GuardError) as exc:
            await self.end_session(session, "refresh refused")
            raise SessionEnded("refresh refused") from exc
        refreshed = replace(
            tokens,
            unscoped_access_token=answer["access_token"],
            unscoped_refresh_token=answer["refresh_token"],
            unscoped_expires_at=float(token.expires_at),
        )
        await self.sessions.save(session.with_tokens(refreshed, session.access_expires_at))
        return str(answer["access_token"])

    async def tenant_context(self, ref: str) -> TenantContext:
        cached = self._refs.get(ref)
        now = time.monotonic()
        if cached is not None and now - cached[0] < _REF_CACHE_SECONDS:
            return cached[1]
        answer = await self.identity.resolve_ref(ref)
        context = TenantContext(
            tenant_id=int(answer["tenant_id"]),
            name=str(answer["name"]),
            current_ref=str(answer["current_ref"]),
            stale=answer["status"] != "current",
        )
        if len(self._refs) > 10_000:
            self._refs.clear()
        self._refs[ref] = (now, context)
        return context

    # -- ending ----------------------------------------------------------------
    async def end_session(self, session: PortalSession, reason: str) -> None:
        await self.sessions.end(session.id_digest, self.clock(), reason)
        await self._revoke_quietly(session)

    async def _revoke_quietly(self, session: PortalSession) -> None:
        # Revoking a refresh token ends its identity session (CONTRACT §2).
        for token in (session.tokens.refresh_token, session.tokens.unscoped_refresh_token):
            if token:
                try:
                    await self.identity.revoke(token)
                except (IdentityUnavailable, IdentityRefused) as exc:
                    # The local session is already ended; the identity session expires anyway.
                    log.warning("revocation_failed", error=type(exc).__name__)
