"""An FI's customers: the FI home (list, search, paging), one customer, lock and unlock.

Every query is scoped by the session's FI (`require_institution`), so a customer id of
another FI behaves exactly like one that does not exist: 404, on every route."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import FormData

from ...banking import Customer, InvalidRequest, get_customer, list_customers
from ...banking import lock_customer as lock_in_bank
from ...banking import unlock_customer as unlock_in_bank
from ...bff.sessions import PortalSession
from .institution_routes import institution_list_page
from .refusals import BadInput, NotFound, log, wants_json_answer
from .session_context import (
    CUSTOMERS_LOCK,
    CUSTOMERS_READ,
    AdminSession,
    form_text,
    guard_named_institution,
    require_csrf,
    require_institution,
    require_permission,
)
from .views import admin_page

PAGE_SIZE = 25
MAX_PAGE = 10_000
MAX_SEARCH = 100
NO_SUCH_CUSTOMER = "There is no such customer at this institution."


def page_number(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    if len(raw) > 5 or not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadInput(f"Pages are numbered 1 to {MAX_PAGE}.")
    return int(raw)


def list_url(search: str, number: int) -> str:
    """A link back into the list; built here from plain values, so never an open redirect."""
    query = {key: value for key, value in (("q", search), ("page", str(number))) if value}
    return "/?" + urlencode(query) if query else "/"


def customer_json(customer: Customer) -> dict[str, str]:
    return {"public_id": customer.public_id, "name": customer.full_name, "status": customer.status}


def customer_routes(banking: AsyncEngine) -> APIRouter:
    router = APIRouter()

    @router.get("/")
    async def home(request: Request, session: AdminSession) -> HTMLResponse:
        announce = request.query_params.get("switched") == "1"
        if session.tenant_id is None:
            return await institution_list_page(request, session, announce=announce)
        scope = require_institution(session)
        search = request.query_params.get("q", "")[: MAX_SEARCH + 1].strip()
        number = page_number(request.query_params.get("page"))
        if CUSTOMERS_READ not in session.permissions:
            return admin_page(request, "customers.html", session, announce=announce, listing=None)
        try:
            listing = await list_customers(
                banking,
                scope,
                search=search or None,
                limit=PAGE_SIZE,
                offset=(number - 1) * PAGE_SIZE,
            )
        except InvalidRequest as exc:
            raise BadInput(exc.message) from exc
        return admin_page(
            request,
            "customers.html",
            session,
            announce=announce,
            listing=listing,
            search=search,
            number=number,
            previous_url=list_url(search, number - 1) if number > 1 else None,
            next_url=list_url(search, number + 1) if listing.has_more else None,
        )

    @router.get("/customers/{public_id}")
    async def customer(request: Request, public_id: str, session: AdminSession) -> HTMLResponse:
        scope = require_institution(session)
        require_permission(session, CUSTOMERS_READ, "see its customers")
        found = await get_customer(banking, scope, public_id[:64])
        if found is None:
            raise NotFound(NO_SUCH_CUSTOMER)
        return admin_page(request, "customer.html", session, customer=found)

    @router.post("/customers/{public_id}/lock")
    async def lock(request: Request, public_id: str, session: AdminSession) -> Response:
        return await change_status(request, session, public_id, locked=True)

    @router.post("/customers/{public_id}/unlock")
    async def unlock(request: Request, public_id: str, session: AdminSession) -> Response:
        return await change_status(request, session, public_id, locked=False)

    async def change_status(
        request: Request, session: PortalSession, public_id: str, *, locked: bool
    ) -> Response:
        # Order matters: CSRF, then "is this the FI the page showed?", then the grant, and
        # only then the lookup, so a refused request never learns whether the id exists.
        form = await request.form()
        require_csrf(request, session, form_text(form, "csrf_token"))
        scope = require_institution(session)
        await guard_named_institution(request, session, form_text(form, "tenant_ref"))
        require_permission(session, CUSTOMERS_LOCK, "lock or unlock customers")
        change = lock_in_bank if locked else unlock_in_bank
        changed = await change(banking, scope, public_id[:64])
        if changed is None:
            raise NotFound(NO_SUCH_CUSTOMER)
        log.info(
            "customer_locked" if locked else "customer_unlocked",
            session=session.public_id,
            tenant_id=session.tenant_id,
            customer=changed.public_id,
        )
        if wants_json_answer(request):
            return JSONResponse({"customer": customer_json(changed)})
        return RedirectResponse(back_to(form, changed), status_code=303)

    return router


def back_to(form: FormData, customer: Customer) -> str:
    if form_text(form, "return_to") == "detail":
        return f"/customers/{customer.public_id}"
    search = (form_text(form, "q", MAX_SEARCH) or "").strip()
    try:
        number = page_number(form_text(form, "page", 8))
    except BadInput:
        number = 1
    return list_url(search, number)
