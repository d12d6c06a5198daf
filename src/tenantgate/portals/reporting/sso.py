"""The SSO landing: where the admin portal's new tab delivers a one-time SSO token.

It is a cross-origin form POST by design (DESIGN §3 step 2): the one-time token is the
credential, so there is no CSRF token to check. What we guard instead:
- the token travels only in this POST body: never in a URL, a log line or a Referer
  (`Referrer-Policy: no-referrer`, `Cache-Control: no-store` on the answer);
- every refusal (replayed, expired, tampered, garbage, too long) is the same readable 400
  page — the identity server's reason is not echoed, so failures look alike;
- a failed landing changes nothing: the browser's current session (if any) is only
  replaced once the new one exists.

Residual risk, documented: anyone holding a valid SSO token (only an admin with
`reporting:view`, for 2 minutes) could post it from another site and sign a victim's
browser into that admin's reporting view (login CSRF). An allow-list of SSO origins
(the admin portal's) would close it once the factory is handed that origin."""

from __future__ import annotations

import re

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...bff.identity_client import IdentityRefused
from ...bff.portal import LoginRejected
from ...bff.web import page, portal_of, set_session_cookie
from .replacement import end_previous_session

log = structlog.get_logger("tenantgate.reporting")
SSO_FIELD = "sso_token"
HOME = "/dashboard"
# A compact JWE of this platform is well under 2 KB; 8 KB leaves room for key growth.
MAX_SSO_TOKEN = 8192
_COMPACT_JWE = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){4}", re.ASCII)

REFUSED_TITLE = "This reporting link is no longer valid"
REFUSED_TEXT = (
    "Reporting links work once and only for a couple of minutes. "
    "Go back to the admin portal and open Reporting again."
)


def _landing_headers(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, reason: str) -> Response:
    # The reason is a fixed word chosen here, never the token or the identity server's text.
    log.info("sso_landing_refused", reason=reason)
    context = {"title": REFUSED_TITLE, "message": REFUSED_TEXT, "session": None}
    return _landing_headers(page(request, "sso_refused.html", context, 400))


def well_formed(token: object) -> str | None:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_SSO_TOKEN:
        return None
    return token if _COMPACT_JWE.fullmatch(token) else None


def sso_router() -> APIRouter:
    router = APIRouter()

    @router.post("/sso/landing", include_in_schema=False)
    async def landing(request: Request) -> Response:
        portal = portal_of(request)
        form = await request.form(max_files=0, max_fields=8)
        token = well_formed(form.get(SSO_FIELD))
        if token is None:
            return _refused(request, "malformed")
        try:
            answer = await portal.identity.redeem_sso(token)
            cookie = await portal.start_session(answer)
        except IdentityRefused:
            return _refused(request, "identity_refused")
        except (LoginRejected, KeyError, TypeError):
            return _refused(request, "unverifiable_answer")
        # The new session exists; only now does it replace the browser's previous one.
        await end_previous_session(
            portal, request.cookies.get(portal.config.session_cookie), "replaced"
        )
        log.info("sso_landing_completed")
        # A same-origin page carries the browser on (as the bff's login callback does):
        # the next navigation starts on this origin and sends the SameSite=Strict cookie.
        response = page(request, "continue.html", {"target": HOME})
        set_session_cookie(response, portal, cookie)
        return _landing_headers(response)

    return router
