"""Portal-side helpers for the matrix tests: the session behind the browser's cookie, the
routes an app serves (so a new route cannot escape a table), and FI-B facts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi import routing as fastapi_routing

from tenantgate.banking import create_banking_engine
from tenantgate.bff.app import build_portal
from tenantgate.bff.sessions import PortalSession, digest
from tenantgate.demo.portal_configs import portal_config
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.portals.admin.app import create_admin_app
from tenantgate.portals.customer.app import create_customer_app
from tenantgate.portals.reporting.app import create_reporting_app

from ..identity.harness import PORT_BASE
from ..portals.harness import PortalWorld

REPORTING_URL = "http://127.0.0.1:8702"
# Routes that hold no session and no FI data at all (framework and platform plumbing).
PLUMBING = frozenset({("GET", "/openapi.json"), ("GET", "/healthz"), ("GET", "/readyz")})


async def session_of(pw: PortalWorld) -> PortalSession:
    cookie = pw.browser.cookies.get(pw.portal.config.session_cookie)
    assert cookie, "the browser holds no session cookie"
    session = await pw.portal.sessions.load(digest(cookie))
    assert session is not None
    return session


def _flat(routes: Iterable[Any]) -> Iterable[tuple[str, frozenset[str] | None]]:
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    items: Iterable[Any] = contexts(list(routes)) if contexts is not None else routes
    for route in items:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
            continue
        methods = getattr(route, "methods", None)
        yield str(route.path), frozenset(methods) if methods else None


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) for every endpoint; static mounts and HEAD twins left out."""
    found = set()
    for path, methods in _flat(app.routes):
        if methods is None or path.startswith("/static"):
            continue
        for method in methods - {"HEAD"}:
            found.add((method, path))
    return found


def built_apps() -> dict[str, FastAPI]:
    """The three apps as production builds them (nothing is served or connected)."""
    clients = {
        c: {"client_secret": "unused"}
        for c in ("admin-portal", "reporting-portal", "customer-portal")
    }
    apps: dict[str, FastAPI] = {}
    for name in ("admin", "reporting", "customer"):
        portal = build_portal(
            portal_config(name, clients, PORT_BASE),
            create_engine_for("sqlite+aiosqlite:///:memory:"),
            httpx.AsyncClient(),
        )
        banking = create_banking_engine("sqlite+aiosqlite:///:memory:")
        if name == "admin":
            apps[name] = create_admin_app(portal, banking, reporting_url=REPORTING_URL)
        elif name == "reporting":
            apps[name] = create_reporting_app(portal, banking)
        else:
            apps[name] = create_customer_app(portal, banking)
    return apps
