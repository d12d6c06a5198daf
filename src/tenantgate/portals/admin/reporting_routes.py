"""The hand-off to the Reporting Dashboard (DESIGN §3 "Reporting SSO", SECURITY "SSO token").

The BFF mints a one-time SSO token for the session's FI and hands it to the new tab in
an auto-submitted form: it travels in a POST body only, never in a URL, a log line, a
Referer or browser storage, and the hand-off page is never cached."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ...bff.identity_client import IdentityRefused, IdentityUnavailable
from ...bff.web import portal_of
from .refusals import NotPermitted, log
from .session_context import (
    REPORTING_VIEW,
    AdminSession,
    form_text,
    guard_named_institution,
    require_csrf,
    require_institution,
)
from .views import admin_page

REPORTING_AUDIENCE = "reporting-portal"
MAX_SSO_TOKEN = 8192


def looks_like_jwe(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_SSO_TOKEN and token.count(".") == 4


def reporting_routes(reporting_url: str) -> APIRouter:
    router = APIRouter()
    landing = f"{reporting_url.rstrip('/')}/sso/landing"

    @router.post("/reporting/launch")
    async def launch(request: Request, session: AdminSession) -> HTMLResponse:
        form = await request.form()
        require_csrf(request, session, form_text(form, "csrf_token"))
        require_institution(session)
        await guard_named_institution(request, session, form_text(form, "tenant_ref"))
        refused = (
            f"Your access to {session.tenant_name} does not include reporting. "
            "Ask a platform administrator for reporting access to this institution."
        )
        if REPORTING_VIEW not in session.permissions:
            raise NotPermitted(refused)
        try:
            # The identity server checks the grant again: it may have been removed since.
            answer = await portal_of(request).identity.mint_sso(
                session.tokens.access_token, REPORTING_AUDIENCE
            )
        except IdentityRefused as exc:
            raise NotPermitted(refused) from exc
        sso_token = answer.get("access_token")
        if not looks_like_jwe(sso_token):
            raise IdentityUnavailable("the SSO answer holds no compact JWE")
        log.info("reporting_launch", session=session.public_id, tenant_id=session.tenant_id)
        response = admin_page(
            request, "reporting_launch.html", session, landing=landing, sso_token=sso_token
        )
        response.headers["cache-control"] = "no-store"
        response.headers["pragma"] = "no-cache"
        response.headers["referrer-policy"] = "no-referrer"
        return response

    return router
