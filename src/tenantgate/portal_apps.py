"""Composition root for one deployed portal (`tenantgate serve portal NAME`)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from .banking import create_banking_engine
from .bff.app import build_portal
from .identity.storage.engine import create_engine_for
from .portal_settings import load_portal_deployment
from .portals.admin.app import create_admin_app
from .portals.customer.app import create_customer_app
from .portals.reporting.app import create_reporting_app
from .settings import InsecureSettingsError


def build_deployed_portal_app(name: str, env: dict[str, str] | None = None) -> FastAPI:
    deployment = load_portal_deployment(name, env)
    http = httpx.AsyncClient(timeout=10.0)
    portal = build_portal(deployment.config, create_engine_for(deployment.sessions_url), http)
    banking = create_banking_engine(deployment.banking_url)
    if name == "admin":
        if deployment.reporting_url is None:
            raise InsecureSettingsError("TENANTGATE_ADMIN_REPORTING_URL is required")
        app = create_admin_app(portal, banking, reporting_url=deployment.reporting_url)
    elif name == "reporting":
        app = create_reporting_app(portal, banking)
    else:
        app = create_customer_app(portal, banking)
    app.state.owned_resources = [banking, portal.sessions.engine, http]
    return app
