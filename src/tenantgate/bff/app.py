"""Building a portal's ASGI app: the shared pieces plus the portal's own routes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ..guard.jwks import RemoteKeySet
from ..guard.verify import TokenVerifier
from ..web_limits import BodyLimit
from .config import PortalConfig
from .identity_client import IdentityClient
from .portal import Portal
from .session_schema import metadata as session_metadata
from .sessions import SessionStore
from .web import (
    PortalSecurityHeaders,
    auth_router,
    health_router,
    install_portal_error_handlers,
    mount_static,
    portal_templates,
)


def build_portal(
    config: PortalConfig,
    sessions_engine: AsyncEngine,
    http: httpx.AsyncClient,
    clock: Callable[[], float] = time.time,
) -> Portal:
    keys = RemoteKeySet(f"{config.issuer}/jwks.json", http, max_age=300, cooldown=10)
    verifier = TokenVerifier(issuer=config.issuer, audience=config.audience, keys=keys, clock=clock)
    return Portal(
        config,
        IdentityClient(config, http),
        verifier,
        SessionStore(sessions_engine, config.name, config.session_key),
        clock,
    )


def create_portal_app(
    portal: Portal,
    portal_dir: Path,
    routers: Sequence[APIRouter],
    *,
    home: str = "/",
    form_targets: Sequence[str] = (),
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with portal.sessions.engine.begin() as conn:
            await conn.run_sync(session_metadata.create_all)
        yield
        # What the composition root handed over (engines, HTTP clients) closes with the app.
        for resource in getattr(app.state, "owned_resources", []):
            if isinstance(resource, httpx.AsyncClient):
                await resource.aclose()
            else:
                await resource.dispose()

    app = FastAPI(title=portal.config.title, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.portal = portal
    app.state.templates = portal_templates(portal_dir)
    install_portal_error_handlers(app)
    app.include_router(health_router())
    app.include_router(auth_router(home))
    for router in routers:
        app.include_router(router)
    mount_static(app, portal_dir)
    app.add_middleware(PortalSecurityHeaders, form_targets=form_targets)
    app.add_middleware(BodyLimit)
    return app
