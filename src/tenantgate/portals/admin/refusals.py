"""Refusals the admin portal answers on purpose, rendered once at the boundary.

A refusal carries a stable wire code (for `fetch` callers) and a message that is safe
to show as it is. Pages render with the admin's session, so the FI badge stays on
screen even on an error page: an admin must always see which FI a refusal is about."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ...bff.web import page, wants_json

log = structlog.get_logger("tenantgate.admin")


class AdminRefusal(Exception):
    """A 4xx the portal means to give; ``message`` is shown to the admin verbatim."""

    status = 400
    error = "invalid_request"
    title = "Request refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(AdminRefusal):
    pass


class NotPermitted(AdminRefusal):
    status = 403
    error = "forbidden"
    title = "Not allowed"


class NotFound(AdminRefusal):
    status = 404
    error = "not_found"
    title = "Not found"


class ContextChanged(AdminRefusal):
    """DESIGN §3 "Admin context guard": the tab names an FI the session no longer acts on."""

    status = 409
    error = "tenant_changed"
    title = "This tab is out of date"


class NoInstitution(AdminRefusal):
    """An FI-bound page or action before any FI was selected."""

    status = 409
    error = "no_tenant_selected"
    title = "Choose an institution first"


def wants_json_answer(request: Request) -> bool:
    # Script callers ask for JSON (or send it); a plain form post gets a page.
    sends_json = request.headers.get("content-type", "").startswith("application/json")
    return wants_json(request) or sends_json


def install_refusal_handler(app: FastAPI) -> None:
    async def on_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AdminRefusal)
        log.info("admin_refusal", path=request.url.path, error=exc.error, status=exc.status)
        if wants_json_answer(request):
            body = {"error": exc.error, "error_description": exc.message}
            return JSONResponse(body, status_code=exc.status)
        session = getattr(request.state, "admin_session", None)
        context = {"session": session, "title": exc.title, "message": exc.message, "error": exc}
        return page(request, "refusal.html", context, exc.status)

    app.add_exception_handler(AdminRefusal, on_refusal)
