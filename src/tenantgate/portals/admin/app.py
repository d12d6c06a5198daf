"""The Admin & Operations portal: platform admins act on one FI at a time."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ...bff.app import create_portal_app
from ...bff.portal import Portal
from .customer_routes import customer_routes
from .institution_routes import institution_routes
from .refusals import install_refusal_handler
from .reporting_routes import reporting_routes
from .session_routes import session_routes


def create_admin_app(portal: Portal, banking: AsyncEngine, *, reporting_url: str) -> FastAPI:
    app = create_portal_app(
        portal,
        Path(__file__).parent,
        [
            institution_routes(),
            customer_routes(banking),
            reporting_routes(reporting_url),
            session_routes(),
        ],
        home="/",
        # The SSO hand-off page posts its form to the reporting origin (CSP form-action).
        form_targets=(reporting_url,),
    )
    install_refusal_handler(app)
    return app
