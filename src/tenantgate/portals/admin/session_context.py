"""What every admin request establishes before it acts: the session, the FI it acts
on, the admin's permissions there, the CSRF token and the context guard.

The FI always comes from the session (which holds what the verified token said),
never from the request. A request may only *name* the FI its page showed, and that
name is checked against the session, never used instead of it (SECURITY "Tokens")."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from ...banking import TenantScope
from ...bff.identity_client import IdentityRefused
from ...bff.sessions import PortalSession
from ...bff.web import Forbidden, check_csrf, portal_of, require_session
from .refusals import BadInput, ContextChanged, NoInstitution, NotPermitted, log

CUSTOMERS_READ = "customers:read"
CUSTOMERS_LOCK = "customers:lock"
REPORTING_VIEW = "reporting:view"
SESSIONS_MANAGE = "sessions:manage"
MAX_REF_LENGTH = 100  # refs are ~30 characters; anything longer is junk, not worth a lookup


async def admin_session(request: Request) -> PortalSession:
    session = await require_session(request)
    # Kept for the refusal handler: error pages still show the FI badge.
    request.state.admin_session = session
    return session


AdminSession = Annotated[PortalSession, Depends(admin_session)]


def form_text(form: FormData, name: str, limit: int = 512) -> str | None:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else None


def require_institution(session: PortalSession) -> TenantScope:
    """The banking scope of the session's FI; refuses before any FI was chosen."""
    if session.tenant_id is None:
        raise NoInstitution("Choose a financial institution before you act on one.")
    return TenantScope(session.tenant_id)


def require_permission(session: PortalSession, permission: str, doing: str) -> None:
    if permission not in session.permissions:
        where = session.tenant_name or "this institution"
        raise NotPermitted(f"Your access to {where} does not allow you to {doing}.")


def require_csrf(request: Request, session: PortalSession, form_token: str | None) -> None:
    try:
        check_csrf(request, session, form_token)
    except Forbidden as exc:
        log.info("csrf_refused", path=request.url.path, detail=str(exc))
        raise NotPermitted("This request is not allowed. Reload the page and try again.") from exc


async def guard_named_institution(
    request: Request, session: PortalSession, form_ref: str | None
) -> None:
    """DESIGN §3 "Admin context guard": refuse (409) when the page that sent this request
    showed another FI than the one the session acts on now (switched in another tab).

    Both sides are compared as internal ids, so a page holding a ref that rotated since
    it was rendered (stale, still in its grace window) is still recognised as its FI."""
    named = request.headers.get("x-tenant-ref") or form_ref
    if not named or len(named) > MAX_REF_LENGTH:
        raise BadInput("This request does not say which institution it is for. Reload the page.")
    try:
        shown = await portal_of(request).tenant_context(named)
    except IdentityRefused as exc:
        raise ContextChanged(
            "This tab shows an institution that is no longer current. Reload the page."
        ) from exc
    if shown.tenant_id != session.tenant_id:
        current = session.tenant_name or "no institution"
        raise ContextChanged(
            f"You switched to {current} in another tab; this tab showed {shown.name}. "
            "Reload the page before you act."
        )
