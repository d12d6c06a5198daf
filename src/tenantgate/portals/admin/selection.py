"""Listing the admin's FIs and switching the session to one (DESIGN §3 "Tenant selection").

Token layout of an admin session:
- before the first selection the session's main pair *is* the unscoped admin pair
  (what the code exchange returned), kept fresh by the shared BFF refresh;
- after a selection the main pair is the FI-scoped pair and the unscoped pair moves to
  the `unscoped_*` fields, refreshed on demand by `Portal.unscoped_access_token`.

The unscoped pair is never held twice: refresh tokens rotate on every use, so a second
copy would go stale at the first refresh and presenting it would look like token theft
(reuse detection revokes the whole family, ending the admin's session).

Everything that may rotate a token of the session runs under the session's refresh
lease, so two tabs (or two portal instances) never refresh or switch at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from ...bff.identity_client import IdentityRefused, IdentityUnavailable
from ...bff.portal import Portal, SessionEnded
from ...bff.sessions import PortalSession, Tokens
from ...guard.errors import GuardError
from .refusals import AdminRefusal, NotPermitted, log

LEASE_SECONDS = 10.0
LEASE_ATTEMPTS = 40
LEASE_PAUSE = 0.1
MAX_NAME_LENGTH = 200


class Busy(AdminRefusal):
    status = 409
    error = "busy"
    title = "Please try again"


@dataclass(frozen=True, slots=True)
class Institution:
    ref: str
    name: str


@dataclass(frozen=True, slots=True)
class UnscopedPair:
    access_token: str
    refresh_token: str
    expires_at: float


@asynccontextmanager
async def session_lease(portal: Portal, session: PortalSession) -> AsyncIterator[PortalSession]:
    """Hold the session's refresh lease; yields the session as stored right now."""
    store = portal.sessions
    for _ in range(LEASE_ATTEMPTS):
        if await store.take_refresh_lease(session.id_digest, portal.clock(), LEASE_SECONDS):
            break
        await asyncio.sleep(LEASE_PAUSE)
    else:
        raise Busy("Another request of this session is still running. Please try again.")
    try:
        current = await portal.sessions.load(session.id_digest)
        if current is None:
            raise SessionEnded("session ended meanwhile")
        yield current
    finally:
        await portal.sessions.release_refresh_lease(session.id_digest)


async def unscoped_pair(portal: Portal, session: PortalSession) -> UnscopedPair:
    """The admin's unscoped pair, fresh; call it under the session lease."""
    if session.tenant_id is None:
        tokens = session.tokens
        return UnscopedPair(tokens.access_token, tokens.refresh_token, session.access_expires_at)
    access = await portal.unscoped_access_token(session)
    stored = session
    if access != session.tokens.unscoped_access_token:
        # It was refreshed (and saved): the rotated refresh token is only in the store.
        stored = await portal.sessions.load(session.id_digest) or session
    tokens = stored.tokens
    if tokens.unscoped_refresh_token is None or tokens.unscoped_expires_at is None:
        raise SessionEnded("no unscoped token in this session")
    return UnscopedPair(access, tokens.unscoped_refresh_token, tokens.unscoped_expires_at)


async def list_institutions(portal: Portal, session: PortalSession) -> list[Institution]:
    """Exactly the FIs this admin may select (the identity server decides)."""
    async with session_lease(portal, session) as current:
        pair = await unscoped_pair(portal, current)
    try:
        listed: Sequence[object] = await portal.identity.list_tenants(pair.access_token)
    except IdentityRefused as exc:
        raise SessionEnded("the identity server no longer accepts this admin") from exc
    institutions = []
    for item in listed:
        # The answer is trusted for content but not for shape.
        if not isinstance(item, dict):
            continue
        ref, name = item.get("ref"), item.get("name")
        if isinstance(ref, str) and isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH:
            institutions.append(Institution(ref, name))
    return sorted(institutions, key=lambda fi: fi.name.casefold())


async def select_institution(portal: Portal, session: PortalSession, ref: str) -> PortalSession:
    """Exchange the unscoped token for one scoped to the FI behind `ref`; the session then
    acts on that FI only. The identity server checks the grant and revokes the session's
    previous FI-scoped tokens; we only trust what the verified new token says."""
    async with session_lease(portal, session) as current:
        pair = await unscoped_pair(portal, current)
        try:
            answer = await portal.identity.select_tenant(pair.access_token, ref)
        except IdentityRefused as exc:
            if exc.error == "invalid_target":
                raise NotPermitted("You have no access to that institution.") from exc
            raise SessionEnded("the identity server refused the admin token") from exc
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise IdentityUnavailable("the tenant selection answer has no token pair")
        try:
            token = await portal.verifier.verify(access)
        except GuardError as exc:
            raise IdentityUnavailable("the selected token could not be verified") from exc
        if token.tenant_ref is None or token.kind != "admin":
            raise IdentityUnavailable("the selected token is not an FI-scoped admin token")
        try:
            context = await portal.tenant_context(token.tenant_ref)
        except IdentityRefused as exc:
            raise IdentityUnavailable("the selected FI could not be resolved") from exc
        tokens = Tokens(
            access,
            refresh,
            unscoped_access_token=pair.access_token,
            unscoped_refresh_token=pair.refresh_token,
            unscoped_expires_at=pair.expires_at,
        )
        updated = replace(
            current.with_tokens(tokens, float(token.expires_at)),
            tenant_id=context.tenant_id,
            tenant_ref=token.tenant_ref,
            tenant_name=context.name,
            permissions=token.permissions,
        )
        await portal.sessions.save(updated)
    log.info("tenant_selected", session=current.public_id, tenant_id=context.tenant_id)
    return updated
