"""The customer's home page and the plain-HTML transfer form behind it.

The page works without JavaScript: the transfer form posts here (CSRF token in the form)
and the answer is the same page with the outcome shown. With JavaScript, customer.js
sends the same form to the JSON API instead and redraws the page in place."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import list_accounts_of_customer, recent_transactions
from tenantgate.bff.portal import SessionEnded
from tenantgate.bff.web import check_csrf, page, require_session

from .access import ACCOUNTS_READ, CustomerContext, customer_context
from .formatting import overview
from .transfers import TransferOutcome, make_transfer

RECENT_LINES = 20
_FIELD_LIMIT = 100  # longer form values are cut: the banking checks refuse them anyway


async def load_overview(banking: AsyncEngine, ctx: CustomerContext) -> dict[str, Any]:
    customer = ctx.customer.public_id
    accounts = await list_accounts_of_customer(banking, ctx.scope, customer)
    lines = await recent_transactions(banking, ctx.scope, customer, limit=RECENT_LINES)
    return overview(accounts, lines)


async def render_home(
    request: Request,
    banking: AsyncEngine,
    ctx: CustomerContext,
    outcome: TransferOutcome | None = None,
    entered: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {
        "session": ctx.session,
        "customer": ctx.customer,
        "may_transfer": ctx.may_transfer,
        "outcome": outcome,
        # After a refusal the form keeps what was typed; after a success it starts empty.
        "entered": entered if outcome is not None and not outcome.ok else {},
        **await load_overview(banking, ctx),
    }
    return page(request, "home.html", context, outcome.status if outcome else 200)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value[:_FIELD_LIMIT] if isinstance(value, str) else ""


def pages_router(banking: AsyncEngine) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        try:
            session = await require_session(request)
        except SessionEnded:
            # Anyone arriving without a live session is simply asked to sign in.
            return RedirectResponse("/auth/login", status_code=302)
        ctx = await customer_context(banking, session, ACCOUNTS_READ)
        return await render_home(request, banking, ctx)

    @router.post("/transfers", response_class=HTMLResponse)
    async def transfer_form(request: Request) -> Response:
        session = await require_session(request)
        form = await request.form()
        check_csrf(request, session, _field(form, "csrf_token") or None)
        ctx = await customer_context(banking, session, ACCOUNTS_READ)
        entered = {name: _field(form, name) for name in ("from", "to", "amount")}
        outcome = await make_transfer(
            banking, ctx, entered["from"], entered["to"], entered["amount"]
        )
        return await render_home(request, banking, ctx, outcome, entered)

    return router
