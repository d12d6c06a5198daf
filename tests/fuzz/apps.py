"""The apps under fuzzing, built in-process on a seeded SQLite database (like the harnesses
in tests/identity and tests/portals), plus synchronous sign-in helpers that drive them through
schemathesis's ASGI client so every request runs on the one event loop the apps live on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import schemathesis
from fastapi import FastAPI
from schemathesis.schemas import BaseSchema
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantgate.banking import create_banking_engine
from tenantgate.bff.app import build_portal
from tenantgate.demo.banking_seed import seed_banking
from tenantgate.demo.portal_configs import portal_config
from tenantgate.demo.seed import DemoIdentity
from tenantgate.identity.domain.clock import ManualClock
from tenantgate.identity.storage.engine import create_engine_for
from tenantgate.identity.storage.sql_store import SqlIdentityStore
from tenantgate.identity.web.app import create_identity_app
from tenantgate.portals.admin.app import create_admin_app
from tenantgate.portals.customer.app import create_customer_app
from tenantgate.portals.reporting.app import create_reporting_app

from ..identity.harness import ISSUER, PORT_BASE, build_deps, pkce_pair, prepare_database
from .support import client, cookie_of, hidden_fields


@dataclass
class Identity:
    app: FastAPI
    schema: BaseSchema
    seed: DemoIdentity
    clock: ManualClock
    engine: AsyncEngine

    def basic(self, client_id: str) -> tuple[str, str]:
        c = self.seed.clients[client_id]
        return c["client_id"], c["client_secret"]

    def password(self, username: str) -> str:
        return next(u.password for u in self.seed.users if u.username == username)

    def first(self, kind: str) -> str:
        return next(u.username for u in self.seed.users if u.kind.value == kind)

    def code_for(self, authorize_url: str, username: str) -> str:
        """Sign ``username`` in on the hosted page behind ``authorize_url``; the redirect."""
        browser = client(self.app)
        parts = urlsplit(authorize_url)
        page = browser.get(f"{parts.path}?{parts.query}")
        assert page.status_code == 200, page.text
        fields = hidden_fields(page.text)
        fields.update({"username": username, "password": self.password(username)})
        answer = browser.post(
            "/authorize",
            data=urlencode(fields),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie_of(page),
            },
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    def login(self, client_id: str, username: str) -> dict[str, Any]:
        registered = self.seed.clients[client_id]
        verifier, challenge = pkce_pair()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": registered["redirect_uri"],
                "state": "fuzz-state",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        location = self.code_for(f"/authorize?{query}", username)
        code = parse_qs(urlsplit(location).query)["code"][0]
        answer = client(self.app).post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": registered["redirect_uri"],
            },
            auth=self.basic(client_id),
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def build_identity(directory: Path) -> Identity:
    url = f"sqlite+aiosqlite:///{directory / 'identity.db'}"
    seed = asyncio.run(prepare_database(url))
    clock = ManualClock(start=float(int(time.time())))
    # The engine connects lazily: on schemathesis's event loop, where every request runs.
    deps = build_deps(url, clock)
    assert isinstance(deps.store, SqlIdentityStore)
    app = create_identity_app(deps, cookie_secure=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return Identity(app, schema, seed, clock, deps.store.engine)


@dataclass
class Portals:
    by_name: dict[str, Portal]
    engines: list[AsyncEngine]

    def dispose(self) -> None:
        """The portals' lifespans leave their engines open; aiosqlite connections close from
        any event loop (each call makes its future on the caller's loop)."""

        async def dispose_all() -> None:
            for engine in self.engines:
                await engine.dispose()
            await self.backchannel.aclose()

        asyncio.run(dispose_all())

    backchannel: httpx.AsyncClient


@dataclass
class Portal:
    name: str
    app: FastAPI
    schema: BaseSchema
    public_url: str
    identity: Identity

    def sign_in(self, username: str) -> tuple[dict[str, str], str]:
        """The portal's session cookie for ``username`` and a page's CSRF token."""
        browser = client(self.app)
        start = browser.get("/auth/login", allow_redirects=False)
        assert start.status_code == 302, start.text
        location = self.identity.code_for(start.headers["location"], username)
        callback = urlsplit(location)
        answer = browser.get(f"{callback.path}?{callback.query}", allow_redirects=False)
        assert answer.status_code in (200, 302, 303), answer.text
        cookies = {c.name: str(c.value) for c in browser.cookies}
        home = browser.get("/", allow_redirects=True)
        marker = 'name="csrf-token" content="'
        csrf = ""
        if marker in home.text:
            start_at = home.text.index(marker) + len(marker)
            csrf = home.text[start_at : home.text.index('"', start_at)]
        return cookies, csrf


PORTAL_FACTORIES = {
    "admin": lambda portal, banking: create_admin_app(
        portal, banking, reporting_url=f"http://127.0.0.1:{PORT_BASE + 2}"
    ),
    "reporting": create_reporting_app,
    "customer": create_customer_app,
}


def build_portals(identity: Identity, directory: Path) -> Portals:
    banking_url = f"sqlite+aiosqlite:///{directory / 'banking.db'}"
    asyncio.run(
        seed_banking(
            banking_url,
            [(tenant_id, name) for name, tenant_id in identity.seed.tenants.items()],
            identity.seed.customer_subjects,
            customers_per_bank=10,
        )
    )
    banking = create_banking_engine(banking_url)
    # The portals reach the identity server in-process, as in tests/portals/harness.py.
    backchannel = httpx.AsyncClient(transport=httpx.ASGITransport(app=identity.app))
    portals: dict[str, Portal] = {}
    engines = [banking, identity.engine]
    for name, factory in PORTAL_FACTORIES.items():
        config = portal_config(name, identity.seed.clients, PORT_BASE)
        sessions = create_engine_for(f"sqlite+aiosqlite:///{directory / f'{name}-sessions.db'}")
        engines.append(sessions)
        portal = build_portal(config, sessions, backchannel, identity.clock.now)
        app = factory(portal, banking)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        portals[name] = Portal(name, app, schema, config.public_url, identity)
    return Portals(portals, engines, backchannel)


assert ISSUER  # the portals' issuer is the in-process identity server's
