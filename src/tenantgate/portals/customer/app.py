"""The customer portal: an FI's customers see their accounts and move money between them.

A thin app on the shared backend-for-frontend (login, sessions, CSRF, headers): the pages
and JSON API here only read and write the banking data of the session's own customer."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.bff.app import create_portal_app
from tenantgate.bff.portal import Portal

from .access import CustomerRefusal, on_refusal
from .api import api_router
from .pages import pages_router


def create_customer_app(portal: Portal, banking: AsyncEngine) -> FastAPI:
    app = create_portal_app(
        portal, Path(__file__).parent, [pages_router(banking), api_router(banking)], home="/"
    )
    app.add_exception_handler(CustomerRefusal, on_refusal)
    return app
