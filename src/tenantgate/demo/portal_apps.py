"""Wiring the three portals for the demo: configs from the seeded clients, a session
store per portal, the shared banking database (the caller's, which it disposes)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ..bff.app import build_portal
from ..identity.storage.engine import create_engine_for
from ..portals.admin.app import create_admin_app
from ..portals.customer.app import create_customer_app
from ..portals.reporting.app import create_reporting_app
from .portal_configs import PORTALS, portal_config, sessions_url


def build_portal_apps(
    clients: dict[str, dict[str, str]],
    *,
    port_base: int,
    data_dir: Path,
    database_url: str | None,
    banking: AsyncEngine,
    http: httpx.AsyncClient,
) -> dict[str, FastAPI]:
    portals = {
        name: build_portal(
            portal_config(name, clients, port_base),
            create_engine_for(sessions_url(database_url, data_dir, name)),
            http,
        )
        for name in PORTALS
    }
    reporting_url = portals["reporting"].config.public_url
    apps = {
        "admin": create_admin_app(portals["admin"], banking, reporting_url=reporting_url),
        "reporting": create_reporting_app(portals["reporting"], banking),
        "customer": create_customer_app(portals["customer"], banking),
    }
    for name, app in apps.items():
        # Each app closes its own session store when it stops: an engine left open keeps
        # its connection's worker thread, and with it the process, alive after Ctrl-C.
        app.state.owned_resources = [portals[name].sessions.engine]
    return apps
