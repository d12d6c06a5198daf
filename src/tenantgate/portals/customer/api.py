"""The portal's JSON API for its own pages (session cookie; tenant from the session only).

- ``GET /api/accounts``: the customer's accounts, recent statement lines and totals.
- ``GET /api/accounts/{id}``: one of the customer's accounts with its own lines (else 404).
- ``POST /api/transfers`` ``{"from", "to", "amount"}``: CSRF header; amount as typed (a string).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import list_accounts_of_customer, recent_transactions
from tenantgate.bff.sessions import PortalSession
from tenantgate.bff.web import check_csrf, require_session

from .access import ACCOUNTS_READ, customer_context
from .formatting import account_view, transaction_view
from .pages import RECENT_LINES, load_overview
from .transfers import make_transfer

# A transfer request is three short strings; anything far bigger is not one.
_MAX_TRANSFER_BODY = 2048
_FIELDS = ("from", "to", "amount")
Session = Annotated[PortalSession, Depends(require_session)]


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _not_found() -> JSONResponse:
    return _error(404, "not_found", "That account was not found.")


def _transfer_fields(raw: bytes) -> dict[str, str] | None:
    """The three fields as strings, or None when the body is not exactly such an object."""
    if len(raw) > _MAX_TRANSFER_BODY:
        return None
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    # Strings only: a JSON number such as 1e3 or 12.345 must never become an amount.
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in _FIELDS):
        return None
    return {k: body[k] for k in _FIELDS}


def api_router(banking: AsyncEngine) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/accounts")
    async def accounts(session: Session) -> JSONResponse:
        ctx = await customer_context(banking, session, ACCOUNTS_READ)
        return JSONResponse(
            {
                "tenant": {"name": session.tenant_name},
                "customer": {"name": ctx.customer.full_name, "status": ctx.customer.status},
                **await load_overview(banking, ctx),
            }
        )

    @router.get("/accounts/{account_id}")
    async def account(account_id: str, session: Session) -> JSONResponse:
        ctx = await customer_context(banking, session, ACCOUNTS_READ)
        owned = await list_accounts_of_customer(banking, ctx.scope, ctx.customer.public_id)
        found = next((a for a in owned if a.public_id == account_id), None)
        if found is None:
            return _not_found()
        lines = await recent_transactions(
            banking,
            ctx.scope,
            ctx.customer.public_id,
            limit=RECENT_LINES,
            account_public_id=found.public_id,
        )
        by_id = {found.public_id: found}
        return JSONResponse(
            {
                "account": account_view(found),
                "transactions": [transaction_view(line, by_id) for line in lines],
            }
        )

    @router.post("/transfers")
    async def transfer(request: Request, session: Session) -> JSONResponse:
        check_csrf(request, session)
        ctx = await customer_context(banking, session, ACCOUNTS_READ)
        if "application/json" not in request.headers.get("content-type", ""):
            return _error(415, "invalid_request", "Send the transfer as JSON.")
        fields = _transfer_fields(await request.body())
        if fields is None:
            return _error(
                400,
                "invalid_request",
                'Send {"from": ..., "to": ..., "amount": ...} with text values.',
            )
        outcome = await make_transfer(banking, ctx, fields["from"], fields["to"], fields["amount"])
        if not outcome.ok or outcome.receipt is None:
            return _error(outcome.status, outcome.error or "transfer_refused", outcome.message)
        receipt = outcome.receipt
        answer: dict[str, Any] = {
            "message": outcome.message,
            "transfer": {
                "from": receipt.from_account,
                "to": receipt.to_account,
                "amount_minor": receipt.amount_minor,
                "currency": receipt.currency,
                "booked_at": receipt.booked_at.isoformat(),
            },
            **await load_overview(banking, ctx),
        }
        return JSONResponse(answer)

    return router
