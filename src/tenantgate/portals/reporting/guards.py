"""Who may see reporting, and which session a page or API call belongs to.

Order of checks, and why: no live session → 401 (bff); a session without
`reporting:view` on an FI → 403; an API call naming another session than the
browser's current one → 409. The 409 is what keeps an older tab from ever reading
a newer session's FI under its own banner (DESIGN §3, one reporting session per browser)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ...bff.sessions import PortalSession
from ...bff.web import page, require_session, wants_json
from .periods import BadPeriod

REPORTING_VIEW = "reporting:view"
SESSION_HEADER = "x-reporting-session"
SESSION_QUERY = "session"
# Public ids are `secrets.token_urlsafe(12)` (16 characters); anything far longer is not one.
_MAX_SESSION_ID = 64


class NoReportingAccess(Exception):
    """The session holds no `reporting:view` on an FI (403)."""

    def __init__(self, session: PortalSession) -> None:
        super().__init__("reporting:view missing")
        self.session = session


class SessionMismatch(Exception):
    """The call names a session other than the browser's current one (409)."""


def has_reporting_access(session: PortalSession) -> bool:
    return (
        REPORTING_VIEW in session.permissions
        and session.tenant_id is not None
        and session.tenant_name is not None
    )


async def reporting_session(
    session: Annotated[PortalSession, Depends(require_session)],
) -> PortalSession:
    """Pages: a live session that may view reporting for its FI."""
    if not has_reporting_access(session):
        raise NoReportingAccess(session)
    return session


def names_current_session(request: Request, session: PortalSession) -> bool:
    """The header (or, for plain download links, the `session` query parameter) names
    the session the page was loaded for; it must be the browser's current one."""
    named = request.headers.get(SESSION_HEADER)
    if named is None:
        named = request.query_params.get(SESSION_QUERY)
    if not named or len(named) > _MAX_SESSION_ID:
        return False
    return hmac.compare_digest(named.encode(), session.public_id.encode())


async def api_session(
    request: Request, session: Annotated[PortalSession, Depends(reporting_session)]
) -> PortalSession:
    """API calls: as for pages, plus the page's session named in `X-Reporting-Session`."""
    if not names_current_session(request, session):
        raise SessionMismatch
    return session


ReportingSession = Annotated[PortalSession, Depends(reporting_session)]
ApiSession = Annotated[PortalSession, Depends(api_session)]


def error_json(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def install_reporting_error_handlers(app: FastAPI) -> None:
    async def on_no_access(request: Request, exc: Exception) -> Response:
        text = "Your account does not have reporting access for this institution."
        if wants_json(request):
            return error_json(403, "forbidden", text)
        session = exc.session if isinstance(exc, NoReportingAccess) else None
        context = {"title": "No reporting access", "message": text, "session": session}
        return page(request, "notice.html", context, 403)

    async def on_mismatch(request: Request, exc: Exception) -> Response:
        return error_json(
            409,
            "session_replaced",
            "This page belongs to a reporting session that is no longer this browser's. "
            "Reload to see the current one.",
        )

    async def on_bad_period(request: Request, exc: Exception) -> Response:
        return error_json(400, "invalid_period", str(exc))

    app.add_exception_handler(NoReportingAccess, on_no_access)
    app.add_exception_handler(SessionMismatch, on_mismatch)
    app.add_exception_handler(BadPeriod, on_bad_period)
