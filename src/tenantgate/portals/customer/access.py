"""Who the request acts for: the session's FI and the banking customer linked to its login.

The tenant comes from the verified session only (``session.tenant_id``, resolved from the
access token's ref at login); nothing in a request can name another FI or customer. A
customer who is not ours reads exactly like one that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import Customer, TenantScope, find_customer_by_subject
from tenantgate.bff.sessions import PortalSession
from tenantgate.bff.web import page, wants_json

ACCOUNTS_READ = "accounts:read"
TRANSFERS_CREATE = "transfers:create"


class CustomerRefusal(Exception):
    """A request this portal refuses on purpose, with a message safe to show."""

    def __init__(
        self, status: int, error: str, title: str, message: str, session: PortalSession | None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.title, self.message = status, error, title, message
        self.session = session


@dataclass(frozen=True, slots=True)
class CustomerContext:
    session: PortalSession
    scope: TenantScope
    customer: Customer

    @property
    def may_transfer(self) -> bool:
        return TRANSFERS_CREATE in self.session.permissions


def require_permission(session: PortalSession, permission: str) -> None:
    if permission not in session.permissions:
        raise CustomerRefusal(
            403,
            "insufficient_scope",
            "Not allowed",
            "Your sign-in does not allow this. Contact your bank if you think it should.",
            session,
        )


async def customer_context(
    banking: AsyncEngine, session: PortalSession, permission: str
) -> CustomerContext:
    """The session's customer, once the session holds ``permission``; else a 403 refusal."""
    require_permission(session, permission)
    scope = TenantScope(session.tenant_id) if session.tenant_id is not None else None
    customer = await find_customer_by_subject(banking, scope, session.subject) if scope else None
    if scope is None or customer is None:
        raise CustomerRefusal(
            403,
            "no_banking_profile",
            "No banking profile",
            "Your sign-in is not linked to a banking profile at this bank yet. "
            "Please contact your bank to have your accounts linked.",
            session,
        )
    return CustomerContext(session, scope, customer)


async def on_refusal(request: Request, exc: Exception) -> Response:
    """Exception handler: JSON for API calls, a readable page (with the session) otherwise."""
    assert isinstance(exc, CustomerRefusal)
    if wants_json(request):
        return JSONResponse(
            {"error": exc.error, "error_description": exc.message}, status_code=exc.status
        )
    response: HTMLResponse = page(
        request,
        "refusal.html",
        {"title": exc.title, "message": exc.message, "session": exc.session},
        exc.status,
    )
    return response
