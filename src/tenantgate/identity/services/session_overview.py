"""The operators' session overview over HTTP (`/admin/sessions`): an admin acting on one
FI lists an account's live sessions and ends them — only ever sessions acting on that FI.

Who may ask: the bearer of a live, tenant-scoped admin access token for the admin API
(`bearer.accept_access_token`: signature, audience, session active, the session still acts
on the token's FI) whose permissions include `sessions:manage` both in the token and in
the admin's grant right now, so a removed grant stops this at once, not when the token ends.

What it sees: the FI comes from the verified token only (SECURITY "Tokens"). A session is
visible when it *acts on* that FI (`ports.SessionOverviewStore`): employees' and customers'
sessions of the FI, and admin sessions whose current FI it is (an admin acts on one FI at a
time). An unknown username, an account of another FI and an admin session on another FI all
look the same: no sessions, or 404 for a `sid`. Revocation is one conditional UPDATE
that re-checks the FI, so a session that switched FI meanwhile is never ended from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.accounts import AccountKind
from ..domain.errors import InsufficientScope, InvalidRequest, InvalidToken
from ..domain.permissions import SESSIONS_MANAGE
from . import audit_events
from .bearer import AcceptedToken, TokenNotAccepted, accept_access_token
from .context import Caller, Deps

MAX_BEARER_TOKEN = 8192
MAX_USERNAME = 150
MAX_SESSION_ID = 64
NO_ACCOUNT = 0  # never an account id: unknown usernames cost the same query as known ones


@dataclass(frozen=True, slots=True)
class Operator:
    """An admin allowed to manage the sessions acting on ``tenant_id``."""

    token: AcceptedToken
    tenant_id: int


async def authorize_operator(
    deps: Deps, bearer_token: str | None, audiences: tuple[str, ...]
) -> Operator:
    if bearer_token is None:
        raise InvalidToken("no bearer token")
    if len(bearer_token) > MAX_BEARER_TOKEN:
        raise InvalidRequest("token too large")
    try:
        accepted = await accept_access_token(deps, bearer_token, audiences=audiences)
    except TokenNotAccepted as exc:
        raise InvalidToken(str(exc)) from exc
    if accepted.account.kind is not AccountKind.ADMIN:
        raise InsufficientScope("only admins manage sessions")
    if accepted.tenant_id is None:
        raise InsufficientScope("an unscoped admin token names no FI")
    if SESSIONS_MANAGE not in accepted.claims.permissions:
        raise InsufficientScope("the token does not carry sessions:manage")
    granted = accepted.tenant_grant  # read live with the token's session
    if granted is None or SESSIONS_MANAGE not in granted:
        raise InsufficientScope("the admin's grant no longer includes sessions:manage")
    return Operator(accepted, accepted.tenant_id)


async def list_live_sessions(deps: Deps, operator: Operator, username: str) -> dict[str, Any]:
    if not username or len(username) > MAX_USERNAME:
        raise InvalidRequest("username is required (at most 150 characters)")
    account = await deps.store.account_by_username(username)
    live = await deps.store.live_sessions_acting_on(
        account.id if account is not None else NO_ACCOUNT, operator.tenant_id, deps.now()
    )
    tenant = await deps.store.tenant_by_id(operator.tenant_id)
    own_sid = operator.token.session.id
    return {
        "tenant": {
            "ref": await deps.current_ref(operator.tenant_id),
            "name": tenant.name if tenant is not None else "",
        },
        "username": username,
        "sessions": [
            {
                "sid": s.id,
                "client_id": s.client_id,
                "client_name": s.client_name,
                "tenant": {"name": s.tenant_name},
                "started_at": s.started_at,
                "last_activity_at": s.last_activity_at,
                "current": s.id == own_sid,
            }
            for s in live
        ],
    }


async def revoke_live_session(deps: Deps, operator: Operator, sid: str, caller: Caller) -> bool:
    """End one session acting on the operator's FI; False when there is no such live
    session here (unknown, ended, or acting on another FI: one answer for all)."""
    if not sid:
        raise InvalidRequest("sid is required")
    claims, admin = operator.token.claims, operator.token.account
    ended = None
    if len(sid) <= MAX_SESSION_ID:
        ended = await deps.store.revoke_session_acting_on(sid, operator.tenant_id, deps.now())
    if ended is None:
        await deps.audit(
            audit_events.SESSION_REVOKE_REFUSED,
            caller,
            account_id=admin.id,
            client_id=claims.client_id,
            tenant_id=operator.tenant_id,
            session_id=operator.token.session.id,
            reason="no live session acting on this FI",
            requested_sid=sid[:MAX_SESSION_ID],
        )
        return False
    await deps.audit(
        audit_events.SESSION_REVOKED,
        caller,
        account_id=ended.account_id,
        client_id=claims.client_id,
        tenant_id=operator.tenant_id,
        session_id=ended.id,
        by=admin.username,
        by_account_id=admin.id,
        by_session_id=operator.token.session.id,
        session_client_id=ended.client_id,
    )
    return True
