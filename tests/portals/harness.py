"""A portal in-process, wired to an in-process identity server, with a browser-like
client (cookies, redirects followed by hand) — everything over real HTTP semantics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import create_banking_engine
from tenantgate.bff.app import build_portal
from tenantgate.bff.portal import Portal
from tenantgate.demo.banking_seed import seed_banking
from tenantgate.demo.portal_configs import portal_config
from tenantgate.identity.storage.engine import create_engine_for

from ..identity.harness import ISSUER, PORT_BASE, World

AppFactory = Callable[[Portal, AsyncEngine], FastAPI]


@dataclass
class PortalWorld:
    identity: World
    portal: Portal
    app: FastAPI
    browser: httpx.AsyncClient  # the user's browser at this portal's origin
    banking: AsyncEngine

    @property
    def url(self) -> str:
        return self.portal.config.public_url

    async def login(self, username: str, password: str | None = None) -> httpx.Response:
        """Sign in through the hosted page; returns the portal's callback answer."""
        start = await self.browser.get("/auth/login")
        assert start.status_code == 302, start.text
        authorize = start.headers["location"]
        assert authorize.startswith(ISSUER)
        page = await self.identity.http.get(authorize.removeprefix(ISSUER))
        assert page.status_code == 200, page.text
        secret = password if password is not None else self.identity.user(username).password
        answer = await self.identity.submit_login(page, username, secret)
        assert answer.status_code == 302, answer.text
        callback = urlsplit(answer.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}" == self.url
        return await self.browser.get(f"{callback.path}?{callback.query}")

    def csrf(self, html: str) -> str:
        marker = 'name="csrf-token" content="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]

    async def post_json(
        self, path: str, body: dict[str, Any], csrf: str, **headers: str
    ) -> httpx.Response:
        return await self.browser.post(
            path, json=body, headers={"X-CSRF-Token": csrf, "Origin": self.url, **headers}
        )


async def seeded_banking(world: World, url: str, customers: int = 25) -> AsyncEngine:
    await seed_banking(
        url,
        [(tenant_id, name) for name, tenant_id in world.seed.tenants.items()],
        world.seed.customer_subjects,
        customers_per_bank=customers,
    )
    return create_banking_engine(url)


@asynccontextmanager
async def running_portal(
    world: World,
    name: str,
    factory: AppFactory,
    *,
    banking_url: str,
    sessions_url: str,
) -> AsyncIterator[PortalWorld]:
    """``factory(portal, banking_engine)`` builds the portal's app."""
    backchannel = httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app))
    config = portal_config(name, world.seed.clients, PORT_BASE)
    portal = build_portal(config, create_engine_for(sessions_url), backchannel, world.clock.now)
    banking = await seeded_banking(world, banking_url)
    app = factory(portal, banking)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=config.public_url) as browser,
        ):
            yield PortalWorld(world, portal, app, browser, banking)
    finally:
        await banking.dispose()
        await portal.sessions.engine.dispose()
        await backchannel.aclose()
