"""Rendering admin pages: every page gets the session (FI badge, CSRF token, the FI
ref the page embeds for the context guard) and what the admin may do there."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from ...bff.sessions import PortalSession
from ...bff.web import page
from .session_context import CUSTOMERS_LOCK, CUSTOMERS_READ, REPORTING_VIEW, SESSIONS_MANAGE


def admin_page(
    request: Request, name: str, session: PortalSession, status: int = 200, **values: Any
) -> HTMLResponse:
    context = {
        "session": session,
        "can_read": CUSTOMERS_READ in session.permissions,
        "can_lock": CUSTOMERS_LOCK in session.permissions,
        "can_report": REPORTING_VIEW in session.permissions,
        "can_manage_sessions": SESSIONS_MANAGE in session.permissions,
        **values,
    }
    return page(request, name, context, status)
