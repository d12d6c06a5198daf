"""An identity server in-process, seeded like the demo, driven over real HTTP semantics."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio.to_thread
import httpx
from fastapi import FastAPI

from tenantgate.demo.seed import DemoIdentity, DemoUser, seed_identity
from tenantgate.identity.domain.clock import ManualClock
from tenantgate.identity.domain.passwords import Argon2Parameters, Passwords
from tenantgate.identity.services.config import IdentityConfig
from tenantgate.identity.services.context import Deps
from tenantgate.identity.services.keyring import KeyRing
from tenantgate.identity.storage.administration import SqlAdministration
from tenantgate.identity.storage.engine import create_engine_for, upgrade_database
from tenantgate.identity.storage.sql_store import SqlIdentityStore
from tenantgate.identity.web.app import create_identity_app

ISSUER = "http://127.0.0.1:8700"
PORT_BASE = 8700
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SSO_TOKEN_TYPE = "urn:tenantgate:token-type:sso"
# Cheap Argon2 for speed; the timing tests build their own OWASP-strength hasher.
FAST_ARGON2 = Argon2Parameters(memory_cost_kib=1024, time_cost=1, parallelism=1)
KEK = secrets.token_bytes(32)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_config(**overrides: Any) -> IdentityConfig:
    values: dict[str, Any] = {"issuer": ISSUER, "key_encryption_key": KEK, "key_cache_seconds": 0}
    values.update(overrides)
    return IdentityConfig(**values)


@dataclass
class World:
    url: str
    deps: Deps
    app: FastAPI
    http: httpx.AsyncClient
    clock: ManualClock
    seed: DemoIdentity

    # -- facts of the seeded world ------------------------------------------------
    def user(self, username: str) -> DemoUser:
        return next(u for u in self.seed.users if u.username == username)

    def employee_of(self, index: int = 0) -> DemoUser:
        return [u for u in self.seed.users if u.kind.value == "employee"][index]

    def customer_of(self, index: int = 0) -> DemoUser:
        return [u for u in self.seed.users if u.kind.value == "customer"][index]

    def client(self, client_id: str) -> dict[str, str]:
        return self.seed.clients[client_id]

    def basic(self, client_id: str) -> tuple[str, str]:
        c = self.client(client_id)
        return c["client_id"], c["client_secret"]

    # -- protocol steps --------------------------------------------------------
    async def login_page(self, client_id: str, /, **overrides: str) -> tuple[httpx.Response, str]:
        return await self.login_page_in(self.http, client_id, **overrides)

    async def login_page_in(
        self, via: httpx.AsyncClient, client_id: str, /, **overrides: str
    ) -> tuple[httpx.Response, str]:
        """The login page as another browser (see ``browser``) sees it."""
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": self.client(client_id)["redirect_uri"],
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        response = await via.get("/authorize", params=params)
        return response, verifier

    async def submit_login(
        self,
        page: httpx.Response,
        username: str,
        password: str,
        *,
        via: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        )
        fields = {k: _unescape(v) for k, v in fields.items()}
        fields.update({"username": username, "password": password})
        return await (via or self.http).post(
            "/authorize",
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def browser(self) -> httpx.AsyncClient:
        """Another browser (own cookie jar) on the same server; the caller closes it."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=ISSUER)

    async def submit_totp(
        self, page: httpx.Response, code: str, *, via: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """The second step: the TOTP page's hidden fields (step=totp included) and a code."""
        assert 'data-testid="login-totp"' in page.text, page.text
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        )
        fields = {k: _unescape(v) for k, v in fields.items()}
        fields["code"] = code
        return await (via or self.http).post(
            "/authorize",
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def totp_code(self, username: str = "admin-totp", *, offset_steps: int = 0) -> str:
        import pyotp

        secret = self.user(username).totp_secret
        assert secret is not None
        return pyotp.TOTP(secret).at(self.clock.now() + 30 * offset_steps)

    async def authorization_code(
        self, client_id: str, username: str, password: str | None = None
    ) -> tuple[str, str]:
        page, verifier = await self.login_page(client_id)
        assert page.status_code == 200, page.text
        password = password if password is not None else self.user(username).password
        answer = await self.submit_login(page, username, password)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        return query["code"][0], verifier

    async def token(self, client_id: str | None, **form: str) -> httpx.Response:
        if client_id is None:
            return await self.http.post("/token", data=form)
        return await self.http.post("/token", data=form, auth=self.basic(client_id))

    async def login(self, client_id: str, username: str) -> dict[str, Any]:
        code, verifier = await self.authorization_code(client_id, username)
        response = await self.token(
            client_id,
            grant_type="authorization_code",
            code=code,
            code_verifier=verifier,
            redirect_uri=self.client(client_id)["redirect_uri"],
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def tenants(self, access_token: str) -> httpx.Response:
        return await self.http.get("/tenants", headers={"Authorization": f"Bearer {access_token}"})

    async def tenant_ref(self, access_token: str, name: str) -> str:
        listing = (await self.tenants(access_token)).json()["tenants"]
        return str(next(t["ref"] for t in listing if t["name"] == name))

    async def select_tenant(
        self, access_token: str, ref: str, client_id: str = "admin-portal"
    ) -> httpx.Response:
        return await self.token(
            client_id,
            grant_type=TOKEN_EXCHANGE,
            subject_token=access_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            tenant=ref,
        )

    async def admin_in(self, tenant_name: str, username: str = "admin") -> dict[str, Any]:
        """Log an admin in and select an FI; the scoped token response."""
        unscoped = await self.login("admin-portal", username)
        ref = await self.tenant_ref(unscoped["access_token"], tenant_name)
        response = await self.select_tenant(unscoped["access_token"], ref)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        body["unscoped"] = unscoped
        return body

    async def refresh(self, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
        return await self.token(
            client_id, grant_type="refresh_token", refresh_token=refresh_token, **extra
        )

    async def mint_sso(self, access_token: str, client_id: str = "admin-portal") -> httpx.Response:
        return await self.token(
            client_id,
            grant_type=TOKEN_EXCHANGE,
            subject_token=access_token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            requested_token_type=SSO_TOKEN_TYPE,
            audience="reporting-portal",
        )

    async def redeem_sso(
        self, sso_token: str, client_id: str | None = "reporting-portal"
    ) -> httpx.Response:
        return await self.token(
            client_id,
            grant_type=TOKEN_EXCHANGE,
            subject_token=sso_token,
            subject_token_type=SSO_TOKEN_TYPE,
        )

    async def introspect(self, client_id: str, token: str) -> dict[str, Any]:
        response = await self.http.post(
            "/introspect", data={"token": token}, auth=self.basic(client_id)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def revoke(self, client_id: str, token: str) -> httpx.Response:
        return await self.http.post("/revoke", data={"token": token}, auth=self.basic(client_id))

    async def audit_events(self, event: str | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from tenantgate.identity.storage.schema import audit_events

        store = self.deps.store
        assert isinstance(store, SqlIdentityStore)
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(audit_events).order_by(audit_events.c.id))).all()
        found = [dict(r._mapping) for r in rows]
        return [r for r in found if event is None or r["event"] == event]

    async def administration(self) -> SqlAdministration:
        store = self.deps.store
        assert isinstance(store, SqlIdentityStore)
        return SqlAdministration(store.engine, self.clock.now())


def _unescape(value: str) -> str:
    return (
        value.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&quot;", '"')
    )


async def prepare_database(url: str, *, banks: int = 3) -> DemoIdentity:
    await anyio.to_thread.run_sync(upgrade_database, url)
    engine = create_engine_for(url)
    try:
        admin = SqlAdministration(engine, time.time())
        return await seed_identity(
            admin,
            Passwords(FAST_ARGON2),
            banks=banks,
            port_base=PORT_BASE,
            demo_password=None,
            key_encryption_key=KEK,
        )
    finally:
        await engine.dispose()


def build_deps(url: str, clock: ManualClock, **config: Any) -> Deps:
    store = SqlIdentityStore(create_engine_for(url, pool_size=12))
    cfg = test_config(**config)
    return Deps(store, cfg, clock, KeyRing(store, cfg, clock), Passwords(FAST_ARGON2))


@asynccontextmanager
async def running_world(
    url: str, seed: DemoIdentity, clock: ManualClock, **config: Any
) -> AsyncIterator[World]:
    deps = build_deps(url, clock, **config)
    app = create_identity_app(deps, cookie_secure=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            await deps.keyring.refresh()
            yield World(ISSUER, deps, app, http, clock, seed)
    finally:
        assert isinstance(deps.store, SqlIdentityStore)
        await deps.store.engine.dispose()
