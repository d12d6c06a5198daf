"""Sessions (Hardening "session overview"): an admin with `sessions:manage` on the FI the
session acts on finds an account's live sessions and ends them.

The identity server owns sessions, so this page only relays: it calls the identity
server's `/admin/sessions` API *as the admin* (the session's FI-scoped bearer token), and
the identity server decides what is visible — only sessions acting on the token's FI,
never another FI's. The portal adds what every admin action has: the permission check
before anything is asked (403), and for the revoke button CSRF, then the context guard
(409 when this tab showed another FI), then the permission, then the call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...bff.identity_client import IdentityRefused, IdentityUnavailable
from ...bff.portal import Portal, SessionEnded
from ...bff.sessions import PortalSession
from ...bff.web import portal_of
from .refusals import AdminRefusal, BadInput, ContextChanged, NotFound, NotPermitted, log
from .refusals import wants_json_answer as wants_json
from .session_context import (
    SESSIONS_MANAGE,
    AdminSession,
    form_text,
    guard_named_institution,
    require_csrf,
    require_institution,
    require_permission,
)
from .views import admin_page

OVERVIEW_API = "/admin/sessions"
REVOKE_API = "/admin/sessions/revoke"
MAX_USERNAME = 150  # as the identity server
MAX_SID = 64
MAX_ROWS = 500
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class SessionRow:
    sid: str
    client_id: str
    portal: str
    started: str
    last_activity: str
    institution: str
    current: bool  # the session this admin is using right now


def when(epoch: object) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "—"
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%d %b %Y %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return "—"


def text_of(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def rows_from(answer: dict[str, object]) -> list[SessionRow]:
    """The identity server's answer is trusted for content but not for shape."""
    listed = answer.get("sessions")
    rows: list[SessionRow] = []
    for item in listed[:MAX_ROWS] if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        sid, client_id = text_of(item.get("sid")), text_of(item.get("client_id"))
        tenant = item.get("tenant")
        institution = text_of(tenant.get("name")) if isinstance(tenant, dict) else None
        if sid is None or client_id is None or institution is None or len(sid) > MAX_SID:
            continue
        rows.append(
            SessionRow(
                sid=sid,
                client_id=client_id,
                portal=text_of(item.get("client_name")) or client_id,
                started=when(item.get("started_at")),
                last_activity=when(item.get("last_activity_at")),
                institution=institution,
                current=item.get("current") is True,
            )
        )
    return rows


def username_from(raw: str | None) -> str:
    username = (raw or "")[: MAX_USERNAME + 1].strip()
    if len(username) > MAX_USERNAME or "\x00" in username:
        raise BadInput(f"Usernames are at most {MAX_USERNAME} characters.")
    return username


def sessions_url(username: str, **flags: str) -> str:
    """A link back to the page; built here from plain values, so never an open redirect."""
    query = {key: value for key, value in (("username", username), *flags.items()) if value}
    return "/sessions?" + urlencode(query) if query else "/sessions"


async def refusal_for(
    portal: Portal, session: PortalSession, exc: IdentityRefused
) -> AdminRefusal | SessionEnded | IdentityUnavailable:
    """What to answer when the identity server refused a session-overview call."""
    where = session.tenant_name or "this institution"
    if exc.status == 404:
        return NotFound(f"There is no such live session at {where}. Reload the list.")
    if exc.status == 403:
        return NotPermitted(f"Your access to {where} does not allow you to see or end sessions.")
    if exc.status == 401:
        # The admin's token is no longer accepted: another tab switched FI since this
        # request loaded the session, or this very session was ended (perhaps from here).
        stored = await portal.sessions.load(session.id_digest)
        if stored is not None and stored.tenant_id != session.tenant_id:
            return ContextChanged(
                f"You switched to {stored.tenant_name or 'another institution'} in another "
                "tab. Reload the page before you act."
            )
        await portal.end_session(session, "identity session ended")
        return SessionEnded("the identity server no longer accepts this session")
    return IdentityUnavailable(f"the session overview answered {exc.status} {exc.error}")


def session_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/sessions")
    async def sessions_page(request: Request, session: AdminSession) -> HTMLResponse:
        require_institution(session)
        require_permission(session, SESSIONS_MANAGE, "see or end sessions")
        username = username_from(request.query_params.get("username"))
        rows = None
        if username:
            portal = portal_of(request)
            try:
                answer = await portal.identity.get_as_user(
                    session.tokens.access_token, OVERVIEW_API, {"username": username}
                )
            except IdentityRefused as exc:
                raise await refusal_for(portal, session, exc) from exc
            rows = rows_from(answer)
        return admin_page(
            request,
            "sessions.html",
            session,
            username=username,
            rows=rows,
            revoked=request.query_params.get("revoked") == "1",
        )

    @router.post("/sessions/revoke")
    async def revoke(request: Request, session: AdminSession) -> Response:
        form = await request.form()
        require_csrf(request, session, form_text(form, "csrf_token"))
        require_institution(session)
        await guard_named_institution(request, session, form_text(form, "tenant_ref"))
        require_permission(session, SESSIONS_MANAGE, "end sessions")
        sid = form_text(form, "sid", MAX_SID + 1)
        if not sid or len(sid) > MAX_SID:
            raise BadInput("Choose a session from the list.")
        username = username_from(form_text(form, "username", MAX_USERNAME + 1))
        portal = portal_of(request)
        try:
            await portal.identity.post_as_user(
                session.tokens.access_token, REVOKE_API, {"sid": sid}
            )
        except IdentityRefused as exc:
            raise await refusal_for(portal, session, exc) from exc
        log.info("session_revoked", session=session.public_id, tenant_id=session.tenant_id)
        if wants_json(request):
            return JSONResponse({"revoked": sid})
        return RedirectResponse(sessions_url(username, revoked="1"), status_code=303)

    return router
