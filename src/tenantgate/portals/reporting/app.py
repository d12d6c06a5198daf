"""The Reporting Dashboard: FI employees sign in directly; admins arrive by SSO from the
admin portal. One reporting session per browser; every page names its FI."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ...bff.app import create_portal_app
from ...bff.portal import Portal
from .dashboard import dashboard_router
from .guards import install_reporting_error_handlers
from .replacement import ReplaceOnLogin
from .sso import HOME, sso_router


def create_reporting_app(portal: Portal, banking: AsyncEngine) -> FastAPI:
    app = create_portal_app(
        portal, Path(__file__).parent, [dashboard_router(banking), sso_router()], home=HOME
    )
    install_reporting_error_handlers(app)
    # Wraps the bff's shared login callback: a direct login replaces the previous session.
    app.add_middleware(ReplaceOnLogin, portal=portal)
    return app
